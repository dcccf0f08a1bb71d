"""How well search finds what people mean, measured on a build's own titles and names.

The evaluation set is generated from the build (seeded, so the same build and seed give the
same queries): the ``MOVIES`` most-voted movies and the ``PEOPLE`` most-credited people (acting
plus directing credits), each written the ways people mistype them:

* ``one typo`` / ``two typos``: one or two random edits (insert, delete, substitute or
  transpose a letter) anywhere in the text. As in Typesense's defaults, a text gets one typo
  from 4 letters and two from 7: a two-letter title with a typo is another word, not a typo;
* ``surname typo`` (people): one edit in the last word, when it has 4 letters or more;
* ``no accents`` (texts with accents), ``lower case``;
* ``prefix`` (movies of two words or more, a leading article aside): the leading 60% of the
  words, rounded, at least one and fewer than all, with the article ("toy" for Toy Story,
  "the dark" for The Dark Knight, "the lord of the rings" for The Lord of the Rings: The
  Return of the King);
* ``no article`` (movies): a title without its leading "The", "A" or "An";

plus ``GIBBERISH`` random strings of 5-12 letters, which should find nothing. A generated query
that is the exact name of another movie (person) is dropped: its right answer is that other
one. A hit counts as correct when it is the intended movie (person) or one with the same
title (name) in search form: nothing in the query can tell namesakes apart.

Queries go through the GraphQL API (``searchMovies`` / ``searchPeople``), as a client sees it.
Run ``movies evaluate --search [--data BUILD] [--markdown]``.
"""

from __future__ import annotations

import random
import string
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from rich.table import Table

from data.search import search_form

MOVIES = 500
PEOPLE = 300
GIBBERISH = 50
TOP = 5
ONE_TYPO_FROM = 4  # letters
TWO_TYPOS_FROM = 7
PREFIX_SHARE = 0.6
ARTICLES = ("the ", "a ", "an ")

# name, entity, kind, measure (top1 / top5 / nothing), lowest acceptable value
GOALS = (
    ("one typo, top 1", "movies", "one typo", "top1", 0.98),
    ("one typo, top 1", "people", "one typo", "top1", 0.98),
    ("two typos, top 5", "movies", "two typos", "top5", 0.95),
    ("two typos, top 5", "people", "two typos", "top5", 0.95),
    ("prefix, top 5", "movies", "prefix", "top5", 0.95),
    ("misspelt surname, top 1", "people", "surname typo", "top1", 0.98),
    ("gibberish finds nothing", "movies", "gibberish", "nothing", 0.95),
    ("gibberish finds nothing", "people", "gibberish", "nothing", 0.95),
)

MOVIE_QUERY = """query($q: String!, $n: Int!) {
  searchMovies(query: $q, first: $n) { score movie { tmdbId } } }"""
PEOPLE_QUERY = """query($q: String!, $n: Int!) {
  searchPeople(query: $q, first: $n) { score person { tmdbId } } }"""


@dataclass(frozen=True)
class Case:
    entity: str  # movies | people
    kind: str
    query: str
    intended: int  # TMDB id; 0 for gibberish
    accepted: frozenset[int]  # ids counted as correct (the intended one and its namesakes)


@dataclass
class Result:
    entity: str
    kind: str
    n: int = 0
    top1: int = 0
    top5: int = 0
    nothing: int = 0
    misses: list[str] = field(default_factory=list)  # queries whose intended answer was not top 1

    def rate(self, measure: str) -> float:
        return getattr(self, measure) / self.n if self.n else float("nan")


# --- typos -----------------------------------------------------------------------------------


def _letters(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if ch.isalnum()]


def typo(text: str, rng: random.Random, within: tuple[int, int] | None = None) -> str:
    """One random edit of a letter of ``text`` (in ``within``, a [start, end) span, if given):
    insert, delete, substitute or transpose with its neighbour."""
    lo, hi = within or (0, len(text))
    positions = [i for i in _letters(text) if lo <= i < hi]
    if not positions:
        return text
    kind = rng.choice(("insert", "delete", "substitute", "transpose"))
    i = rng.choice(positions)
    letter = rng.choice(string.ascii_lowercase)
    if kind == "insert":
        return text[:i] + letter + text[i:]
    if kind == "delete":
        return text[:i] + text[i + 1 :]
    if kind == "substitute":
        while letter == text[i].lower():
            letter = rng.choice(string.ascii_lowercase)
        return text[:i] + letter + text[i + 1 :]
    j = i + 1 if i + 1 < hi and i + 1 < len(text) else i - 1
    if j < lo or text[i] == text[j]:
        return typo(text, rng, within)
    a, b = sorted((i, j))
    return text[:a] + text[b] + text[a] + text[b + 1 :]


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    )


