"""The serving targets, measured for this code and, optionally, for another checkout of the
project in the same run (``movies bench --targets --versus DIR``): worker memory as USS/PSS,
catalog attach time, start-up to ready, the in-process lookups and HTTP throughput.

Each side runs its own code: its own ``movies etl`` writes its build, its own ``movies serve``
serves it, and its own schema and data layer answer the in-process lookups (loaded as its
server loads), always in fresh processes, alternating the sides so that the machine's load
falls on both alike; the in-process lookups of the two sides run at the same time, one per
core. Figures are medians over the repeats.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psutil

from bench import measure, memory
from bench.suite import Step, graphql_queries, http_mixes, pick_parameters, prepare_inputs
from etl.inputs import Inputs

ROOT = Path(__file__).resolve().parents[1]
WARMUP_S = 5.0
WARMUP_CONNECTIONS = 8

# Targets: (key, label, limit, comparison). Filled from the results in ``verdicts``.
LIMITS = {
    "uss_mb": 130.0,
    "sum_pss_mb": 400.0,
    "attach_ms": 100.0,
    "startup_s": 2.0,
    "lookup_ratio": 1.10,
    "nested_ms": 13.0,
    "recommendation_ms": 1.5,
    "small_rps": 10_000.0,
    "uss_growth": 1.15,
}


@dataclass(frozen=True)
class Tree:
    """A checkout of the project with its own environment (``uv sync --frozen`` in it)."""

    root: Path
    label: str

    @property
    def python(self) -> Path:
        if self.root == ROOT:
            return Path(sys.executable)
        return self.root / ".venv" / "bin" / "python"

    @property
    def movies(self) -> Path:
        return self.python.parent / "movies"

    def check(self) -> None:
        if not self.movies.is_file():
            raise FileNotFoundError(
                f"{self.root} has no environment with `movies` ({self.movies}): run "
                f"`uv sync --frozen` there first")


def ours() -> Tree:
    return Tree(ROOT, "ours")


def compile_bytecode(tree: Tree, step: Step) -> None:
    """Compile the tree's code and its environment's libraries to bytecode first, as the
    image does (``UV_COMPILE_BYTECODE``): otherwise every fresh process of a checkout whose
    environment runs with PYTHONDONTWRITEBYTECODE compiles its imports again, and start-up
    measures the compiler."""
    step(f"{tree.label}: compiling bytecode")
    site = next((tree.python.parent.parent / "lib").glob("python3*/site-packages"), None)
    sources = [str(p) for p in (tree.root / d for d in ("cli", "data", "schema", "server",
                                                         "etl", "bench")) if p.is_dir()]
    targets = sources + ([str(site)] if site is not None else [])
    # A library file that does not compile (vendored Python 2, templates) is no failure here.
    subprocess.run([str(tree.python), "-m", "compileall", "-q", "-j", "0", *targets],
                   cwd=tree.root, capture_output=True, check=False)


def versus(path: Path) -> Tree:
    tree = Tree(path.resolve(), "versus")
    tree.check()
    return tree


def _median(values: list[float], digits: int = 3) -> float:
    return round(statistics.median(values), digits)


# --- builds ---------------------------------------------------------------------------------


def build(tree: Tree, inputs: Inputs, out: Path, step: Step, reuse: bool = True) -> Path:
    """The tree's own ETL on ``inputs`` into ``out`` (kept and reused when it exists)."""
    if reuse and (out / "manifest.json").is_file():
        step(f"{tree.label}: reusing the build at {out}")
        return out
    step(f"{tree.label}: ETL into {out}")
    args = [str(tree.movies), "etl", "--movies", str(inputs.movies), "--credits",
            str(inputs.credits), "--out", str(out)]
    if inputs.keywords:
        args += ["--keywords", str(inputs.keywords)]
    measure.run_measured(args, cwd=tree.root)
    return out


# --- attach ---------------------------------------------------------------------------------

