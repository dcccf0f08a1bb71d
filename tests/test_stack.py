"""Execution threads with room on the frame stack (``server.stack``, ``server.pool``).

CPython 3.11 maps and unmaps a frame-stack chunk whenever a call crosses a chunk boundary
and returns (gh-142183). Each fresh mapping costs page faults, so a thread's minor page
faults over repeated executions count the crossings exactly: inside ``roomy`` there must be
none, whatever the depth of the caller, for the deep queries the limits admit.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import resource
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import schema
from data.catalog import Catalog
from server import stack
from server.pool import ExecutionPool, Saturated

NESTED = ('{ actor(name: "Tom Hanks") { movies(first: 50) { nodes { title cast(first: 10) '
          "{ nodes { character actor { name } } } } } } }")
# Twelve levels, the depth limit of the default settings.
DEEP = ('{ actor(name: "Tom Hanks") { movies(first: 3) { nodes { cast(first: 3) { nodes '
        "{ actor { movies(first: 3) { nodes { cast(first: 3) { nodes { actor { name } } } } "
        "} } } } } } } }")

thread_faults = pytest.mark.skipif(not hasattr(resource, "RUSAGE_THREAD"),
                                   reason="per-thread page-fault counts are Linux's")


def _at_depth(depth: int, run: Callable[[], Any]) -> Any:
    return run() if depth == 0 else _at_depth(depth - 1, run)


def _faults_per_depth(catalog: Catalog, query: str, roomy: bool,
                      depths: range) -> dict[int, int]:
    """Minor page faults of 10 executions of ``query`` (after 3 to warm up) in a new thread,
    for each extra caller depth (each thread's own count: RUSAGE_THREAD)."""
    built = schema.build_schema()
    found: dict[int, int] = {}

    def measure(depth: int) -> None:
        def run() -> None:
            for _ in range(3):
                assert built.execute_sync(query, context_value={"catalog": catalog}).errors is None
            before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
            for _ in range(10):
                built.execute_sync(query, context_value={"catalog": catalog})
            found[depth] = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before

        _at_depth(depth, run)

    for depth in depths:
        target: Callable[..., Any] = stack.roomy if roomy else (lambda f, d: f(d))
        worker = threading.Thread(target=target, args=(measure, depth))
        worker.start()
        worker.join()
    return found


@thread_faults
@pytest.mark.parametrize("query", [NESTED, DEEP], ids=["nested", "depth-limit"])
def test_no_chunk_is_mapped_during_execution_inside_roomy(catalog: Catalog, query: str) -> None:
    faults = _faults_per_depth(catalog, query, roomy=True, depths=range(0, 120, 6))
    # A mapped chunk costs a fault or more at every crossing, thousands per execution; the
    # heap may still fault now and then while it grows.
    assert max(faults.values()) < 100, faults


@thread_faults
def test_without_room_some_depth_maps_chunks_again_and_again(catalog: Catalog) -> None:
    """The effect the module exists for, on this interpreter: at some caller depth, every
    execution of the nested query maps fresh chunks. Interpreters that keep a spare chunk
    (CPython 3.13.13+, 3.14.4+) show none, and the test says so."""
    faults = _faults_per_depth(catalog, NESTED, roomy=False, depths=range(0, 120, 3))
    if max(faults.values()) < 100 and sys.version_info >= (3, 13):
        pytest.skip("this interpreter keeps a spare stack chunk (gh-142183 fixed)")
    assert max(faults.values()) >= 1000, faults


def test_roomy_passes_arguments_and_results_through() -> None:
    assert stack.roomy(divmod, 17, 5) == (3, 2)
    with pytest.raises(ZeroDivisionError):
        stack.roomy(divmod, 1, 0)


def test_the_anchor_frame_is_as_large_as_documented() -> None:
    code = stack._anchor.__code__
    assert code.co_nlocals >= stack.SLOTS
    # (slots + 1000) * 8 bytes must exceed half the chunk for CPython to open a full one.
    assert (code.co_nlocals + code.co_stacksize + 1000) * 8 > stack.CHUNK_BYTES // 2


# --- the pool ------------------------------------------------------------------------------

REQUEST = contextvars.ContextVar("request", default="none")


def _in_anchor() -> bool:
    return any(f.filename == "<server.stack anchor>" for f in inspect.stack(0))


def test_jobs_run_inside_roomy_with_the_callers_context() -> None:
    pool = ExecutionPool(threads=2, queue_size=4)
    seen: list[tuple[str, bool, str]] = []

    def job() -> None:
        seen.append((REQUEST.get(), _in_anchor(), threading.current_thread().name))

    async def main() -> None:
        REQUEST.set("r-1")
        assert await pool.run(job, 5)
        REQUEST.set("r-2")
        assert await pool.run(job, 5)

    asyncio.run(main())
    pool.shutdown()
    assert [s[:2] for s in seen] == [("r-1", True), ("r-2", True)]
    assert all(s[2].startswith("graphql_") for s in seen)


def test_errors_reach_the_caller_and_the_place_is_freed() -> None:
    pool = ExecutionPool(threads=1, queue_size=0)

    def broken() -> None:
        raise ValueError("in the job")

    async def main() -> None:
        with pytest.raises(ValueError, match="in the job"):
            await pool.run(broken, 5)
        assert pool.admitted == 0
        assert await pool.run(lambda: None, 5)

    asyncio.run(main())
    pool.shutdown()


def test_admission_is_bounded_and_a_late_job_keeps_its_place_until_done() -> None:
    pool = ExecutionPool(threads=1, queue_size=1)
    release = threading.Event()

    async def main() -> None:
        slow = asyncio.ensure_future(pool.run(release.wait, 0.2))
        queued = asyncio.ensure_future(pool.run(lambda: None, 5))
        await asyncio.sleep(0.05)
        with pytest.raises(Saturated):
            await pool.run(lambda: None, 5)
        assert await slow is False  # answered at its timeout, still running
        assert pool.admitted == 2
        release.set()
        assert await queued is True
        for _ in range(100):
            if pool.admitted == 0:
                break
            await asyncio.sleep(0.01)
        assert pool.admitted == 0

    asyncio.run(main())
    pool.shutdown()


def test_shutdown_cancels_waiting_jobs_and_refuses_new_ones() -> None:
    pool = ExecutionPool(threads=1, queue_size=2)
    release = threading.Event()

    async def main() -> None:
        running = asyncio.ensure_future(pool.run(release.wait, 5))
        waiting = asyncio.ensure_future(pool.run(lambda: None, 5))
        await asyncio.sleep(0.05)
        pool.shutdown()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        release.set()
        assert await running is True
        with pytest.raises(RuntimeError, match="shut down"):
            await pool.run(lambda: None, 5)

    asyncio.run(main())
    time.sleep(0.05)
