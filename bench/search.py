"""Search latency on a build: ``searchMovies`` and ``searchPeople``, in-process.

    uv run movies bench --search --scale 1 [--data BUILD] [--repeats 3] [--out DIR]
    uv run python -m bench.search --data BUILD [--repeats 5] [--movies 200] [--people 200]
        [--previous 20] [--json out.json]

``movies bench --search`` is the bench section: it times the build at ``--data`` (else the
synthetic twin at ``--scale``, or the sample, built once into ``OUT/search-<scale>/build``
and reused) in ``--repeats`` fresh processes and reports the median over them of each
figure, as the other sections do; it writes ``OUT/search.json`` and ``OUT/search.md``.
``python -m bench.search`` is one such process.

The queries are the search evaluation's own (``evaluation.search.cases``: one and two typos,
prefixes, missing accents, lower case, no article, gibberish) over the most-voted movies and
most-credited people of the build. Each query is timed ``repeats`` times and its median kept;
the table gives p50/p90/p99 over queries of

* ``data layer``: ``data.lookups.search_movies`` / ``search_people`` (what the resolvers call);
* ``GraphQL``: the whole execution of a ``searchMovies`` / ``searchPeople`` query (parse,
  validate, resolve), through the server's schema and extensions, as ``bench.suite`` does;
* ``previous``: the approach this search replaced, on the first ``previous`` queries only
  (it scans every key): rapidfuzz ``process.extract`` with ``WRatio`` over every key (the
  ratio column is previous / ours).

Wall time and CPU time (``thread_time``) are both reported: on a shared machine the wall time
includes waiting for a core, the CPU time does not. The load average at start is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from bench import measure
from bench.suite import Step, prepare_inputs
from data.text import fold
from evaluation import search as evaluation

MOVIES_QUERY = "query($q: String!) { searchMovies(query: $q, first: 10) { score movie { title } } }"
PEOPLE_QUERY = "query($q: String!) { searchPeople(query: $q, first: 10) { score person { name } } }"

# The bench section: per fresh process, the 100 most-voted movies and most-credited people
# (about 340 and 440 queries at scale 1), each query timed 3 times; the previous approach on
# the first 5 only (it scans every key: 0.1-0.3 s of CPU a query at scale 1).
SECTION = {"repeats": 3, "movies": 100, "people": 100, "previous": 5}


def _time(call: Callable[[], object], repeats: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.thread_time()
        call()
        cpus.append(time.thread_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return statistics.median(walls) * 1e3, statistics.median(cpus) * 1e3


def _percentiles(values: list[float]) -> dict[str, float]:
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {"p50": float(p50), "p90": float(p90), "p99": float(p99)}


def _previous_choices(build: Path) -> tuple[list[str], list[str]]:
    """The previous search's choice lists: distinct folded titles, and folded names of
    people with a cast or directing credit."""
    import polars as pl

    titles = pl.read_parquet(build / "movies.parquet", columns=["title_key"])["title_key"]
    cast = pl.read_parquet(build / "cast.parquet", columns=["person_id"])
    crew = pl.read_parquet(build / "crew.parquet", columns=["person_id", "job"])
    credited = pl.concat([cast, crew.filter(pl.col("job") == "Director").select("person_id")])
    people = pl.read_parquet(build / "people.parquet", columns=["id", "name_key"])
    names = people.filter(pl.col("id").is_in(credited["person_id"].implode()))["name_key"]
    return titles.unique(maintain_order=True).to_list(), names.unique(maintain_order=True).to_list()


def run(build: Path, repeats: int = 5, seed: int = 0, movies: int = 200, people: int = 200,
        previous: int = 20) -> dict[str, Any]:
    """The timings in this process."""
    from data import lookups
    from data.catalog import Catalog
    from server.app import create_app
    from server.settings import Settings

    load_average = os.getloadavg()[0]
    started = time.perf_counter()
    catalog = Catalog.load(build)
    load_s = time.perf_counter() - started
    cases = evaluation.cases(build, seed, movies=movies, people=people)
    # The server's own schema (its parser and validation caches, limits), as bench.suite does.
    schema = create_app(Settings(data=build, log_json=True), catalog).state.endpoint.schema
    context = {"catalog": catalog}
    title_keys, people_keys = _previous_choices(build)

    def graphql(document: str, q: str) -> Callable[[], object]:
        def call() -> object:
            result = schema.execute_sync(document, variable_values={"q": q},
                                         context_value=context)
            assert not result.errors, result.errors
            return result
        return call

    calls: dict[str, dict[str, Callable[[str], Callable[[], object]]]] = {
        "movies": {
            "data layer": lambda q: lambda: lookups.search_movies(catalog, q, 10),
            "GraphQL": lambda q: graphql(MOVIES_QUERY, q),
            "previous": lambda q: lambda: process.extract(
                fold(q), title_keys, scorer=fuzz.WRatio, limit=10, score_cutoff=50),
        },
        "people": {
            "data layer": lambda q: lambda: lookups.search_people(catalog, q, None, 10),
            "GraphQL": lambda q: graphql(PEOPLE_QUERY, q),
            "previous": lambda q: lambda: process.extract(
                fold(q), people_keys, scorer=fuzz.WRatio, limit=10, score_cutoff=50),
        },
    }
    results: dict[str, Any] = {
        "build": str(build), "load_average": load_average, "catalog_load_s": load_s,
        "repeats": repeats, "keys": {"movies": catalog.title_search.size,
                                     "people": catalog.people_search.size},
        "index_mb": {
            "movies": sum(a.nbytes for a in vars(catalog.title_search).values()
                          if isinstance(a, np.ndarray)) / 1e6,
            "people": sum(a.nbytes for a in vars(catalog.people_search).values()
                          if isinstance(a, np.ndarray)) / 1e6,
        },
        "timings": {},
    }
    for entity, sides in calls.items():
        every = [c.query for c in cases if c.entity == entity]
        for side, make in sides.items():
            queries = every[:previous] if side == "previous" else every
            if not queries:
                continue
            for q in queries[:20]:  # warm caches (parser, validation, pages)
                make(q)()
            measured = [_time(make(q), repeats) for q in queries]
            results["timings"][f"{entity} / {side}"] = {
                "queries": len(queries),
                "wall": _percentiles([w for w, _ in measured]),
                "cpu": _percentiles([c for _, c in measured]),
            }
    return results


_ONCE = """
    import json
    from pathlib import Path
    from bench import search
    from server.stack import roomy  # as the server's execution threads run
    print(json.dumps(roomy(lambda: search.run(Path({build!r}), **json.loads({kwargs!r})))))
