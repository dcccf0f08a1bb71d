"""Seconds per cost unit, field by field: does the query cost track the work it prices?

Each case is one query of ``ALIASES`` aliased calls of a field (different arguments per
alias, so nothing is answered from a memo), executed in-process on a loaded build through the
real schema with the real limits (cost limit lifted). The cost is the one ``server.limits``
charges; the time is the median over ``--repeats`` runs. A cost model that matches the work
keeps seconds per unit within a small factor of the plain nested lists'.

    uv run python -m bench.cost [--data data/build] [--repeats 7] [--json out.json]

Prints a Markdown table; ``suggested weight`` is the per-call weight that would bring a
field to the plain lists' median seconds per unit (``server.limits.FIELD_WEIGHTS``).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
from graphql import parse

import schema as graphql_schema
from data.catalog import Catalog
from data.paths import DEFAULT_BUILD
from server import limits
from server.stack import roomy

ALIASES = 10
PHRASES = (
    "space opera with rebels", "a toy cowboy and a space ranger", "heist in las vegas",
    "haunted house on a hill", "love story in paris", "detective hunts a serial killer",
    "talking animals on a farm", "war in the pacific", "robot learns to love",
    "high school football team", "vampire in new york", "pirates and buried treasure",
)


@dataclass(frozen=True)
class Result:
    case: str
    field: str | None  # the weighted field it measures, None for a plain list
    cost: int
    median_ms: float
    us_per_unit: float
    ratio: float = 0.0  # us_per_unit / the plain lists' median
    suggested_weight: int | None = None


def _aliased(template: Callable[[int], str]) -> str:
    return "{ " + " ".join(f"a{i}: {template(i)}" for i in range(ALIASES)) + " }"


def cases(run: Callable[[str], dict[str, Any]]) -> dict[str, tuple[str | None, list[str]]]:
    """Case name -> (weighted field, one query text per repeat)."""
    top = run("{ movies(first: 100, sort: VOTE_COUNT) { nodes { tmdbId title "
              "cast(first: 2) { nodes { actor { name } } } } } }")["movies"]["nodes"]
    titles = [m["title"] for m in top]
    ids = [m["tmdbId"] for m in top]
    names = [c["actor"]["name"] for m in top for c in m["cast"]["nodes"]]

    def rotating(offset: int, values: list[str], i: int) -> str:
        return values[(offset * ALIASES + i) % len(values)]

    def per_repeat(make: Callable[[int], str]) -> list[str]:
        return [make(r) for r in range(64)]

    def q(value: str) -> str:
        return orjson.dumps(value).decode()

    def plain_cast(r: int) -> str:
        return (f"{{ movies(first: {90 + r % 10}) {{ nodes {{ title cast(first: 10) "
                "{ nodes { character actor { name } } } } } }")

    def plain_genres(r: int) -> str:
        return (f"{{ movies(first: {90 + r % 10}, sort: VOTE_COUNT) {{ nodes {{ title "
                "genres { name } keywords { name } } } }")

    def plain_actor(r: int) -> str:
        return _aliased(lambda i: (
            f"actor(name: {q(rotating(r, names, i))}) {{ movies(first: 20) {{ nodes {{ "
            "title cast(first: 5) { nodes { actor { name } } } } } }"))

    def search_movies(r: int) -> str:
        return _aliased(lambda i: (
            f"searchMovies(query: {q(rotating(r, titles, i)[:8])}, first: 10) "
            "{ score movie { title } }"))

    def search_people(r: int) -> str:
        return _aliased(lambda i: (
            f"searchPeople(query: {q(rotating(r, names, i)[:8])}, first: 10) "
            "{ score person { name } }"))

    def recommendations(r: int) -> str:
        return _aliased(lambda i: (
            f"recommendations(title: {q(rotating(r, titles, i))}, n: 5) "
            "{ score movie { title } }"))

    def movies_like(r: int) -> str:
        return _aliased(lambda i: (
            f"moviesLike(text: {q(rotating(r, list(PHRASES), i) + ' ' + str(r))}, n: 5) "
            "{ score movie { title } }"))

    def similar(r: int) -> str:
        return _aliased(lambda i: (
            f"movie(id: {ids[(r * ALIASES + i) % len(ids)]}) "
            "{ similar(n: 5) { score movie { title } } }"))

    return {
        "plain: movies -> cast -> actor": (None, per_repeat(plain_cast)),
        "plain: movies -> genres, keywords": (None, per_repeat(plain_genres)),
        "plain: actor -> movies -> cast": (None, per_repeat(plain_actor)),
        "searchMovies": ("searchMovies", per_repeat(search_movies)),
        "searchPeople": ("searchPeople", per_repeat(search_people)),
        "recommendations": ("recommendations", per_repeat(recommendations)),
        "moviesLike": ("moviesLike", per_repeat(movies_like)),
        "similar": ("similar", per_repeat(similar)),
    }


def measure(data: Path, repeats: int) -> list[Result]:
    catalog = Catalog.load(data)
    schema = graphql_schema.build_schema(limits.extensions(
        max_depth=64, max_aliases=10_000, max_tokens=100_000, max_cost=limits.COST_CEILING,
        introspection=True,
    ))
    context = {"catalog": catalog}

    def run(query: str) -> dict[str, Any]:
        result = schema.execute_sync(query, context_value=context)
        if result.errors:
            raise RuntimeError(f"{query[:120]}: {result.errors[0].message}")
        assert result.data is not None
        return result.data

    results: list[Result] = []
    gc.collect()
    for name, (field, queries) in cases(run).items():
        run(queries[-1])  # warm: the recommender loads its index lazily
        costs, times = [], []
        for query in queries[:repeats]:
            costs.append(limits.query_cost(schema._schema, parse(query), None, {}))
            start = time.perf_counter()
            run(query)
            times.append(time.perf_counter() - start)
        cost = int(statistics.median(costs))
        seconds = statistics.median(times)
        results.append(Result(name, field, cost, round(seconds * 1000, 3),
                              round(seconds / cost * 1e6, 3)))
    plain = statistics.median(r.us_per_unit for r in results if r.field is None)
    weighted = {field: weight for (_type, field), weight in limits.FIELD_WEIGHTS.items()}
    final = []
    for r in results:
        suggested = None
        if r.field is not None:
            # Per call: the time it took beyond what its nodes would take at the plain rate,
            # in plain units, i.e. the weight that would make its rate the plain one.
            nodes = r.cost - 1 - ALIASES * weighted[r.field]
            suggested = max(0, round((r.median_ms * 1000 / plain - nodes) / ALIASES))
        final.append(Result(r.case, r.field, r.cost, r.median_ms, r.us_per_unit,
                            round(r.us_per_unit / plain, 2), suggested))
    return final


def markdown(results: list[Result]) -> str:
    lines = ["| case | cost | median ms | µs per unit | / plain | weight now | suggested |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    weights = {field: w for (_t, field), w in limits.FIELD_WEIGHTS.items()}
    for r in results:
        now = "" if r.field is None else str(weights[r.field])
        suggested = "" if r.suggested_weight is None else str(r.suggested_weight)
        lines.append(f"| {r.case} | {r.cost:,} | {r.median_ms:.1f} | {r.us_per_unit:.2f} | "
                     f"{r.ratio:.2f} | {now} | {suggested} |")
    ratios = [r.ratio for r in results]
    lines.append("")
    lines.append(f"spread (max / min seconds per unit): {max(ratios) / min(ratios):.1f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_BUILD)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not (args.data / "manifest.json").is_file():
        print(f"no build at {args.data}: run `uv run movies etl` first", file=sys.stderr)
        return 2
    # With room on the frame stack, as the server's execution threads run (server/stack.py).
    results = roomy(measure, args.data, max(1, min(args.repeats, 64)))
    print(markdown(results))
    if args.json is not None:
        args.json.write_bytes(orjson.dumps([asdict(r) for r in results],
                                           option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
