"""The benchmark suite: ours against the assignment's approach, on the same data, same run.

``run`` measures ETL, start-up, in-process lookups, the recommender and HTTP load for both
sides and reports medians and ratios; ``growth`` repeats the costly parts over several scales;
``soak`` holds 32 clients against two workers for a minute. Results are JSON plus Markdown.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import psutil

from bench import measure
from data.paths import SAMPLE_DIR
from etl.inputs import Inputs, find_raw

SETTLE_S = 2.0

Step = Callable[[str], object]


def prepare_inputs(scale: float | None, seed: int, workdir: Path, step: Step) -> Inputs:
    """The embedded sample (scale None) or a synthetic twin at ``scale`` (cached on disk)."""
    if scale is None:
        movies, credits = find_raw(SAMPLE_DIR, "movies"), find_raw(SAMPLE_DIR, "credits")
        assert movies and credits
        return Inputs(movies, credits, find_raw(SAMPLE_DIR, "keywords"))
    from bench.synth import generate

    raw = workdir / f"synth-{scale:g}-{seed}"
    if not (raw / "credits.csv").is_file():
        step(f"generating the synthetic twin at scale {scale:g}")
        generate(scale, raw, seed=seed)
    return Inputs(raw / "movies_dataset.csv", raw / "credits.csv", raw / "keywords.csv")


def etl_ours(inputs: Inputs, out: Path) -> measure.RunResult:
    args = [str(measure.BIN / "movies"), "etl", "--movies", str(inputs.movies),
            "--credits", str(inputs.credits), "--out", str(out)]
    if inputs.keywords:
        args += ["--keywords", str(inputs.keywords)]
    return measure.run_measured(args)


def etl_baseline(inputs: Inputs, max_movies: int) -> tuple[measure.RunResult, dict[str, Any]]:
    code = f"""
        import json, time
        from bench.baseline import baseline_etl
        data = baseline_etl({str(inputs.movies)!r}, {str(inputs.credits)!r},
                            max_movies={max_movies})
        print(json.dumps({{**data.timings, "matrix_bytes": data.similarity_bytes,
                          "movies": len(data.movies)}}))
    """
    result = measure.run_measured(measure.python_snippet(code))
    return result, json.loads(result.stdout.strip().splitlines()[-1])


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def bench_etl(
    inputs: Inputs, workdir: Path, repeats: int, max_baseline: int, step: Step
) -> dict[str, Any]:
    ours, base = [], []
    base_meta: dict[str, Any] = {}
    for i in range(repeats):
        step(f"ETL ours, run {i + 1}/{repeats}")
        ours.append(etl_ours(inputs, workdir / "build"))
        step(f"ETL baseline, run {i + 1}/{repeats}")
        result, base_meta = etl_baseline(inputs, max_baseline)
        base.append(result)
    return {
        "ours": {"seconds": _median([r.seconds for r in ours]),
                 "peak_rss_mb": round(max(r.peak_rss for r in ours) / 2**20, 1)},
        "baseline": {"seconds": _median([r.seconds for r in base]),
                     "peak_rss_mb": round(max(r.peak_rss for r in base) / 2**20, 1),
                     "etl_only_seconds": round(base_meta.get("etl_s", 0), 3),
                     "dense_matrix_mb": round(base_meta.get("matrix_bytes", 0) / 2**20, 1),
                     "matrix_movies": min(max_baseline, base_meta.get("movies", 0))},
    }


# --- the queries ---------------------------------------------------------------------------


def pick_parameters(build: Path) -> dict[str, list[Any]]:
    """Realistic, deterministic parameters: well-known titles and busy people of this build."""
    from data.catalog import Catalog

    cat = Catalog.load(build)
    votes = cat.movies.numbers("vote_count")
    by_votes = np.lexsort((np.arange(cat.n_movies), -votes))[:200]
    titles = [m["title"] for m in cat.movies.get(by_votes, ("title",))]
    people = np.arange(cat.n_people)
    actors = np.lexsort((people, -cat.cast_counts))[:100]
    directors = np.lexsort((people, -cat.directed_counts))[:100]
    busiest = int(actors[0])
    params = {
        "titles": titles,
        "actors": [p["name"] for p in cat.people.get(actors, ("name",))],
        "directors": [p["name"] for p in cat.people.get(directors, ("name",))],
        "busiest_actor": [cat.people.value(busiest, "name")],
        "busiest_films": [int(cat.cast_counts[busiest])],
    }
    return params


def graphql_queries(p: dict[str, list[Any]]) -> dict[str, str]:
    t, a, d = json.dumps(p["titles"][0]), json.dumps(p["actors"][0]), json.dumps(p["directors"][0])
    return {
        "month": '{ releasesInMonth(month: "enero") { count sentence } }',
        "weekday": '{ releasesOnWeekday(day: "lunes") { count sentence } }',
        "score": f"{{ titleScore(title: {t}) {{ title releaseYear popularity sentence }} }}",
        "votes": f"{{ titleVotes(title: {t}) {{ qualifies voteCount voteAverage message }} }}",
        "actor": f"{{ actor(name: {a}) {{ filmCount totalReturn averageReturn sentence }} }}",
        "director": f"{{ director(name: {d}) {{ totalReturn movies(first: 20) {{ nodes "
        "{ title releaseDate return budget revenue profit } } } }",
        "recommendation": f"{{ recommendations(title: {t}, n: 5) {{ score movie {{ title }} "
        "reasons { kind names } } }",
        "nested": f"{{ actor(name: {json.dumps(p['busiest_actor'][0])}) {{ movies(first: 50) "
        "{ nodes { title cast(first: 10) { nodes { character actor { name } } } } } } }",
    }


def bench_inprocess(build: Path, inputs: Inputs, params: dict[str, list[Any]], repeats: int,
                    max_baseline: int, step: Step) -> dict[str, Any]:
    """Each lookup executed in-process: ours through the full GraphQL execution (no HTTP, no
    response cache) and as data-layer calls, the baseline's functions as the assignment wrote
    them. Each side runs in a fresh process that loads its data once, as a server worker
    does: inside this long-lived process the same query measured up to 3x slower."""
    step("in-process: ours")
    ours = _in_fresh_process("time_ours", build=str(build), params=params, repeats=repeats)
    step("in-process: baseline (loads pandas + a dense matrix)")
    base = _in_fresh_process("time_baseline", movies=str(inputs.movies),
                             credits=str(inputs.credits), params=params,
                             repeats=max(5, repeats // 10), max_baseline=max_baseline)
    return {**ours, "baseline": base}


def _in_fresh_process(function: str, **kwargs: Any) -> dict[str, Any]:
    code = f"""
        import json
        from bench import suite
        from server.stack import roomy  # as the server's execution threads run
        kwargs = json.loads({json.dumps(json.dumps(kwargs))})
        print(json.dumps(roomy(lambda: suite.{function}(**kwargs))))
    """
    result = measure.run_measured(measure.python_snippet(code))
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def time_ours(build: str, params: dict[str, list[Any]], repeats: int) -> dict[str, Any]:
    from data.catalog import Catalog
    from server.app import create_app
    from server.settings import Settings

    cat = Catalog.load(Path(build))
    app = create_app(Settings(data=Path(build), log_json=True), cat)
    schema = app.state.endpoint.schema
    ours: dict[str, Any] = {}
    for name, query in graphql_queries(params).items():
        def call(q: str = query) -> None:
            result = schema.execute_sync(q, context_value={"catalog": cat})
            assert not result.errors, result.errors

        ours[name] = measure.time_calls(call, repeats).as_dict()
    layer = {name: measure.time_calls(call, repeats).as_dict()
             for name, call in data_layer_calls(cat, params).items()}
    return {"ours": ours, "data_layer": layer,
            "process_rss_mb": round(psutil.Process().memory_info().rss / 2**20, 1)}


def time_baseline(movies: str, credits: str, params: dict[str, list[Any]], repeats: int,
                  max_baseline: int) -> dict[str, Any]:
    from bench.baseline import baseline_etl

    data = baseline_etl(movies, credits, max_movies=max_baseline)
    title = params["titles"][0]
    rec_title = title if title in set(data.rec_titles) else data.rec_titles.iloc[0]
    calls = {
        "month": lambda: data.cantidad_filmaciones_mes("enero"),
        "weekday": lambda: data.cantidad_filmaciones_dia("lunes"),
        "score": lambda: data.score_titulo(title),
        "votes": lambda: data.votos_titulo(title),
        "actor": lambda: data.get_actor(params["actors"][0]),
        "director": lambda: data.get_director(params["directors"][0]),
        "recommendation": lambda: data.recomendacion(rec_title),
    }
    return {name: measure.time_calls(call, repeats).as_dict() for name, call in calls.items()}


def data_layer_calls(cat: Any, p: dict[str, list[Any]]) -> dict[str, Callable[[], object]]:
    """The same answers as the baseline's functions, from our data layer without GraphQL:
    the like-for-like comparison (function against function)."""
    from data import lookups
    from data.lookups import Role

    def person(role: Role, name: str, sentence: Callable[..., str],
               films: Callable[..., lookups.Filmography]) -> Callable[[], object]:
        def call() -> object:
            row = lookups.resolve_person(cat, role, name=name).row
            found = films(cat, row)
            if role is Role.DIRECTOR:  # the baseline lists every film with its money fields
                films_of = cat.movies.get(
                    found.movies, ("title", "release_date", "return", "budget", "revenue"))
                return sentence(cat, row, found), [
                    m | {"release_date": m["release_date"].isoformat(),
                         "profit": m["revenue"] - m["budget"]} for m in films_of]
            return sentence(cat, row, found)

        return call

    title = p["titles"][0]
    return {
        "month": lambda: lookups.releases_in_month(cat, "enero"),
        "weekday": lambda: lookups.releases_on_weekday(cat, "lunes"),
        "score": lambda: lookups.score_sentence(cat, lookups.resolve_title(cat, title).row),
        "votes": lambda: lookups.votes_sentence(cat, lookups.resolve_title(cat, title).row),
        "actor": person(Role.ACTOR, p["actors"][0], lookups.actor_sentence, lookups.actor_films),
        "director": person(Role.DIRECTOR, p["directors"][0], lookups.director_sentence,
                           lookups.director_films),
        "recommendation": lambda: lookups.recommend(
            cat, lookups.resolve_title(cat, title).row, 5),
    }


def bench_startup(build: Path, workers: int, step: Step) -> dict[str, Any]:
    step(f"start-up with {workers} worker(s)")
    port = measure.free_port()
    args = [str(measure.BIN / "movies"), "serve", "--data", str(build), "--port", str(port),
            "--workers", str(workers)]
    with measure.serve(args, port, "/readyz") as server:
        at_ready = server.rss
        # Polars' allocator hands start-up temporaries back to the OS within ~1 s of ready
        # (its jemalloc decay), so the steady-state figure is read after a short settle.
        time.sleep(SETTLE_S)
        return {"startup_s": round(server.startup_s, 3),
                "rss_at_ready_mb": round(at_ready / 2**20, 1),
                "rss_mb": round(server.rss / 2**20, 1)}


def http_mixes(p: dict[str, list[Any]]) -> tuple[list[str], list[str], list[str]]:
    """(our small query, our realistic mix, the baseline's equivalent GET mix)."""
    from urllib.parse import quote

    small = [orjson.dumps({"query": f'{{ releasesInMonth(month: "{m}") {{ count }} }}'}).decode()
             for m in range(1, 13)]
    ours, base = [], []
    months = ["enero", "febrero", "marzo", "abril", "mayo", "junio"]
    for i in range(60):
        title, actor = p["titles"][i % len(p["titles"])], p["actors"][i % len(p["actors"])]
        director = p["directors"][i % len(p["directors"])]
        kind = i % 6
        if kind == 0:
            q, path = f'{{ releasesInMonth(month: "{months[i % 6]}") {{ count sentence }} }}', \
                f"/cantidad_filmaciones_mes/{months[i % 6]}"
        elif kind == 1:
            q = f"{{ titleScore(title: {json.dumps(title)}) {{ releaseYear sentence }} }}"
            path = f"/score_titulo/{quote(title, safe='')}"
        elif kind == 2:
            q = f"{{ titleVotes(title: {json.dumps(title)}) {{ qualifies voteCount message }} }}"
            path = f"/votos_titulo/{quote(title, safe='')}"
        elif kind == 3:
            q = f"{{ actor(name: {json.dumps(actor)}) {{ filmCount totalReturn sentence }} }}"
            path = f"/get_actor/{quote(actor, safe='')}"
        elif kind == 4:
            q = (f"{{ director(name: {json.dumps(director)}) {{ totalReturn movies(first: 20) "
                 "{ nodes { title releaseDate return } } } }")
            path = f"/get_director/{quote(director, safe='')}"
        else:
            q = f"{{ recommendations(title: {json.dumps(title)}) {{ score movie {{ title }} }} }}"
            path = f"/recomendacion/{quote(title, safe='')}"
        if "/" in title and kind in (1, 2, 5):
            continue  # the original GET routes cannot carry a title with a slash
        ours.append(orjson.dumps({"query": q}).decode())
        base.append(path)
    return small, ours, base


def bench_http(build: Path, inputs: Inputs, params: dict[str, list[Any]], seconds: float,
               levels: list[int], max_baseline: int, step: Step) -> dict[str, Any]:
    if not measure.wrk_available():
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    small, mix, base_mix = http_mixes(params)
    results: dict[str, Any] = {}
    for label, env in (("ours", {}), ("ours_nocache", {"MOVIES_CACHE_BYTES": "0"})):
        port = measure.free_port()
        args = [str(measure.BIN / "movies"), "serve", "--data", str(build), "--port",
                str(port), "--workers", "2", "--profile", "production"]
        with measure.serve(args, port, "/readyz", env=env) as server:
            runs: dict[str, Any] = {}
            for name, bodies in (("small", small), ("mix", mix)):
                runs[name] = []
                for c in levels:
                    step(f"HTTP {label} {name}: {c} connections for {seconds:g} s")
                    runs[name].append(measure.wrk(server.url, bodies, "POST", "/graphql", c,
                                                  seconds))
            runs["rss_mb"] = round(server.rss / 2**20, 1)
            results[label] = runs
    port = measure.free_port()
    args = [sys.executable, "-m", "bench.baseline_app", "--movies", str(inputs.movies),
            "--credits", str(inputs.credits), "--max-movies", str(max_baseline), "--port",
            str(port), "--workers", "2", "--no-access-log", "--log-level", "warning"]
    step("HTTP baseline: starting (its ETL runs in every worker)")
    with measure.serve(args, port, "/", timeout=3600) as server:
        results["baseline"] = {"mix": []}
        for c in levels:
            step(f"HTTP baseline mix: {c} connections for {seconds:g} s")
            results["baseline"]["mix"].append(
                measure.wrk(server.url, base_mix, "GET", "/", c, seconds))
        results["baseline"]["startup_s"] = round(server.startup_s, 2)
        results["baseline"]["rss_mb"] = round(server.rss / 2**20, 1)
    return results


def bench_cached_vs_bare(build: Path, seconds: float, levels: list[int], step: Step
                         ) -> dict[str, Any]:
    """One identical small query, answered from our response cache, against a bare Starlette
    endpoint returning a fixed body: both under uvicorn with 2 workers."""
    if not measure.wrk_available():
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    body = [orjson.dumps({"query": '{ releasesInMonth(month: "enero") { count } }'}).decode()]
    results: dict[str, Any] = {}
    port = measure.free_port()
    ours = [str(measure.BIN / "movies"), "serve", "--data", str(build), "--port", str(port),
            "--workers", "2", "--profile", "production"]
    bare_port = measure.free_port()
    bare = [sys.executable, "-m", "uvicorn", "bench.bare_app:create_app", "--factory",
            "--port", str(bare_port), "--workers", "2", "--log-level", "warning",
            "--no-access-log"]
    for label, args, port_ in (("ours_cached", ours, port), ("bare_starlette", bare, bare_port)):
        with measure.serve(args, port_, "/graphql" if label == "bare_starlette" else "/readyz"
                           ) as server:
            results[label] = []
            for c in levels:
                step(f"HTTP {label}: {c} connections for {seconds:g} s")
                results[label].append(measure.wrk(server.url, body, "POST", "/graphql", c,
                                                  seconds))
    return results


def run(scale: float | None, workdir: Path, repeats: int, http_seconds: float,
        levels: list[int], max_baseline: int, seed: int, step: Step) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    inputs = prepare_inputs(scale, seed, workdir, step)
    results: dict[str, Any] = {"machine": measure.machine(),
                               "data": "sample" if scale is None else f"synthetic x{scale:g}"}
    results["etl"] = bench_etl(inputs, workdir, repeats, max_baseline, step)
    build = workdir / "build"
    params = pick_parameters(build)
    results["startup"] = {w: bench_startup(build, w, step) for w in (1, 2)}
    results["inprocess"] = bench_inprocess(build, inputs, params, repeats * 100, max_baseline,
                                           step)
    results["http"] = bench_http(build, inputs, params, http_seconds, levels, max_baseline, step)
    results["cached_vs_bare"] = bench_cached_vs_bare(build, http_seconds, levels, step)
    manifest = orjson.loads((build / "manifest.json").read_bytes())
    results["recommender"] = manifest.get("recommender", {})
    results["movies"] = manifest["tables"]["movies"]
    return results


# --- reporting -----------------------------------------------------------------------------


def _ratio(ours: float, base: float) -> str:
    if not ours or not base:
        return "-"
    return f"{base / ours:,.0f}x" if base / ours >= 10 else f"{base / ours:.1f}x"


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"Data: **{results['data']}** ({results['movies']:,} movies after the ETL). Machine: "
        f"{m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}, load average at start "
        f"{m['load_average'][0]}. Medians of repeated runs; \"faster\" = baseline / ours.",
        "",
        "| measure | ours | baseline (assignment) | faster |",
        "| --- | ---: | ---: | ---: |",
    ]
    etl = results["etl"]
    lines.append(f"| ETL wall time | {etl['ours']['seconds']:.2f} s | "
                 f"{etl['baseline']['seconds']:.2f} s | "
                 f"{_ratio(etl['ours']['seconds'], etl['baseline']['seconds'])} |")
    lines.append(f"| ETL peak RSS | {etl['ours']['peak_rss_mb']:.0f} MB | "
                 f"{etl['baseline']['peak_rss_mb']:.0f} MB | |")
    s1 = results["startup"][1]
    lines.append(f"| server start-up to ready (1 worker) | {s1['startup_s']:.2f} s | | |")
    lines.append(f"| server RSS, full build + index (1 worker, {SETTLE_S:g} s after ready) | "
                 f"{s1['rss_mb']:.0f} MB ({s1['rss_at_ready_mb']:.0f} MB at ready) | | |")
    inproc = results["inprocess"]
    nested = inproc["ours"]["nested"]
    lines.append(f"| nested actor → 50 movies → 10 cast, p50 / p99 (in-process) | "
                 f"{nested['p50_ms']:.1f} / {nested['p99_ms']:.1f} ms | - | - |")
    rec = results.get("recommender", {})
    if rec:
        lines.append(f"| recommender index memory | {rec.get('bytes', 0) / 2**20:.1f} MB | "
                     f"{etl['baseline']['dense_matrix_mb']:.0f} MB dense "
                     f"({etl['baseline']['matrix_movies']:,} movies) | |")
    lines += ["", "The assignment's functions in-process, p50 (p99 in brackets): ours as a "
              "data-layer call returning the same answer as the baseline's function, and "
              "through the whole GraphQL execution (parse, validate, resolve, serialise):", "",
              "| lookup | ours, data layer | ours, GraphQL | baseline | faster (data layer) "
              "| faster (GraphQL) |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, base in inproc["baseline"].items():
        layer, gql = inproc["data_layer"][name], inproc["ours"][name]
        lines.append(f"| {name} | {layer['p50_ms']:.4f} ({layer['p99_ms']:.4f}) ms | "
                     f"{gql['p50_ms']:.3f} ({gql['p99_ms']:.3f}) ms | {base['p50_ms']:.3f} ms | "
                     f"{_ratio(layer['p50_ms'], base['p50_ms'])} | "
                     f"{_ratio(gql['p50_ms'], base['p50_ms'])} |")
    http = results["http"]
    if "skipped" not in http:
        lines += ["", "HTTP (2 workers, wrk on loopback, closed loop):", "",
                  "| load | connections | requests/s | p50 | p99 | errors |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for label, key in (("ours, small query", ("ours", "small")),
                           ("ours, mix (response cache on)", ("ours", "mix")),
                           ("ours, mix (cache off)", ("ours_nocache", "mix")),
                           ("baseline, same mix", ("baseline", "mix"))):
            for run_ in http[key[0]][key[1]]:
                lines.append(f"| {label} | {run_['connections']} | {run_['rps']:,.0f} | "
                             f"{run_['p50_ms']:.2f} ms | {run_['p99_ms']:.2f} ms | "
                             f"{run_['errors']} |")
    bare = results.get("cached_vs_bare", {})
    if bare and "skipped" not in bare:
        lines += ["", "A repeated identical query from our response cache against a bare "
                  "Starlette endpoint returning a fixed body (2 workers each):", "",
                  "| server | connections | requests/s | p50 | p99 |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for label in ("ours_cached", "bare_starlette"):
            for run_ in bare[label]:
                lines.append(f"| {label.replace('_', ' ')} | {run_['connections']} | "
                             f"{run_['rps']:,.0f} | {run_['p50_ms']:.2f} ms | "
                             f"{run_['p99_ms']:.2f} ms |")
    return "\n".join(lines) + "\n"
