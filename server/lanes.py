"""Execution lanes: a worker runs at most a few expensive operations at once.

Execution threads share one interpreter lock with the event loop. With every thread busy
on a maximum-cost query, a cheap query (or ``/healthz``) waits for its turn behind all of
them; so an operation whose cost, as priced by the validation rules (``limits.last_cost``),
reaches ``heavy_cost`` first takes one of ``heavy_slots`` places. Threads waiting for a
place hold no lock, and cheap operations never wait for one. The wait is bounded by the
request's deadline: past it the operation runs and stops at its first deadline check.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from data import deadline
from server.limits import last_cost


def heavy_lane(heavy_cost: int, slots: int) -> type[SchemaExtension]:
    places = threading.BoundedSemaphore(max(slots, 1))

    class HeavyLane(SchemaExtension):
        def on_execute(self) -> Iterator[None]:
            cost = last_cost.get()
            if cost is None or cost < heavy_cost:
                yield
                return
            placed = places.acquire(timeout=deadline.remaining())
            try:
                yield
            finally:
                if placed:
                    places.release()

    return HeavyLane