_ATTACH = """
    import json, time
    from pathlib import Path
    start = time.perf_counter()
    from data.catalog import Catalog
    imported = time.perf_counter()
    cat = Catalog.load(Path({build!r}))
    attached = time.perf_counter()
    print(json.dumps({{"import_ms": (imported - start) * 1000,
                      "attach_ms": (attached - imported) * 1000, "movies": cat.n_movies}}))
"""


def attach_once(tree: Tree, build_dir: Path) -> dict[str, float]:
    """``Catalog.load`` in a fresh process of the tree (its import timed apart)."""
    result = measure.run_measured(
        measure.python_snippet(_ATTACH.format(build=str(build_dir)), tree.python),
        cwd=tree.root)
    found: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


# --- one served run: start-up, memory, HTTP -------------------------------------------------


def wait_idle(procs: list[psutil.Process], quiet_s: float = 1.0, timeout: float = 120) -> None:
    """Wait until the processes stop using CPU (every worker has finished starting)."""

    def cpu() -> float:
        total = 0.0
        for proc in procs:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total

    deadline = time.perf_counter() + timeout
    before = cpu()
    while time.perf_counter() < deadline:
        time.sleep(quiet_s)
        now = cpu()
        if now - before < 0.05 * quiet_s * len(procs):
            return
        before = now


def served_run(tree: Tree, build_dir: Path, params: dict[str, list[Any]], step: Step,
               http_seconds: float = 0, levels: list[int] | None = None,
               warmup_s: float = WARMUP_S) -> dict[str, Any]:
    """Start ``movies serve --workers 2 --profile production``; time to /readyz; memory of
    each worker once idle after ready and again after a warm-up mix; optionally HTTP load."""
    small, mix, _base = http_mixes(params)
    port = measure.free_port()
    args = [str(tree.movies), "serve", "--data", str(build_dir), "--port", str(port),
            "--workers", "2", "--profile", "production"]
    result: dict[str, Any] = {}
    with measure.serve(args, port, "/readyz", cwd=tree.root) as server:
        result["startup_s"] = round(server.startup_s, 3)
        procs = memory.workers(server.process.pid)
        wait_idle(procs)
        result["ready"] = memory.server_memory(server.process.pid, build_dir)
        step(f"{tree.label}: warm-up mix, {WARMUP_CONNECTIONS} connections for {warmup_s:g} s")
        warm = measure.wrk(server.url, mix, "POST", "/graphql", WARMUP_CONNECTIONS, warmup_s)
        result["warmup"] = {"requests": warm["requests"], "errors": warm["errors"]}
        wait_idle(procs)
        result["warm"] = memory.server_memory(server.process.pid, build_dir)
        if http_seconds and levels:
            for name, bodies in (("small", small), ("mix", mix)):
                result[name] = []
                for c in levels:
                    step(f"{tree.label}: HTTP {name}, {c} connections for {http_seconds:g} s")
                    result[name].append(measure.wrk(server.url, bodies, "POST", "/graphql", c,
                                                    http_seconds))
    return result


# --- in-process timings ---------------------------------------------------------------------

