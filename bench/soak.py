"""Soak: 32 concurrent clients for 60 s over a realistic mix against two workers, with the
server's RSS sampled through the run (growth must stay within 10%)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import psutil

from bench import measure
from bench.suite import Step, http_mixes, pick_parameters


def soak(build: Path, seconds: float, connections: int, step: Step) -> dict[str, Any]:
    if not measure.wrk_available():
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    params = pick_parameters(build)
    _small, mix, _base = http_mixes(params)
    port = measure.free_port()
    args = [str(measure.BIN / "movies"), "serve", "--data", str(build), "--port", str(port),
            "--workers", "2", "--profile", "production"]
    with measure.serve(args, port, "/readyz") as server:
        # Warm up first so the response cache and allocator reach steady state.
        measure.wrk(server.url, mix, "POST", "/graphql", connections, min(5.0, seconds / 6))
        samples: list[int] = []
        stop = threading.Event()
        proc = psutil.Process(server.process.pid)

        def sample() -> None:
            while not stop.is_set():
                samples.append(measure.tree_rss(proc))
                stop.wait(1.0)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        step(f"soak: {connections} connections for {seconds:g} s")
        started = time.perf_counter()
        result = measure.wrk(server.url, mix, "POST", "/graphql", connections, seconds)
        stop.set()
        sampler.join()
        healthy = measure.httpx.get(server.url + "/healthz", timeout=5).status_code == 200
    first, last = samples[0], samples[-1]
    return {
        **result,
        "seconds": round(time.perf_counter() - started, 1),
        "rss_start_mb": round(first / 2**20, 1),
        "rss_end_mb": round(last / 2**20, 1),
        "rss_max_mb": round(max(samples) / 2**20, 1),
        "rss_growth": round((last - first) / first, 4),
        "healthy_after": healthy,
    }