"""


def once(build: Path, **kwargs: Any) -> dict[str, Any]:
    """``run`` in a fresh process."""
    code = _ONCE.format(build=str(build.resolve()), kwargs=json.dumps(kwargs))
    result = measure.run_measured(measure.python_snippet(code))
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def section(scale: float | None, out: Path, data: Path | None, processes: int, seed: int,
            step: Step) -> dict[str, Any]:
    """The bench section: ``run`` in ``processes`` fresh processes, the median of each
    figure. Times the build ``data``, else builds the sample (``scale`` None) or the
    synthetic twin once into ``OUT/search-<scale>/build`` and reuses it."""
    from bench import targets

    if data is None:
        inputs = prepare_inputs(scale, seed, out, step)
        label = "sample" if scale is None else f"{scale:g}"
        data = targets.build(targets.ours(), inputs, out / f"search-{label}" / "build", step)
        what = "sample" if scale is None else f"synthetic x{scale:g}"
    else:
        what = f"build {data}"
    machine = measure.machine()
    runs = []
    for i in range(processes):
        step(f"search: timing {data} in a fresh process ({i + 1}/{processes})")
        runs.append(once(data, seed=seed, **SECTION))
    first = runs[0]
    timings = {
        name: {"queries": t["queries"],
               **{clock: {p: _median([r["timings"][name][clock][p] for r in runs])
                          for p in ("p50", "p90", "p99")} for clock in ("wall", "cpu")}}
        for name, t in first["timings"].items()
    }
    return {
        "machine": machine, "data": what, "build": str(data.resolve()),
        "processes": processes, "repeats": SECTION["repeats"],
        "load_average": machine["load_average"][0],
        "load_average_end": round(os.getloadavg()[0], 2),
        "catalog_load_s": _median([r["catalog_load_s"] for r in runs]),
        "keys": first["keys"], "index_mb": first["index_mb"], "timings": timings,
        "runs": [r["timings"] for r in runs],
    }


def markdown(results: dict[str, Any]) -> str:
    over = (f"medians over {results['processes']} fresh processes of each figure, "
            if "processes" in results else "")
    lines = [
        f"Build {results['build']}: {results['keys']['movies']:,} title keys "
        f"({results['index_mb']['movies']:.1f} MB of arrays), {results['keys']['people']:,} "
        f"name keys ({results['index_mb']['people']:.1f} MB). Load average at start "
        f"{results['load_average']:.2f}; {over}median of {results['repeats']} runs per query.",
        "",
        "| search / side | queries | p50 wall | p90 wall | p99 wall | p50 CPU | p99 CPU | "
        "previous / ours (p50 CPU) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    timings = results["timings"]
    for name, t in timings.items():
        previous = timings.get(f"{name.split(' / ')[0]} / previous")
        ratio = f"{previous['cpu']['p50'] / t['cpu']['p50']:.1f}x" if previous else "-"
        lines.append(
            f"| {name} | {t['queries']} | {t['wall']['p50']:.2f} ms | {t['wall']['p90']:.2f} ms"
            f" | {t['wall']['p99']:.2f} ms | {t['cpu']['p50']:.2f} ms | {t['cpu']['p99']:.2f} ms"
            f" | {ratio} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="build directory")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--movies", type=int, default=200, help="most-voted movies queried")
    parser.add_argument("--people", type=int, default=200, help="most-credited people queried")
    parser.add_argument("--previous", type=int, default=20,
                        help="queries the previous approach is timed on")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = run(args.data, args.repeats, args.seed, args.movies, args.people,
                  args.previous)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(markdown(results))


if __name__ == "__main__":
    main()
