"""The threads that execute GraphQL operations off the event loop.

A bounded pool with bounded admission, like ``concurrent.futures.ThreadPoolExecutor`` behind
``run_in_executor``, with one difference that is the reason it exists: each thread runs its
loop inside ``server.stack.roomy``, so every execution has the room on the frame stack that
keeps CPython 3.11 from mapping and unmapping a stack chunk thousands of times per query
(see ``server.stack``). The standard executor gives no hook around its threads' loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any

from server.stack import roomy

_Job = tuple[contextvars.Context, Callable[[], None], asyncio.Future[None],
             asyncio.AbstractEventLoop]


class Saturated(Exception):
    pass


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # cancelled at shutdown
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class ExecutionPool:
    """Threads that execute operations off the event loop, with bounded admission.

    At most ``threads + queue`` jobs are admitted (running or waiting); a job whose client
    was already answered at the hard stop keeps its place until its thread finishes, so a
    flood of slow queries is refused rather than piling up threads' work.
    """

    def __init__(self, threads: int, queue_size: int) -> None:
        self.threads = max(threads, 1)
        self.capacity = self.threads + max(queue_size, 0)
        self.admitted = 0
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._closed = False

    def _start(self) -> None:
        for i in range(len(self._workers), self.threads):
            worker = threading.Thread(target=roomy, args=(self._work,), name=f"graphql_{i}",
                                      daemon=True)
            worker.start()
            self._workers.append(worker)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            context, run, future, loop = job
            error: BaseException | None = None
            try:
                context.run(run)
            except BaseException as raised:  # delivered to the request that awaits it
                error = raised
            # A closed loop (RuntimeError) has nobody awaiting this job any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, error)

    def _finished(self, future: asyncio.Future[Any]) -> None:
        self.admitted -= 1
        if not future.cancelled():
            future.exception()  # retrieved: a job abandoned at the hard stop may have failed

    async def run(self, job: Callable[[], None], timeout_s: float) -> bool:
        """Run ``job`` in a thread with the caller's context; False if it is still running
        after ``timeout_s`` (it finishes in the background). Raises Saturated when full."""
        if self._closed:
            raise RuntimeError("the execution pool is shut down")
        if self.admitted >= self.capacity:
            raise Saturated
        if len(self._workers) < self.threads:
            self._start()
        self.admitted += 1
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        future.add_done_callback(self._finished)
        # Context variables (the request id for logs, the deadline) follow the job.
        self._jobs.put((contextvars.copy_context(), job, future, loop))
        try:
            await asyncio.wait_for(asyncio.shield(future), max(timeout_s, 0.0))
        except TimeoutError:
            return False
        return True

    def shutdown(self) -> None:
        """Cancel the jobs still waiting and let the threads finish the ones they run."""
        self._closed = True
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job[2].cancel()
        for _ in self._workers:
            self._jobs.put(None)