_INPROCESS = """
    import gc, json, os, statistics, time
    from pathlib import Path

    import psutil
    from bench import suite
    from data.catalog import Catalog
    from server.app import create_app
    from server.settings import Settings

    BLOCK, SETTLE = 10, 2
    kwargs = json.loads({kwargs!r})
    if kwargs["core"] is not None:
        os.sched_setaffinity(0, {{kwargs["core"]}})
    build, params = Path(kwargs["build"]), kwargs["params"]
    cat = Catalog.load(build)
    app = create_app(Settings(data=build, log_json=True), cat)
    if kwargs["freeze"]:
        gc.collect()
        gc.freeze()  # as that tree's server does after loading
    schema = app.state.endpoint.schema
    queries = suite.graphql_queries(params)

    def graphql(query):
        def call():
            result = schema.execute_sync(query, context_value={{"catalog": cat}})
            assert not result.errors, result.errors
        return call

    calls = {{("ours", name): graphql(q) for name, q in queries.items()}}
    calls.update({{("data_layer", name): call
                  for name, call in suite.data_layer_calls(cat, params).items()}})
    samples = {{key: [] for key in calls}}

    def time_all():
        for lap in range(1 + max(1, kwargs["repeats"] // BLOCK)):
            for key, call in calls.items():
                for i in range(BLOCK):
                    start = time.perf_counter()
                    call()
                    # The first round warms up; a block's first calls pay for the previous
                    # one's garbage and cache misses.
                    if lap and i >= SETTLE:
                        samples[key].append(time.perf_counter() - start)

    # Both sides timed with room on the frame stack (this code's server.stack, whatever
    # the tree): otherwise a figure depends on how deep this loop happens to call.
    stack = {{}}
    exec(compile(open(kwargs["stack"]).read(), kwargs["stack"], "exec"), stack)
    stack["roomy"](time_all)
    timings = {{"ours": {{}}, "data_layer": {{}}}}
    for (section, name), values in samples.items():
        values.sort()
        timings[section][name] = {{
            "p50_ms": statistics.median(values) * 1000,
            "p99_ms": values[min(len(values) - 1, round(0.99 * (len(values) - 1)))] * 1000,
            "n": len(values)}}
    timings["process_rss_mb"] = round(psutil.Process().memory_info().rss / 2**20, 1)
    print(json.dumps({{"timings": timings, "queries": queries}}))
"""


def inprocess_paired(trees: list[Tree], builds: dict[str, Path], params: dict[str, list[Any]],
                     repeats: int, turn: int) -> list[dict[str, Any]]:
    """Each tree's in-process timings, the two trees at the same time, each pinned to a core
    of its own (``turn`` swaps the cores: the two cores of this machine do not run at the
    same speed): its speed drifts by tens of percent within minutes, and two sides timed in
    the same seconds see the same drift. One tree, or a single core, is timed alone."""
    cores = sorted(os.sched_getaffinity(0))
    if len(trees) < 2 or len(cores) < 2:
        return [inprocess_once(t, builds[t.label], params, repeats) for t in trees]
    pinned = [cores[(k + turn) % 2] for k in range(len(trees))]
    with ThreadPoolExecutor(len(trees)) as pool:
        jobs = [pool.submit(inprocess_once, t, builds[t.label], params, repeats, core)
                for t, core in zip(trees, pinned, strict=True)]
        return [job.result() for job in jobs]


def inprocess_once(tree: Tree, build_dir: Path, params: dict[str, list[Any]],
                   repeats: int, core: int | None = None) -> dict[str, Any]:
    """GraphQL queries and data-layer calls (the tree's own ``bench.suite`` lists), loaded
    once as that tree's server worker loads, in a fresh process of that tree. The calls are
    timed round-robin in short blocks (10 calls of each, the first 2 not counted), so a
    change in the machine's speed during the process lands on all of them alike rather than
    on whichever was being timed, and inside ``server.stack.roomy`` (this code's, for either
    tree), as this code's execution threads run: on CPython 3.11 the nested query took
    10-45 ms depending only on the depth of the loop that called it."""
    freeze = "gc.freeze()" in (tree.root / "server" / "app.py").read_text()
    kwargs = json.dumps({"build": str(build_dir), "params": params, "repeats": repeats,
                         "freeze": freeze, "core": core,
                         "stack": str(ROOT / "server" / "stack.py")})
    result = measure.run_measured(
        measure.python_snippet(_INPROCESS.format(kwargs=kwargs), tree.python), cwd=tree.root)
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    if found["queries"] != graphql_queries(params):
        raise RuntimeError(f"{tree.root} times other GraphQL queries than this code")
    return found["timings"]


def _median_timings(runs: list[dict[str, Any]], section: str) -> dict[str, dict[str, float]]:
    names = runs[0][section]
    return {name: {"p50_ms": _median([r[section][name]["p50_ms"] for r in runs], 4),
                   "p99_ms": _median([r[section][name]["p99_ms"] for r in runs], 4),
                   "runs": len(runs)} for name in names}


# --- the whole section ----------------------------------------------------------------------


