"""Soak under hostile traffic: the realistic mix with and without a hostile mix beside it.

The normal mix runs alone for ``seconds`` (wrk, ``connections`` clients), then again with
hostile clients sending fragment explosions, maximum-cost batches, the expensive resolvers
and oversized or deep documents, while ``/healthz`` is probed every quarter second and the
server's memory is sampled. What must hold: the normal mix's p99 within 3x of its value
alone, ``/healthz`` within 100 ms throughout, memory within the box, and no 5xx anywhere.
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil

from bench import measure
from bench.suite import Step, http_mixes, pick_parameters

HEALTH_LIMIT_MS = 100.0
P99_FACTOR = 3.0
MEMORY_LIMIT_MB = 512.0  # the box the assignment deployed to (both workers and supervisor)
HOSTILE_CLIENTS = 4


def _fragment_explosion(levels: int) -> str:
    fragments = ["fragment F0 on Movie { title }"]
    fragments += [f"fragment F{i} on Movie {{ ...F{i - 1} ...F{i - 1} }}"
                  for i in range(1, levels + 1)]
    return f"{{ movie(id: 862) {{ ...F{levels} }} }} " + " ".join(fragments)


def hostile_bodies(title: str, actor: str) -> list[bytes]:
    """One of each kind of hostile request (JSON bodies for POST /graphql)."""
    heavy = ('{ movies(first: 100) { nodes { title cast(first: 100) { nodes { actor { name } } } '
             '} } }')
    nested_similar = (
        f'{{ a: recommendations(title: {orjson.dumps(title).decode()}, n: 50) '
        '{ movie { similar(n: 50) { movie { similar(n: 50) { movie { title } } } } } } }')
    searches = "{ " + " ".join(
        f"s{i}: searchPeople(query: {orjson.dumps(actor[: max(3, len(actor) - i % 4)]).decode()}"
        ", first: 100) { score }" for i in range(30)) + " }"
    deep = "{ movie(id: 862) { " + "similar(n: 1) { movie { " * 12 + "title" + " } }" * 12 + " } }"
    bodies: list[Any] = [
        {"query": _fragment_explosion(30)},
        [{"query": heavy} for _ in range(10)],  # one budget for the whole batch
        {"query": nested_similar},
        {"query": searches},
        {"query": deep},
        {"query": "query($n: Int = 100) { movies(first: $n) { nodes { cast(first: $n) "
                  "{ nodes { actor { name } } } } } }"},
        {"query": "{ moviesLike(text: " + orjson.dumps("space " * 150).decode() + ", n: 50) "
                  "{ movie { title } } }"},
        {"query": '{ searchMovies(query: "' + "\ufdfa" * 200 + '") { score } }'},
        {"query": "#" + "x" * 200_000 + "\n{ __typename }"},
    ]
    return [orjson.dumps(body) for body in bodies]


def soak(build: Path, seconds: float, connections: int, step: Step) -> dict[str, Any]:
    if not measure.wrk_available():
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    params = pick_parameters(build)
    _small, mix, _base = http_mixes(params)
    hostile = hostile_bodies(params["titles"][0], params["actors"][0])
    port = measure.free_port()
    args = [str(measure.BIN / "movies"), "serve", "--data", str(build), "--port", str(port),
            "--workers", "2", "--profile", "production"]
    with measure.serve(args, port, "/readyz") as server:
        measure.wrk(server.url, mix, "POST", "/graphql", connections, min(5.0, seconds / 6))
        step(f"normal mix alone: {connections} connections for {seconds:g} s")
        alone = measure.wrk(server.url, mix, "POST", "/graphql", connections, seconds)

        stop = threading.Event()
        statuses: list[int] = []
        health_ms: list[float] = []
        health_failures: list[str] = []
        memory: list[int] = []
        root = psutil.Process(server.process.pid)

        def attack(offset: int) -> None:
            with httpx.Client(base_url=server.url, timeout=15) as client:
                i = offset
                while not stop.is_set():
                    try:
                        answer = client.post("/graphql", content=hostile[i % len(hostile)],
                                             headers={"content-type": "application/json"})
                        statuses.append(answer.status_code)
                    except httpx.HTTPError as exc:
                        statuses.append(0)
                        health_failures.append(f"hostile: {type(exc).__name__}")
                    i += 1

        def probe() -> None:
            with httpx.Client(base_url=server.url, timeout=5) as client:
                while not stop.is_set():
                    started = time.perf_counter()
                    try:
                        ok = client.get("/healthz").status_code == 200
                    except httpx.HTTPError as exc:
                        ok = False
                        health_failures.append(f"healthz: {type(exc).__name__}")
                    health_ms.append((time.perf_counter() - started) * 1000)
                    if not ok:
                        health_failures.append("healthz: not 200")
                    memory.append(measure.tree_rss(root))
                    stop.wait(0.25)

        threads = [threading.Thread(target=attack, args=(i,), daemon=True)
                   for i in range(HOSTILE_CLIENTS)] + [threading.Thread(target=probe,
                                                                        daemon=True)]
        for thread in threads:
            thread.start()
        step(f"normal mix beside {HOSTILE_CLIENTS} hostile clients for {seconds:g} s")
        beside = measure.wrk(server.url, mix, "POST", "/graphql", connections, seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        healthy = httpx.get(server.url + "/healthz", timeout=5).status_code == 200
    server_errors = sum(1 for s in statuses if s >= 500) + beside.get("non_2xx", 0)
    ratio = beside["p99_ms"] / alone["p99_ms"] if alone["p99_ms"] else float("inf")
    result = {
        "seconds": seconds,
        "connections": connections,
        "alone": alone,
        "beside_hostile": beside,
        "p99_ratio": round(ratio, 2),
        "hostile_requests": len(statuses),
        "hostile_statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
        "server_errors": server_errors,
        "healthz_probes": len(health_ms),
        "healthz_p50_ms": round(statistics.median(health_ms), 2) if health_ms else None,
        "healthz_max_ms": round(max(health_ms), 2) if health_ms else None,
        "failures": sorted(set(health_failures)),
        "memory_max_mb": round(max(memory) / 2**20, 1) if memory else None,
        "healthy_after": healthy,
    }
    result["met"] = {
        "p99 within 3x": ratio <= P99_FACTOR,
        "healthz within 100 ms": bool(health_ms) and max(health_ms) <= HEALTH_LIMIT_MS,
        f"memory within {MEMORY_LIMIT_MB:g} MB": bool(memory)
        and max(memory) / 2**20 <= MEMORY_LIMIT_MB,
        "no 5xx": server_errors == 0 and beside.get("errors", 0) == 0,
    }
    return result


def markdown(result: dict[str, Any]) -> str:
    if "skipped" in result:
        return f"skipped: {result['skipped']}\n"
    alone, beside = result["alone"], result["beside_hostile"]
    rows = [
        ("normal mix alone: requests/s, p99", f"{alone['rps']:,.0f}/s, {alone['p99_ms']:.1f} ms"),
        ("normal mix beside hostile clients: requests/s, p99",
         f"{beside['rps']:,.0f}/s, {beside['p99_ms']:.1f} ms (x{result['p99_ratio']})"),
        ("hostile requests (by status)",
         f"{result['hostile_requests']:,} {result['hostile_statuses']}"),
        ("5xx answers", str(result["server_errors"])),
        ("/healthz p50 / max", f"{result['healthz_p50_ms']} / {result['healthz_max_ms']} ms "
                               f"({result['healthz_probes']} probes)"),
        ("server memory (RSS, all processes), max", f"{result['memory_max_mb']} MB"),
    ]
    lines = ["| measure | value |", "| --- | ---: |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines += [f"| {name} | {'met' if ok else 'not met'} |" for name, ok in result["met"].items()]
    return "\n".join(lines) + "\n"
