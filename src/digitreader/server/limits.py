"""Request limits: the body guard (an ASGI middleware) and the limits' defaults.

A body over the limit is refused with 413 without being kept: at once when its
``Content-Length`` says so, and as soon as the streamed bytes pass the limit when
it does not (chunked uploads, or a header that lies low). Before the 413 goes out the
rest of the body is read and thrown away, up to ``DRAIN_BYTES`` (a lingering close,
as nginx does): a client that sends its whole body before it reads the answer
(Python's http.client and urllib) then sees the 413, not a reset connection.
A body that stops arriving for ``body_timeout`` seconds gets 408.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MB = 1024 * 1024
DRAIN_BYTES = 64 * MB  # at most this much of a refused body is read and discarded ...
DRAIN_SECONDS = 10.0  # ... for at most this long; then the connection is closed


@dataclass(frozen=True)
class Limits:
    """What one request may hold."""

    max_body_bytes: int = 10 * MB  # the whole request body
    max_pixels: int = 40_000_000  # width x height of an uploaded image (decompression bombs)
    max_waiting: int = 256  # image requests queued for a decoding slot; more get 503 with Retry-After
    decode_budget_bytes: int = 512 * MB  # what the decodes in progress may use together (see admission)
    body_timeout: float = 30.0  # seconds the body may pause between two chunks (408 after)

    def __post_init__(self) -> None:
        sizes = (self.max_body_bytes, self.max_pixels, self.decode_budget_bytes)
        if min(sizes) < 1 or self.max_waiting < 0 or not self.body_timeout > 0:
            raise ValueError(f"limits must be positive, got {self}")


def too_large_message(limit: int) -> str:
    return f"request body is larger than the limit of {limit:,} bytes ({limit / MB:g} MB)"


class BodyLimitMiddleware:
    """Refuse HTTP request bodies larger than ``max_body_bytes`` with 413, without keeping them,
    and bodies that stall for ``body_timeout`` seconds with 408."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, body_timeout: float = 30.0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await drain(receive)
            await send_error(send, 413, too_large_message(self.max_body_bytes))
            return

        received = 0
        body_done = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, body_done
            if body_done:  # afterwards the app only listens for a disconnect: no deadline
                return await receive()
            try:
                message = await _within(receive(), self.body_timeout)
            except TimeoutError:
                raise HTTPException(408, f"the request body stalled for more than {self.body_timeout:g} s") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > self.max_body_bytes:
                    if not body_done:
                        await drain(receive)
                    body_done = True
                    raise HTTPException(413, too_large_message(self.max_body_bytes))
            else:
                body_done = True
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except HTTPException as exc:  # raised while streaming, outside a handler that turns it into a response
            if exc.status_code not in (408, 413) or started:
                raise
            await send_error(send, exc.status_code, str(exc.detail))


async def _within(step: Awaitable[Message], seconds: float) -> Message:
    """``await step``, or TimeoutError after ``seconds`` (asyncio.timeout where there is one: no extra task)."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await step
    return await asyncio.wait_for(step, seconds)  # pragma: no cover - Python 3.10


async def drain(receive: Receive) -> None:
    """Read and discard the rest of a request body: at most ``DRAIN_BYTES``, for at most ``DRAIN_SECONDS``."""
    deadline = time.monotonic() + DRAIN_SECONDS
    discarded = 0
    while discarded <= DRAIN_BYTES:
        try:
            message = await _within(receive(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            return
        if message["type"] != "http.request":
            return
        discarded += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def send_error(send: Send, status: int, detail: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    """A JSON ``{"detail": ...}`` answer that closes the connection."""
    body = json.dumps({"detail": detail}).encode()
    head: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})