def _median_memory(runs: list[dict[str, Any]], when: str) -> dict[str, Any]:
    """Per worker slot (oldest first) the median over runs of each figure."""
    slots = min(len(r[when]["workers"]) for r in runs)

    def med(get: Callable[[dict[str, Any]], float]) -> float:
        return _median([get(r) for r in runs], 1)

    workers = []
    for i in range(slots):
        def of(r: dict[str, Any], i: int = i) -> dict[str, Any]:
            return r[when]["workers"][i]

        worker: dict[str, Any] = {k: _median([of(r)[k] for r in runs], 1)
                                  for k in ("rss_mb", "pss_mb", "uss_mb", "private_dirty_mb")}
        for kind in ("anonymous", "build_files", "other_files"):
            worker[kind] = {k: _median([of(r)[kind][k] for r in runs], 1)
                            for k in ("rss_mb", "pss_mb", "uss_mb", "private_dirty_mb")}
        workers.append(worker)
    return {
        "workers": workers,
        "sum_pss_mb": med(lambda r: r[when]["sum_pss_mb"]),
        "max_uss_mb": med(lambda r: r[when]["max_uss_mb"]),
        "max_anonymous_uss_mb": med(lambda r: r[when]["max_anonymous_uss_mb"]),
        "supervisor_pss_mb": med(lambda r: r[when]["supervisor"]["pss_mb"]),
    }


