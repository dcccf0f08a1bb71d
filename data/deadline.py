"""A per-request execution deadline, checked cooperatively where work can grow.

Resolvers run synchronously, so a timeout cannot pre-empt them; instead the places whose work
grows with a query (pagination, nested lists, each recommendation, search or browse in the data
layer) call ``check()``, which raises once the request's time is up. The server sets the
deadline for each operation, and answers TIMEOUT at a hard stop shortly after it anyway.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

from data.errors import Code, DataError

_deadline: ContextVar[float | None] = ContextVar("deadline", default=None)


class Timeout(DataError):
    code = Code.TIMEOUT


def start(seconds: float | None) -> None:
    _deadline.set(None if seconds is None else time.monotonic() + seconds)


def check() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise Timeout("the query took longer than the server allows; ask for fewer nodes")


def remaining() -> float | None:
    """Seconds left before the deadline (never negative), or None without one."""
    deadline = _deadline.get()
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)