def _letter_count(text: str) -> int:
    return len(_letters(text))


def variants(text: str, rng: random.Random, entity: str) -> list[tuple[str, str]]:
    """(kind, query) pairs for one title or name."""
    out: list[tuple[str, str]] = []
    letters = _letter_count(text)
    if letters >= ONE_TYPO_FROM:
        out.append(("one typo", typo(text, rng)))
    if letters >= TWO_TYPOS_FROM:
        once = typo(text, rng)
        twice = typo(once, rng)
        if search_form(twice) != search_form(text) and search_form(once) != search_form(text):
            out.append(("two typos", twice))
    if strip_accents(text) != text:
        out.append(("no accents", strip_accents(text)))
    out.append(("lower case", text.lower()))
    words = text.split()
    if entity == "people":
        last = text.rfind(" ") + 1
        if last > 0 and _letter_count(text[last:]) >= ONE_TYPO_FROM:
            out.append(("surname typo", typo(text, rng, (last, len(text)))))
        return out
    # The prefix counts content words: "The" alone is no prefix of The Matrix.
    lead = 1 if words and f"{words[0].lower()} " in ARTICLES else 0
    content = len(words) - lead
    if content >= 2:
        keep = min(content - 1, max(1, round(PREFIX_SHARE * content)))
        out.append(("prefix", " ".join(words[: lead + keep])))
    lowered = text.lower()
    for article in ARTICLES:
        if lowered.startswith(article) and len(text) > len(article):
            out.append(("no article", text[len(article) :]))
            break
    return out


def gibberish(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(5, 12)))
            for _ in range(count)]


# --- the set ---------------------------------------------------------------------------------


def _most_voted(build: Path, count: int) -> pl.DataFrame:
    movies = pl.read_parquet(build / "movies.parquet", columns=["id", "title", "vote_count"])
    return movies.sort(["vote_count", "id"], descending=[True, False]).head(count)


def _most_credited(build: Path, count: int) -> pl.DataFrame:
    cast = pl.read_parquet(build / "cast.parquet", columns=["person_id"])
    crew = pl.read_parquet(build / "crew.parquet", columns=["person_id", "job"])
    credits = pl.concat([cast, crew.filter(pl.col("job") == "Director").select("person_id")])
    counts = credits.group_by("person_id").len("credits")
    people = pl.read_parquet(build / "people.parquet", columns=["id", "name"])
    return (
        people.join(counts, left_on="id", right_on="person_id")
        .sort(["credits", "id"], descending=[True, False])
        .head(count)
        .select("id", "name")
    )


def _forms(build: Path, table: str, column: str, ids: pl.Series | None = None
           ) -> dict[str, set[int]]:
    """search form -> ids having it (every movie / every credited person)."""
    frame = pl.read_parquet(build / f"{table}.parquet", columns=["id", column])
    if ids is not None:
        frame = frame.filter(pl.col("id").is_in(ids.implode()))
    forms: dict[str, set[int]] = defaultdict(set)
    for ident, text in frame.iter_rows():
        forms[search_form(text)].add(ident)
    return forms


def cases(build: Path, seed: int = 0, movies: int = MOVIES, people: int = PEOPLE) -> list[Case]:
    """The evaluation set of a build: same build and seed, same cases."""
    rng = random.Random(seed)
    out: list[Case] = []
    credited = pl.concat([
        pl.read_parquet(build / "cast.parquet", columns=["person_id"]),
        pl.read_parquet(build / "crew.parquet", columns=["person_id"]),
    ])["person_id"].unique()
    sources = (
        ("movies", _most_voted(build, movies), _forms(build, "movies", "title")),
        ("people", _most_credited(build, people), _forms(build, "people", "name", credited)),
    )
    for entity, top, forms in sources:
        for ident, text in top.select("id", top.columns[1]).iter_rows():
            accepted = frozenset(forms[search_form(text)])
            for kind, query in variants(text, rng, entity):
                taken = forms.get(search_form(query), set())
                if (taken and not taken & accepted) or not search_form(query):
                    continue  # another movie's (person's) exact name: not a typo of this one
                out.append(Case(entity, kind, query, ident, accepted))
    for entity in ("movies", "people"):
        for query in gibberish(rng, GIBBERISH):
            out.append(Case(entity, "gibberish", query, 0, frozenset()))
    return out


