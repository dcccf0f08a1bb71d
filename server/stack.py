"""Room on the interpreter's frame stack for GraphQL execution threads.

CPython keeps Python frames in chunks of 16 KiB per thread; a chunk is allocated when a call
does not fit and released as soon as the call that opened it returns. GraphQL execution
recurses some 80-150 frames deep and returns to shallow levels thousands of times per
query, so when a chunk boundary falls inside that range every crossing maps and unmaps a
chunk (CPython issue gh-142183, fixed in 3.13 and 3.14 by keeping one spare chunk; 3.11
and 3.12 are not fixed). Measured on the nested benchmark query: 10-45 ms depending only on
how deep the caller's stack was, 8 ms at every depth once execution ran in a roomy chunk.

``roomy`` runs a function below a frame large enough that CPython opens a fresh chunk of
``CHUNK_BYTES`` for it (a chunk is twice the size a frame needs, rounded up to a power of
two), and everything the function calls runs in the rest of that chunk. Opening such a
chunk costs about 20 us, so it is done once per thread: the execution pool's threads run
their whole loop inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# Slots (8 bytes each) of the anchor frame. CPython 3.11 gives a frame of n slots a chunk
# of at least (n + 1000) * 8 bytes, doubling from 16 KiB: 7,200 slots (58 KB) open a
# 128 KiB chunk and leave ~70 KB after the frame. Measured by minor page faults over 20
# runs with the caller up to 200 frames deeper still: 0 for the nested benchmark query and
# a query at the depth limit (thousands without the anchor, or with a 64 KiB chunk).
SLOTS = 7_200
CHUNK_BYTES = 128 * 1024


def _anchor_source(slots: int) -> str:
    # Locals are frame slots; they are never assigned when ``run`` is given, so they only
    # reserve room. Generated because 7,200 names written out would be unreadable.
    names = " = ".join(f"_{i}" for i in range(slots))
    return ("def anchor(run, args):\n"
            "    if run is None:\n"
            f"        {names} = None\n"
            "    return run(*args)\n")


def _compile_anchor(slots: int) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec(compile(_anchor_source(slots), "<server.stack anchor>", "exec"), namespace)
    anchor: Callable[..., Any] = namespace["anchor"]
    return anchor


_anchor = _compile_anchor(SLOTS)


def roomy(run: Callable[..., T], *args: Any) -> T:
    """``run(*args)`` at the start of a fresh, roomy frame-stack chunk."""
    result: T = _anchor(run, args)
    return result
