"""uvicorn's HTTP protocols with a deadline for the request head.

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive``, but a connection
that sends part of a request head (one byte, then nothing) is held open for ever: enough of
them use up the process's file descriptors. Here a connection whose request head is not
complete ``header_timeout`` seconds after it opened, or after its last answer, is closed.
(A request that is being served is the app's business: its body has ``Limits.body_timeout``.)
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_ENV = "DIGITREADER_HEADER_TIMEOUT"
DEFAULT_HEADER_TIMEOUT = 10.0


def header_timeout() -> float:
    """The deadline in seconds, from ``DIGITREADER_HEADER_TIMEOUT`` (so that every worker process sees it)."""
    return float(os.environ.get(HEADER_TIMEOUT_ENV, DEFAULT_HEADER_TIMEOUT))


class _HeadDeadline:
    """Mixed in before a uvicorn HTTP protocol class."""

    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._timeout = header_timeout()
        self._idle_since = self.loop.time()
        self._deadline = self.loop.call_later(self._timeout, self._check)

    def on_response_complete(self) -> None:
        self._idle_since = self.loop.time()
        super().on_response_complete()  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        super().connection_lost(exc)  # type: ignore[misc]

    def _check(self) -> None:
        if self.transport.is_closing():
            return
        now = self.loop.time()
        cycle = getattr(self, "cycle", None)
        if cycle is not None and not cycle.response_complete:
            self._idle_since = now  # a request in work
        elif now - self._idle_since >= self._timeout:
            self.transport.close()  # no complete request head in time
            return
        self._deadline = self.loop.call_later(max(0.05, self._idle_since + self._timeout - now), self._check)


class H11HeadDeadline(_HeadDeadline, H11Protocol):
    """uvicorn's h11 protocol, with the request-head deadline."""


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HttpToolsHeadDeadline(_HeadDeadline, HttpToolsProtocol):
        """uvicorn's httptools protocol, with the request-head deadline."""

    AUTO = "HttpToolsHeadDeadline"
except ImportError:  # pragma: no cover - httptools is optional
    AUTO = "H11HeadDeadline"


def protocol(http: str) -> str:
    """The import string of the protocol class for ``--http`` auto, h11 or httptools."""
    name = {"auto": AUTO, "h11": "H11HeadDeadline", "httptools": "HttpToolsHeadDeadline"}[http]
    return f"{__name__}:{name}"
