"""Measuring tools for the benchmarks: repeated timings, peak RSS of process trees, servers
started on loopback, and wrk load runs. Nothing here knows what is being measured."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil

BIN = Path(sys.executable).parent


def machine() -> dict[str, Any]:
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "system": platform.platform(terse=True),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


@dataclass(frozen=True)
class Timing:
    p50_ms: float
    p99_ms: float
    n: int

    def as_dict(self) -> dict[str, float]:
        return {"p50_ms": round(self.p50_ms, 4), "p99_ms": round(self.p99_ms, 4), "n": self.n}


def time_calls(call: Callable[[], object], repeats: int, warmup: int = 3) -> Timing:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    samples.sort()
    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
    return Timing(statistics.median(samples) * 1000, p99 * 1000, len(samples))


def tree_rss(process: psutil.Process) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    total = 0
    for proc in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


class PeakRss:
    """Samples a process tree's RSS in a thread; ``peak`` is the largest seen."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, tree_rss(self.process))
            except psutil.Error:
                return
            self._stop.wait(self.interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


@dataclass(frozen=True)
class RunResult:
    seconds: float
    peak_rss: int
    stdout: str


def run_measured(args: Sequence[str], env: dict[str, str] | None = None,
                 timeout: float = 3600, cwd: Path | None = None) -> RunResult:
    """Run a command to completion; wall time and peak RSS of its whole process tree."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, cwd=cwd)
    sampler = PeakRss(proc.pid)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        peak = sampler.stop()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {stderr[-2000:]}")
    return RunResult(elapsed, peak, stdout)


def python_snippet(code: str, python: Path | str = sys.executable) -> list[str]:
    return [str(python), "-c", textwrap.dedent(code)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    startup_s: float

    @property
    def rss(self) -> int:
        return tree_rss(psutil.Process(self.process.pid))


@contextmanager
def serve(args: Sequence[str], port: int, ready_path: str, env: dict[str, str] | None = None,
          timeout: float = 600, cwd: Path | None = None) -> Iterator[Server]:
    """Start a server command, wait until ``ready_path`` answers 200, stop it afterwards."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=log, stderr=log, env={**os.environ, **(env or {})},
                            start_new_session=True, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = start + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited early: {log.read()[-2000:].decode()}")
            try:
                if httpx.get(url + ready_path, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{args} not ready after {timeout} s")
            time.sleep(0.05)
        yield Server(proc, url, time.perf_counter() - start)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
        log.close()


# --- wrk ---------------------------------------------------------------------------------

_WRK_SCRIPT = """
local requests = {}
local method = "%(method)s"
for line in io.lines("%(requests)s") do
  if method == "POST" then
    requests[#requests + 1] = wrk.format("POST", "%(path)s",
      {["Content-Type"] = "application/json"}, line)
  else
    requests[#requests + 1] = wrk.format("GET", line)
  end
end
local i = 0
request = function()
  i = i + 1
  return requests[(i %% #requests) + 1]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "seconds": %%f, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, '
    .. '"max_us": %%d, "connect": %%d, "read": %%d, "write": %%d, "status": %%d, '
    .. '"timeout": %%d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk(url: str, requests: Sequence[str], method: str, path: str, connections: int,
        seconds: float, threads: int = 1) -> dict[str, Any]:
    """One load level; a failed run is reported in the result rather than ending the suite."""
    try:
        return _wrk(url, requests, method, path, connections, seconds, threads)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return {"connections": connections, "rps": 0.0, "p50_ms": 0.0, "p90_ms": 0.0,
                "p99_ms": 0.0, "max_ms": 0.0, "requests": 0, "errors": -1, "non_2xx": 0,
                "failure": str(exc)[-1500:]}


def _wrk(url: str, requests: Sequence[str], method: str, path: str, connections: int,
         seconds: float, threads: int) -> dict[str, Any]:
    """Closed-loop load with wrk: ``requests`` are JSON bodies (POST) or paths (GET)."""
    with tempfile.TemporaryDirectory() as tmp:
        lines = Path(tmp) / "requests.txt"
        lines.write_text("\n".join(requests) + "\n")
        script = Path(tmp) / "mix.lua"
        script.write_text(_WRK_SCRIPT % {"method": method, "requests": lines, "path": path})
        done = subprocess.run(
            ["wrk", "-t", str(min(threads, connections)), "-c", str(connections),
             "-d", f"{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script),
             url],
            capture_output=True, text=True, timeout=seconds + 60, check=False,
        )
        if done.returncode != 0 or "WRKJSON" not in done.stdout:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-1000:]}"
                               f"{done.stdout[-1000:]}")
        out = done.stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    result = orjson.loads(line.removeprefix("WRKJSON "))
    errors = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
    return {
        "connections": connections,
        "rps": round(result["requests"] / result["seconds"], 1),
        "p50_ms": result["p50_us"] / 1000,
        "p90_ms": result["p90_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "max_ms": result["max_us"] / 1000,
        "requests": result["requests"],
        "errors": errors,
        # Of those, answers with a non-2xx status (the rest are socket errors and timeouts).
        "non_2xx": result["status"],
    }