# --- running it ------------------------------------------------------------------------------

Search = Callable[[str, str], list[int]]  # (entity, query) -> ids, best first


def graphql_search(catalog: Any) -> Search:
    """Searches through the GraphQL schema over a loaded ``data.catalog.Catalog``."""
    from schema import build_schema

    schema = build_schema()
    context = {"catalog": catalog}

    def search(entity: str, query: str) -> list[int]:
        document, root, item = ((MOVIE_QUERY, "searchMovies", "movie") if entity == "movies"
                                else (PEOPLE_QUERY, "searchPeople", "person"))
        result = schema.execute_sync(document, variable_values={"q": query, "n": TOP},
                                     context_value=context)
        if result.errors:
            raise RuntimeError(f"{query!r}: {result.errors[0].message}")
        assert result.data is not None
        return [hit[item]["tmdbId"] for hit in result.data[root]]

    return search


def run(search: Search, evaluation: list[Case]) -> list[Result]:
    results: dict[tuple[str, str], Result] = {}
    for case in evaluation:
        result = results.setdefault((case.entity, case.kind), Result(case.entity, case.kind))
        found = search(case.entity, case.query)
        result.n += 1
        result.nothing += not found
        if case.kind == "gibberish":
            if found:
                result.misses.append(case.query)
            continue
        result.top1 += bool(found) and found[0] in case.accepted
        result.top5 += any(ident in case.accepted for ident in found[:TOP])
        if not found or found[0] not in case.accepted:
            result.misses.append(case.query)
    return sorted(results.values(), key=lambda r: (r.entity, _KIND_ORDER.get(r.kind, 99)))


_KIND_ORDER = {kind: i for i, kind in enumerate((
    "one typo", "two typos", "surname typo", "no accents", "lower case", "prefix",
    "no article", "gibberish"))}


def goals(results: list[Result]) -> list[dict[str, Any]]:
    by = {(r.entity, r.kind): r for r in results}
    out = []
    for name, entity, kind, measure, target in GOALS:
        result = by.get((entity, kind))
        value = result.rate(measure) if result else float("nan")
        out.append({"goal": f"{entity}: {name}", "value": value, "target": target,
                    "met": value >= target})
    return out


def evaluate(build: Path, seed: int = 0) -> dict[str, Any]:
    from data.catalog import Catalog

    build = Path(build)
    evaluation = cases(build, seed)
    results = run(graphql_search(Catalog.load(build)), evaluation)
    return {"build": str(build.resolve()), "seed": seed, "results": results,
            "goals": goals(results)}


def _fmt(value: float) -> str:
    return "-" if value != value else f"{value:.3f}"


def markdown(report: dict[str, Any]) -> str:
    lines = ["| entity | kind | queries | top 1 | top 5 | nothing found |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for r in report["results"]:
        top1, top5 = ("-", "-") if r.kind == "gibberish" else (_fmt(r.rate("top1")),
                                                               _fmt(r.rate("top5")))
        lines.append(f"| {r.entity} | {r.kind} | {r.n} | {top1} | {top5} | "
                     f"{_fmt(r.rate('nothing'))} |")
    lines += ["", "| goal | value | target | met |", "| --- | ---: | ---: | --- |"]
    for g in report["goals"]:
        lines.append(f"| {g['goal']} | {_fmt(g['value'])} | {g['target']:.2f} | "
                     f"{'yes' if g['met'] else 'no'} |")
    return "\n".join(lines) + "\n"


def render(report: dict[str, Any]) -> Table:
    table = Table(title=f"Search quality (seed {report['seed']}): top-k accuracy per kind")
    for column in ("entity", "kind", "queries", "top 1", "top 5", "nothing found"):
        table.add_column(column, justify="left" if column in ("entity", "kind") else "right")
    for r in report["results"]:
        gib = r.kind == "gibberish"
        table.add_row(r.entity, r.kind, str(r.n), "-" if gib else _fmt(r.rate("top1")),
                      "-" if gib else _fmt(r.rate("top5")), _fmt(r.rate("nothing")))
    for g in report["goals"]:
        mark = "[green]met[/]" if g["met"] else "[red]not met[/]"
        table.add_section()
        table.add_row("goal", g["goal"], "", _fmt(g["value"]), f">= {g['target']:.2f}", mark)
    return table
