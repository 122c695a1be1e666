"""Request limits: the body-size guard (an ASGI middleware) and the limits' defaults.

A body over the limit is refused with 413 before it is read: at once when its
``Content-Length`` says so, and as soon as the streamed bytes pass the limit when
it does not (chunked uploads, or a header that lies low).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one request may hold."""

    max_body_bytes: int = 10 * MB  # the whole request body
    max_pixels: int = 40_000_000  # width x height of an uploaded image (decompression bombs)

    def __post_init__(self) -> None:
        if self.max_body_bytes < 1 or self.max_pixels < 1:
            raise ValueError(f"limits must be positive, got {self}")


def too_large_message(limit: int) -> str:
    return f"request body is larger than the limit of {limit:,} bytes ({limit / MB:g} MB)"


class BodyLimitMiddleware:
    """Refuse HTTP request bodies larger than ``max_body_bytes`` with 413, without reading them whole."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _send_413(send, self.max_body_bytes)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise HTTPException(413, too_large_message(self.max_body_bytes))
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except HTTPException as exc:  # raised while streaming, outside a handler that turns it into a response
            if exc.status_code != 413 or started:
                raise
            await _send_413(send, self.max_body_bytes)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps({"detail": too_large_message(limit)}).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