def summarize(tree: Tree, build_dir: Path, attach: list[dict[str, float]],
              runs: list[dict[str, Any]], timed: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over one tree's repeats."""
    http = {k: runs[-1][k] for k in ("small", "mix") if k in runs[-1]}
    return {
        "root": str(tree.root),
        "build": str(build_dir.resolve()),
        "attach_ms": _median([a["attach_ms"] for a in attach]),
        "attach_runs_ms": [round(a["attach_ms"], 2) for a in attach],
        "import_ms": _median([a["import_ms"] for a in attach]),
        "startup_s": _median([r["startup_s"] for r in runs]),
        "startup_runs_s": [r["startup_s"] for r in runs],
        "memory_ready": _median_memory(runs, "ready"),
        "memory_warm": _median_memory(runs, "warm"),
        "warmup_errors": sum(r["warmup"]["errors"] for r in runs),
        "graphql": _median_timings(timed, "ours"),
        "data_layer": _median_timings(timed, "data_layer"),
        "inprocess_rss_mb": _median([t["process_rss_mb"] for t in timed], 1),
        "http": http,
    }


def run(scale: float | None, workdir: Path, versus_root: Path | None, repeats: int,
        inprocess_repeats: int, http_seconds: float, levels: list[int], seed: int,
        step: Step, warmup_s: float = WARMUP_S) -> dict[str, Any]:
    workdir = workdir.absolute()  # the other side runs in its own directory
    workdir.mkdir(parents=True, exist_ok=True)
    inputs = prepare_inputs(scale, seed, workdir, step)
    label = "sample" if scale is None else f"{scale:g}"
    trees = [ours()] + ([versus(versus_root)] if versus_root is not None else [])
    for tree in trees:
        compile_bytecode(tree, step)
    builds = {t.label: build(t, inputs, workdir / f"targets-{label}" / f"build-{t.label}", step)
              for t in trees}
    params = pick_parameters(builds["ours"])
    results: dict[str, Any] = {
        "machine": measure.machine(),
        "data": "sample" if scale is None else f"synthetic x{scale:g}",
        "movies": orjson.loads((builds["ours"] / "manifest.json").read_bytes())["tables"][
            "movies"],
    }
    attach: dict[str, list[dict[str, float]]] = {t.label: [] for t in trees}
    runs: dict[str, list[dict[str, Any]]] = {t.label: [] for t in trees}
    timed: dict[str, list[dict[str, Any]]] = {t.label: [] for t in trees}
    # Sides alternate within each repeat, so a change in the machine's load hits both.
    for i in range(repeats):
        last = i == repeats - 1
        for tree in trees:
            b = builds[tree.label]
            step(f"{tree.label}: Catalog.load in a fresh process ({i + 1}/{repeats})")
            attach[tree.label].append(attach_once(tree, b))
            step(f"{tree.label}: serve with 2 workers ({i + 1}/{repeats})")
            runs[tree.label].append(served_run(tree, b, params, step,
                                               http_seconds if last else 0,
                                               levels if last else None, warmup_s))
        step(f"in-process lookups, {' and '.join(t.label for t in trees)} side by side "
             f"({i + 1}/{repeats})")
        for turn in (0, 1):  # each side on each core once per repeat
            for tree, found in zip(trees, inprocess_paired(trees, builds, params,
                                                           inprocess_repeats, turn),
                                   strict=True):
                timed[tree.label].append(found)
    for tree in trees:
        results[tree.label] = summarize(tree, builds[tree.label], attach[tree.label],
                                        runs[tree.label], timed[tree.label])
    results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


# --- report ---------------------------------------------------------------------------------


def best_rps(side: dict[str, Any], name: str) -> float:
    return max((r["rps"] for r in side.get("http", {}).get(name, [])), default=0.0)


def verdicts(results: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(target, measured, limit, met) per target the results can judge."""
    o = results["ours"]
    v = results.get("versus")
    warm = o["memory_warm"]
    rows: list[tuple[str, str, str, bool | None]] = [
        ("private memory per worker (USS, after warm-up, largest worker)",
         f"{warm['max_uss_mb']:.0f} MB (anonymous {warm['max_anonymous_uss_mb']:.0f} MB)",
         f"<= {LIMITS['uss_mb']:.0f} MB", warm["max_uss_mb"] <= LIMITS["uss_mb"]),
        ("sum of PSS over 2 workers (after warm-up)", f"{warm['sum_pss_mb']:.0f} MB",
         f"<= {LIMITS['sum_pss_mb']:.0f} MB", warm["sum_pss_mb"] <= LIMITS["sum_pss_mb"]),
        ("Catalog.load in a fresh process", f"{o['attach_ms']:.1f} ms",
         f"<= {LIMITS['attach_ms']:.0f} ms", o["attach_ms"] <= LIMITS["attach_ms"]),
        ("process start to /readyz (2 workers)", f"{o['startup_s']:.2f} s",
         f"<= {LIMITS['startup_s']:g} s", o["startup_s"] <= LIMITS["startup_s"]),
        ("nested actor → 50 movies → 10 cast, p50", f"{o['graphql']['nested']['p50_ms']:.2f} ms",
         f"<= {LIMITS['nested_ms']:g} ms", o["graphql"]["nested"]["p50_ms"] <= LIMITS["nested_ms"]),
        ("recommendation (GraphQL, n = 5), p50",
         f"{o['graphql']['recommendation']['p50_ms']:.2f} ms",
         f"<= {LIMITS['recommendation_ms']:g} ms",
         o["graphql"]["recommendation"]["p50_ms"] <= LIMITS["recommendation_ms"]),
    ]
    rps = best_rps(o, "small")
    if rps:
        rows.append(("HTTP small query, 2 workers (best level)", f"{rps:,.0f} req/s",
                     f">= {LIMITS['small_rps']:,.0f} req/s", rps >= LIMITS["small_rps"]))
    if v is not None:
        worst = max(o["graphql"][k]["p50_ms"] / v["graphql"][k]["p50_ms"]
                    for k in v["graphql"] if k != "nested")
        rows.append(("lookups p50, worst ratio new / previous (GraphQL)", f"{worst:.2f}",
                     f"<= {LIMITS['lookup_ratio']:.2f}", worst <= LIMITS["lookup_ratio"]))
    return rows


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    o, v = results["ours"], results.get("versus")
    lines = [
        f"Data: **{results['data']}** ({results['movies']:,} movies). Machine: {m['cores']} "
        f"cores, {m['memory_gib']} GiB, Python {m['python']}; load average "
        f"{m['load_average'][0]} at start, {results['load_average_end'][0]} at the end (the "
        "machine is shared). Medians over fresh processes; both sides' code and libraries "
        "compiled to bytecode first, as in the image."
        + (f" \"previous\" is `{v['root']}`, measured in the same run." if v else ""),
        "",
        "| target | measured | limit | met |",
        "| --- | ---: | ---: | :---: |",
    ]
    for name, value, limit, met in verdicts(results):
        lines.append(f"| {name} | {value} | {limit} | {'yes' if met else 'no'} |")
    sides = [("new", o)] + ([("previous", v)] if v else [])
    lines += ["", "Memory per worker (MB) of `movies serve --workers 2 --profile production`, "
              "from /proc/PID/smaps_rollup (USS = Private_Clean + Private_Dirty) and split by "
              "mapping from /proc/PID/smaps:", "",
              "| code | when | worker | RSS | PSS | USS | USS anonymous | USS build files "
              "| PSS build files | USS other files | sum PSS (2 workers) |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, side in sides:
        for when, key in (("ready", "memory_ready"), ("after warm-up", "memory_warm")):
            mem = side[key]
            for i, w in enumerate(mem["workers"]):
                lines.append(
                    f"| {label} | {when} | {i + 1} | {w['rss_mb']:.0f} | {w['pss_mb']:.0f} | "
                    f"{w['uss_mb']:.0f} | {w['anonymous']['uss_mb']:.0f} | "
                    f"{w['build_files']['uss_mb']:.0f} | {w['build_files']['pss_mb']:.0f} | "
                    f"{w['other_files']['uss_mb']:.0f} | "
                    f"{mem['sum_pss_mb']:.0f} |")
    lines += ["", "| code | Catalog.load | import of data.catalog | start to /readyz (2 workers) "
              "|", "| --- | ---: | ---: | ---: |"]
    for label, side in sides:
        lines.append(f"| {label} | {side['attach_ms']:.1f} ms | {side['import_ms']:.0f} ms | "
                     f"{side['startup_s']:.2f} s |")
    lines += ["", "In-process p50 (p99) in ms, each side in fresh processes of its own code "
              "(the two sides at the same time, one per core, each on each core once per "
              "repeat; calls round-robin in blocks of 10, inside a roomy frame-stack chunk "
              "as in this code's execution threads, see server/stack.py):", ""]
    if v:
        lines += ["| lookup | new, GraphQL | previous, GraphQL | new / previous | new, data "
                  "layer | previous, data layer | new / previous |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for name, t in o["graphql"].items():
            p = v["graphql"][name]
            layer, player = o["data_layer"].get(name), v["data_layer"].get(name)
            layer_cells = (f"{layer['p50_ms']:.4f} ({layer['p99_ms']:.4f}) | "
                           f"{player['p50_ms']:.4f} ({player['p99_ms']:.4f}) | "
                           f"{layer['p50_ms'] / player['p50_ms']:.2f}"
                           if layer and player else "- | - | -")
            lines.append(f"| {name} | {t['p50_ms']:.3f} ({t['p99_ms']:.3f}) | "
                         f"{p['p50_ms']:.3f} ({p['p99_ms']:.3f}) | "
                         f"{t['p50_ms'] / p['p50_ms']:.2f} | {layer_cells} |")
    else:
        lines += ["| lookup | GraphQL | data layer |", "| --- | ---: | ---: |"]
        for name, t in o["graphql"].items():
            layer = o["data_layer"].get(name)
            lines.append(f"| {name} | {t['p50_ms']:.3f} ({t['p99_ms']:.3f}) | "
                         + (f"{layer['p50_ms']:.4f} ({layer['p99_ms']:.4f}) |" if layer
                            else "- |"))
    if o.get("http"):
        lines += ["", "HTTP, 2 workers, wrk on loopback (closed loop, response cache on):", "",
                  "| code | load | connections | requests/s | p50 | p99 | errors |",
                  "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
        for label, side in sides:
            for name in ("small", "mix"):
                for r in side["http"].get(name, []):
                    lines.append(f"| {label} | {name} | {r['connections']} | {r['rps']:,.0f} | "
                                 f"{r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | "
                                 f"{r['errors']} |")
    return "\n".join(lines) + "\n"
