"""Connection guards uvicorn lacks: a deadline for a request's headers.

uvicorn closes idle keep-alive connections, but a client that opens a connection and sends
its headers a byte at a time (or never finishes them) holds the connection, and one of the
worker's ``limit_concurrency`` slots, for as long as it likes. This protocol gives every
request's head ``MOVIES_HEADER_TIMEOUT_S`` seconds from its first byte (or from the
connection's opening) and then closes the connection. Body reads are bounded in the
endpoint (``body_timeout_s``).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from server.settings import Settings


def _header_timeout() -> float:
    return float(os.environ.get("MOVIES_HEADER_TIMEOUT_S", "10"))


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s = _header_timeout()
        self._header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expired(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The connection guards as ``uvicorn.run`` / ``uvicorn.Config`` options. The header
    deadline reaches the protocol through MOVIES_HEADER_TIMEOUT_S (worker processes get the
    settings as MOVIES_* variables)."""
    return {
        "http": "server.transport:GuardedHttpToolsProtocol",
        "timeout_keep_alive": settings.keep_alive_s,
        # uvicorn answers 503 to connections beyond this many per worker.
        "limit_concurrency": settings.max_connections,
        # No "server: uvicorn" on every answer: it tells a prober what to try.
        "server_header": False,
        # The API has no WebSocket endpoint (no subscriptions): an Upgrade header is ignored
        # and a worker does not import a WebSocket library at start.
        "ws": "none",
    }
