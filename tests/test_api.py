"""The GraphQL API over HTTP, checked against facts computed here from the raw sample CSVs.

Every expected value below is derived independently of ``data/`` and ``etl/``: the raw files
in ``data/sample`` are read with the csv module and ``ast.literal_eval`` and the assignment's
rules (drop rows with no release date, keep the first row of a duplicated id, return =
revenue / budget or 0, cast credits only for actors, job "Director" for directors) are applied
here, so the API is held to the assignment, not to its own output.
"""

from __future__ import annotations

import ast
import base64
import csv
import datetime as dt
import functools
import gzip
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from schema.errors import CODES

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


# --- independent facts from the raw sample ---------------------------------------------------


@functools.cache
def _read(name: str) -> list[dict[str, str]]:
    """The raw rows of a sample file (cached: callers must not mutate them)."""
    with gzip.open(SAMPLE / f"{name}.csv.gz", "rt", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(bare.lower().split())


def _number(value: str) -> float:
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0


@dataclass
class Raw:
    movies: dict[int, dict[str, str]] = field(default_factory=dict)  # kept rows by id
    dates: dict[int, dt.date] = field(default_factory=dict)
    returns: dict[int, float] = field(default_factory=dict)
    cast: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))  # person -> movies
    directed: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    names: dict[int, str] = field(default_factory=dict)
    people: set[int] = field(default_factory=set)
    by_title: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def votes(self, movie_id: int) -> int:
        return int(_number(self.movies[movie_id]["vote_count"]))

    def unique_title(self, movie_id: int) -> bool:
        return len(self.by_title[_fold(self.movies[movie_id]["title"])]) == 1

    def person(self, name: str) -> int:
        (pid,) = {p for p, n in self.names.items() if n == name}
        return pid


@pytest.fixture(scope="module")
def raw() -> Raw:
    facts = Raw()
    for row in _read("movies_dataset"):
        if not row["release_date"] or not row["id"].isdigit():
            continue
        facts.movies.setdefault(int(row["id"]), row)
    for movie_id, row in facts.movies.items():
        facts.dates[movie_id] = dt.date.fromisoformat(row["release_date"])
        budget, revenue = _number(row["budget"]), _number(row["revenue"])
        facts.returns[movie_id] = revenue / budget if budget > 0 else 0.0
        facts.by_title[_fold(row["title"])].append(movie_id)
    seen: set[int] = set()
    for row in _read("credits"):
        movie_id = int(row["id"])
        if movie_id not in facts.movies or movie_id in seen:
            continue
        seen.add(movie_id)
        for entry in ast.literal_eval(row["cast"]):
            facts.cast[entry["id"]].add(movie_id)
            facts.names.setdefault(entry["id"], entry["name"])
            facts.people.add(entry["id"])
        for entry in ast.literal_eval(row["crew"]):
            if entry["job"] == "Director":
                facts.directed[entry["id"]].add(movie_id)
            facts.names.setdefault(entry["id"], entry["name"])
            facts.people.add(entry["id"])
    return facts


# --- HTTP helpers --------------------------------------------------------------------------


def gql(client: Any, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    return response.json()


def data(client: Any, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = gql(client, query, variables)
    assert not body.get("errors"), body["errors"]
    return body["data"]


def error(client: Any, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = gql(client, query, variables)
    assert body.get("errors"), body
    first = body["errors"][0]
    assert first["extensions"]["code"] in CODES, first
    return first


def code(client: Any, query: str, variables: dict[str, Any] | None = None) -> str:
    return error(client, query, variables)["extensions"]["code"]


# --- 1 and 2: releases by month and weekday -------------------------------------------------

MONTH = "query($m: String!) { releasesInMonth(month: $m) { number name count sentence } }"
WEEKDAY = "query($d: String!) { releasesOnWeekday(day: $d) { number name count sentence } }"


@pytest.mark.parametrize("month", ["Septiembre", "setiembre", "SEPTIEMBRE", "september", "9",
                                   " septiembre ", "09"])
def test_releases_in_september(client, raw: Raw, month: str) -> None:
    expected = sum(1 for d in raw.dates.values() if d.month == 9)
    assert expected > 0
    got = data(client, MONTH, {"m": month})["releasesInMonth"]
    assert got == {
        "number": 9, "name": "septiembre", "count": expected,
        "sentence": f"{expected} cantidad de películas fueron estrenadas en el mes de septiembre",
    }


def test_releases_in_january(client, raw: Raw) -> None:
    expected = sum(1 for d in raw.dates.values() if d.month == 1)
    got = data(client, MONTH, {"m": "enero"})["releasesInMonth"]
    assert (got["number"], got["count"]) == (1, expected)
    sentence = f"{expected} cantidad de películas fueron estrenadas en el mes de enero"
    assert got["sentence"] == sentence


def test_month_counts_add_up(client, raw: Raw) -> None:
    counts = [data(client, MONTH, {"m": str(m)})["releasesInMonth"]["count"] for m in range(1, 13)]
    assert sum(counts) == len(raw.movies)


@pytest.mark.parametrize(("day", "iso", "name"), [
    ("miércoles", 3, "miércoles"), ("miercoles", 3, "miércoles"), ("Wednesday", 3, "miércoles"),
    ("3", 3, "miércoles"), ("MIÉRCOLES", 3, "miércoles"),
    ("sábado", 6, "sábado"), ("sabado", 6, "sábado"), ("saturday", 6, "sábado"),
    ("lunes", 1, "lunes"), ("7", 7, "domingo"),
])
def test_releases_on_weekday(client, raw: Raw, day: str, iso: int, name: str) -> None:
    expected = sum(1 for d in raw.dates.values() if d.isoweekday() == iso)
    got = data(client, WEEKDAY, {"d": day})["releasesOnWeekday"]
    assert (got["number"], got["name"], got["count"]) == (iso, name, expected)
    assert got["sentence"].startswith(f"{expected} cantidad de películas")
    assert got["sentence"].endswith(name)


@pytest.mark.parametrize("month", ["frebrero", "13", "0", "", "   ", "-1", "x" * 500])
def test_bad_month(client, month: str) -> None:
    assert code(client, MONTH, {"m": month}) == "BAD_USER_INPUT"


def test_bad_month_suggests(client) -> None:
    err = error(client, MONTH, {"m": "frebrero"})
    assert "febrero" in err["extensions"]["suggestions"]


@pytest.mark.parametrize("day", ["miercole", "8", "0", "", "funday"])
def test_bad_weekday(client, day: str) -> None:
    assert code(client, WEEKDAY, {"d": day}) == "BAD_USER_INPUT"


# --- 3 and 4: title score and votes -----------------------------------------------------------

SCORE = """query($t: String!, $y: Int) { titleScore(title: $t, year: $y) {
  title releaseYear popularity sentence ambiguous movie { tmdbId } candidates { tmdbId } } }"""
VOTES = """query($t: String!, $y: Int) { titleVotes(title: $t, year: $y) {
  title releaseYear qualifies voteCount voteAverage message ambiguous
  movie { tmdbId voteCount } candidates { tmdbId } } }"""


def test_title_score_toy_story(client, raw: Raw) -> None:
    toy = raw.movies[862]
    got = data(client, SCORE, {"t": "Toy Story"})["titleScore"]
    assert got["title"] == toy["title"] == "Toy Story"
    assert got["releaseYear"] == raw.dates[862].year == 1995
    assert got["popularity"] == pytest.approx(float(toy["popularity"])) == 21.946943
    assert got["sentence"] == (
        "La película Toy Story fue estrenada en el año 1995 con un score/popularidad de 21.95"
    )
    assert got["ambiguous"] is False
    assert got["movie"]["tmdbId"] == 862
    assert got["candidates"] == [{"tmdbId": 862}]


@pytest.mark.parametrize("title", ["toy story", "TOY STORY", "  Toy   Story ", "Tóy Störy"])
def test_title_lookup_is_case_and_accent_insensitive(client, title: str) -> None:
    assert data(client, SCORE, {"t": title})["titleScore"]["movie"]["tmdbId"] == 862


def test_accented_title_found_without_accents(client, raw: Raw) -> None:
    accented = sorted(
        (mid for mid, row in raw.movies.items()
         if any(unicodedata.category(c) == "Mn" for c in unicodedata.normalize("NFD", row["title"]))
         and raw.unique_title(mid)),
        key=lambda mid: (-raw.votes(mid), mid),
    )
    assert accented, "the sample has accented titles"
    movie_id = accented[0]
    plain = _fold(raw.movies[movie_id]["title"])
    got = data(client, SCORE, {"t": plain})["titleScore"]
    assert got["movie"]["tmdbId"] == movie_id
    assert got["title"] == raw.movies[movie_id]["title"]


def test_title_votes_qualifies(client, raw: Raw) -> None:
    toy = raw.movies[862]
    assert raw.votes(862) == 5415 >= 2000
    got = data(client, VOTES, {"t": "Toy Story"})["titleVotes"]
    assert got["qualifies"] is True
    assert got["voteCount"] == int(toy["vote_count"]) == 5415
    assert got["voteAverage"] == pytest.approx(float(toy["vote_average"])) == 7.7
    assert "5415" in got["message"] and "7.7" in got["message"]
    assert got["releaseYear"] == 1995


def test_title_votes_below_threshold(client, raw: Raw) -> None:
    # The most voted movie under 2000 votes whose title is unique in the sample.
    below = [mid for mid in raw.movies if 0 < raw.votes(mid) < 2000 and raw.unique_title(mid)]
    movie_id = max(below, key=lambda mid: (raw.votes(mid), -mid))
    title = raw.movies[movie_id]["title"]
    got = data(client, VOTES, {"t": title})["titleVotes"]
    assert got["movie"] == {"tmdbId": movie_id, "voteCount": raw.votes(movie_id)}
    assert got["qualifies"] is False
    assert got["voteCount"] is None and got["voteAverage"] is None
    assert "2000" in got["message"] and title in got["message"]


def test_title_votes_at_exactly_the_threshold_boundary(client, raw: Raw) -> None:
    # The least voted movie that still qualifies must report its values.
    above = [mid for mid in raw.movies if raw.votes(mid) >= 2000 and raw.unique_title(mid)]
    movie_id = min(above, key=lambda mid: (raw.votes(mid), mid))
    got = data(client, VOTES, {"t": raw.movies[movie_id]["title"]})["titleVotes"]
    assert got["qualifies"] is True and got["voteCount"] == raw.votes(movie_id)


@pytest.fixture(scope="module")
def shared_title(raw: Raw) -> tuple[str, list[int]]:
    """The title (folded) shared by the most movies in the sample, with their ids."""
    key, ids = max(raw.by_title.items(), key=lambda kv: (len(kv[1]), kv[0]))
    assert len(ids) >= 2
    return key, ids


def test_ambiguous_title_without_year(client, raw: Raw, shared_title) -> None:
    _key, ids = shared_title
    most_voted = max(ids, key=lambda mid: (raw.votes(mid), -mid))
    title = raw.movies[most_voted]["title"]
    for query, root in ((SCORE, "titleScore"), (VOTES, "titleVotes")):
        got = data(client, query, {"t": title})[root]
        assert got["movie"]["tmdbId"] == most_voted
        assert got["ambiguous"] is True
        candidates = [c["tmdbId"] for c in got["candidates"]]
        assert candidates[0] == most_voted
        assert sorted(candidates) == sorted(ids)


def test_ambiguous_title_with_year(client, raw: Raw, shared_title) -> None:
    key, ids = shared_title
    for movie_id in ids:
        year = raw.dates[movie_id].year
        same_year = [m for m in ids if raw.dates[m].year == year]
        if len(same_year) > 1:
            continue
        got = data(client, SCORE, {"t": key, "y": year})["titleScore"]
        assert got["movie"]["tmdbId"] == movie_id
        assert got["releaseYear"] == year
        assert got["candidates"][0]["tmdbId"] == movie_id
        movie = data(client, "query($t: String, $y: Int) { movie(title: $t, year: $y) { tmdbId } }",
                     {"t": key, "y": year})["movie"]
        assert movie["tmdbId"] == movie_id


def test_title_with_wrong_year_is_not_found(client, raw: Raw) -> None:
    err = error(client, SCORE, {"t": "Toy Story", "y": 1800})
    assert err["extensions"]["code"] == "NOT_FOUND"
    assert err["extensions"]["suggestions"] == ["Toy Story (1995)"]


def test_unknown_title_suggests(client) -> None:
    for query in (SCORE, VOTES):
        err = error(client, query, {"t": "Toy Stroy"})
        assert err["extensions"]["code"] == "NOT_FOUND"
        suggestions = err["extensions"]["suggestions"]
        assert "Toy Story (1995)" in suggestions
        assert 1 <= len(suggestions) <= 5


@pytest.mark.parametrize("title", ["", "   ", "y" * 201])
def test_bad_title(client, title: str) -> None:
    assert code(client, SCORE, {"t": title}) == "BAD_USER_INPUT"


# --- 5: actor ------------------------------------------------------------------------------

ACTOR = """query($n: String, $id: Int) { actor(name: $n, id: $id) {
  id tmdbId name filmCount totalReturn averageReturn sentence namesakes { tmdbId }
  asDirector { tmdbId } asPerson { tmdbId }
  movies(first: 100) { totalCount nodes { tmdbId return releaseDate } } } }"""


def test_actor_tom_hanks(client, raw: Raw) -> None:
    pid = raw.person("Tom Hanks")
    assert pid == 31
    films = raw.cast[pid]
    total = sum(raw.returns[m] for m in films)
    got = data(client, ACTOR, {"n": "Tom Hanks"})["actor"]
    assert got["tmdbId"] == 31 and got["name"] == "Tom Hanks"
    assert got["filmCount"] == len(films) == got["movies"]["totalCount"]
    assert {m["tmdbId"] for m in got["movies"]["nodes"]} == films
    assert got["totalReturn"] == pytest.approx(total)
    assert got["averageReturn"] == pytest.approx(total / len(films))
    assert got["sentence"] == (
        f"El actor Tom Hanks ha participado de {len(films)} cantidad de filmaciones, el mismo ha "
        f"conseguido un retorno de {total:.2f} con un promedio de {total / len(films):.2f} por "
        "filmación"
    )
    dates = [m["releaseDate"] for m in got["movies"]["nodes"]]
    assert dates == sorted(dates)
    assert got["asPerson"] == {"tmdbId": 31}
    assert (got["asDirector"] is None) == (pid not in raw.directed)
    assert got["namesakes"] == []


def test_actor_by_id_matches_by_name(client) -> None:
    by_name = data(client, ACTOR, {"n": "tom hanks"})["actor"]
    by_id = data(client, ACTOR, {"id": 31})["actor"]
    assert by_id == by_name


def test_actor_counts_cast_credits_only(client, raw: Raw) -> None:
    # Someone who both acts and directs, and directed films they did not act in.
    both = [p for p in raw.directed if raw.cast.get(p) and raw.directed[p] - raw.cast[p]]
    assert both
    pid = max(both, key=lambda p: (len(raw.directed[p] - raw.cast[p]), -p))
    acted, directed = raw.cast[pid], raw.directed[pid]
    got = data(client, ACTOR, {"id": pid})["actor"]
    assert got["filmCount"] == len(acted)
    assert {m["tmdbId"] for m in got["movies"]["nodes"]} == acted
    assert not {m["tmdbId"] for m in got["movies"]["nodes"]} & (directed - acted)
    assert got["totalReturn"] == pytest.approx(sum(raw.returns[m] for m in acted))
    assert got["asDirector"] == {"tmdbId": pid}
    director = data(client, "query($id: Int) { director(id: $id) { filmCount "
                            "movies(first: 100) { nodes { tmdbId } } } }", {"id": pid})["director"]
    assert director["filmCount"] == len(directed)
    assert {m["tmdbId"] for m in director["movies"]["nodes"]} == directed


def test_director_only_person_is_not_an_actor(client, raw: Raw) -> None:
    only = sorted(p for p in raw.directed if not raw.cast.get(p))
    assert only
    assert code(client, ACTOR, {"id": only[0]}) == "NOT_FOUND"
    assert code(client, ACTOR, {"n": raw.names[only[0]]}) == "NOT_FOUND"


def test_actor_errors(client) -> None:
    assert code(client, ACTOR, {}) == "BAD_USER_INPUT"
    assert code(client, ACTOR, {"n": "Tom Hanks", "id": 31}) == "BAD_USER_INPUT"
    assert code(client, ACTOR, {"id": 999_999_999}) == "NOT_FOUND"
    err = error(client, ACTOR, {"n": "Tom Hnaks"})
    assert err["extensions"]["code"] == "NOT_FOUND"
    assert "Tom Hanks" in err["extensions"]["suggestions"]


PAGE = """query($first: Int, $after: String) { actor(id: 31) {
  movies(first: $first, after: $after) { totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { tmdbId } } } } }"""


def test_actor_movies_pagination(client, raw: Raw) -> None:
    everything = data(client, PAGE, {"first": 100})["actor"]["movies"]
    all_ids = [e["node"]["tmdbId"] for e in everything["edges"]]
    assert len(all_ids) == len(raw.cast[31]) == everything["totalCount"]
    assert everything["pageInfo"]["hasNextPage"] is False
    pages: list[int] = []
    after = None
    for page_number in range(10):
        conn = data(client, PAGE, {"first": 2, "after": after})["actor"]["movies"]
        assert conn["totalCount"] == len(all_ids)
        info = conn["pageInfo"]
        assert info["hasPreviousPage"] is (page_number > 0)
        assert len(conn["edges"]) <= 2
        if conn["edges"]:
            assert info["startCursor"] == conn["edges"][0]["cursor"]
            assert info["endCursor"] == conn["edges"][-1]["cursor"]
        pages.extend(e["node"]["tmdbId"] for e in conn["edges"])
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert pages == all_ids
    assert page_number == (len(all_ids) - 1) // 2


def test_pagination_past_the_end_and_zero(client) -> None:
    last = data(client, PAGE, {"first": 100})["actor"]["movies"]["pageInfo"]["endCursor"]
    conn = data(client, PAGE, {"first": 5, "after": last})["actor"]["movies"]
    assert conn["edges"] == [] and conn["pageInfo"]["hasNextPage"] is False
    assert conn["pageInfo"]["startCursor"] is None
    empty = data(client, PAGE, {"first": 0})["actor"]["movies"]
    assert empty["edges"] == [] and empty["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize("first", [101, -1, 1000])
def test_pagination_bad_first(client, first: int) -> None:
    assert code(client, PAGE, {"first": first}) == "BAD_USER_INPUT"


@pytest.mark.parametrize("after", [
    "not a cursor", "", "!!!", base64.b64encode(b"offset:-3").decode(),
    base64.b64encode(b"offset:abc").decode(), base64.b64encode(b"page:3").decode(),
    base64.b64encode(b"\xff\xfe").decode(),
])
def test_pagination_bad_cursor(client, after: str) -> None:
    assert code(client, PAGE, {"first": 2, "after": after}) == "BAD_USER_INPUT"


# --- 6: director ---------------------------------------------------------------------------

DIRECTOR = """query($n: String, $id: Int) { director(name: $n, id: $id) {
  id tmdbId name filmCount totalReturn averageReturn sentence asActor { tmdbId }
  movies(first: 100) { totalCount nodes {
    tmdbId title releaseDate return budget revenue profit } } } }"""


def test_director_john_lasseter(client, raw: Raw) -> None:
    pid = raw.person("John Lasseter")
    films = raw.directed[pid]
    total = sum(raw.returns[m] for m in films)
    got = data(client, DIRECTOR, {"n": "John Lasseter"})["director"]
    assert got["tmdbId"] == pid
    assert got["filmCount"] == len(films) == got["movies"]["totalCount"]
    assert {m["tmdbId"] for m in got["movies"]["nodes"]} == films
    assert got["totalReturn"] == pytest.approx(total)
    assert got["averageReturn"] == pytest.approx(total / len(films))
    assert f"{total:.2f}" in got["sentence"]
    toy = next(m for m in got["movies"]["nodes"] if m["tmdbId"] == 862)
    assert toy == {
        "tmdbId": 862, "title": "Toy Story", "releaseDate": "1995-10-30",
        "return": pytest.approx(373554033 / 30000000), "budget": 30000000,
        "revenue": 373554033, "profit": 373554033 - 30000000,
    }
    for movie in got["movies"]["nodes"]:
        row = raw.movies[movie["tmdbId"]]
        assert movie["releaseDate"] == row["release_date"]
        assert movie["budget"] == _number(row["budget"])
        assert movie["revenue"] == _number(row["revenue"])
        assert movie["return"] == pytest.approx(raw.returns[movie["tmdbId"]])
        assert movie["profit"] == pytest.approx(movie["revenue"] - movie["budget"])
    dates = [m["releaseDate"] for m in got["movies"]["nodes"]]
    assert dates == sorted(dates)
    assert data(client, DIRECTOR, {"id": pid})["director"] == got


def test_actor_is_not_a_director(client, raw: Raw) -> None:
    assert 31 not in raw.directed
    assert code(client, DIRECTOR, {"n": "Tom Hanks"}) == "NOT_FOUND"
    assert code(client, DIRECTOR, {"id": 31}) == "NOT_FOUND"


# --- the movie graph -----------------------------------------------------------------------

TOY = """{ movie(id: 862) {
  id tmdbId title overview tagline status originalLanguage releaseDate releaseYear
  budget revenue return profit popularity runtime voteAverage voteCount
  genres { id tmdbId name movies(first: 3) { totalCount nodes { tmdbId } } }
  collection { id tmdbId name movies { totalCount nodes { tmdbId title } } }
  companies { id tmdbId name movies(first: 2) { totalCount } }
  countries { id code name movies(first: 2) { totalCount } }
  languages { id code name movies(first: 2) { totalCount } }
  keywords { id tmdbId name movies(first: 2) { totalCount nodes { tmdbId } } }
  cast(first: 3) { totalCount edges { cursor node { order character
    actor { id tmdbId name gender profilePath asPerson { id } } movie { tmdbId } } } }
  crew(job: "director") { totalCount nodes { job department person { id tmdbId name } } }
  directors { id tmdbId name }
  namesakes { tmdbId }
} }"""


def test_movie_toy_story(client, raw: Raw) -> None:
    row = raw.movies[862]
    got = data(client, TOY)["movie"]
    assert got["title"] == "Toy Story"
    assert got["releaseDate"] == "1995-10-30" and got["releaseYear"] == 1995
    assert (got["budget"], got["revenue"]) == (30000000, 373554033)
    assert got["profit"] == 373554033 - 30000000
    assert got["return"] == pytest.approx(raw.returns[862])
    assert got["voteCount"] == 5415 and got["voteAverage"] == 7.7
    assert got["runtime"] == float(row["runtime"])
    assert got["overview"] == row["overview"]
    assert got["originalLanguage"] == "en" and got["status"] == "Released"
    assert [g["name"] for g in got["genres"]] == ["Animation", "Comedy", "Family"]
    assert all(g["movies"]["totalCount"] >= 1 for g in got["genres"])
    assert got["collection"]["name"] == "Toy Story Collection"
    collection = [m["tmdbId"] for m in got["collection"]["movies"]["nodes"]]
    expected_collection = sorted(
        (mid for mid, r in raw.movies.items() if "'id': 10194," in r["belongs_to_collection"]),
        key=lambda mid: raw.dates[mid],
    )
    assert collection == expected_collection and 862 in collection
    assert "Pixar Animation Studios" in [c["name"] for c in got["companies"]]
    assert got["countries"] and got["countries"][0]["code"] == "US"
    assert got["languages"] and got["languages"][0]["code"] == "en"
    keywords = {k["name"] for k in got["keywords"]}
    (raw_keywords,) = [ast.literal_eval(r["keywords"]) for r in _read("keywords")
                       if r["id"] == "862"]
    assert keywords == {k["name"] for k in raw_keywords}
    for keyword in got["keywords"]:
        assert keyword["movies"]["totalCount"] >= 1
    cast = got["cast"]["edges"]
    assert cast[0]["node"]["order"] == 0
    assert cast[0]["node"]["character"] == "Woody (voice)"
    assert cast[0]["node"]["actor"]["name"] == "Tom Hanks"
    assert cast[0]["node"]["actor"]["tmdbId"] == 31
    assert [e["node"]["order"] for e in cast] == sorted(e["node"]["order"] for e in cast)
    assert all(e["node"]["movie"]["tmdbId"] == 862 for e in cast)
    (credits,) = [r for r in _read("credits") if r["id"] == "862"]
    assert got["cast"]["totalCount"] == len(ast.literal_eval(credits["cast"]))
    assert [d["name"] for d in got["directors"]] == ["John Lasseter"]
    crew = got["crew"]["nodes"]
    assert crew and all(c["job"] == "Director" for c in crew)
    assert [c["person"]["name"] for c in crew] == ["John Lasseter"]
    assert got["namesakes"] == []


def test_movie_by_title_and_errors(client) -> None:
    assert data(client, '{ movie(title: "toy story") { tmdbId } }')["movie"] == {"tmdbId": 862}
    assert code(client, "{ movie { tmdbId } }") == "BAD_USER_INPUT"
    assert code(client, '{ movie(id: 862, title: "Toy Story") { tmdbId } }') == "BAD_USER_INPUT"
    assert code(client, "{ movie(id: 1) { tmdbId } }") == "NOT_FOUND"


def test_dropped_rows_are_not_served(client) -> None:
    no_date = [int(r["id"]) for r in _read("movies_dataset") if not r["release_date"]]
    assert no_date
    for movie_id in no_date:
        assert code(client, "query($id: Int) { movie(id: $id) { tmdbId } }",
                    {"id": movie_id}) == "NOT_FOUND"


def test_duplicate_id_keeps_first_row(client) -> None:
    rows = _read("movies_dataset")
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r["id"]] += 1
    duplicated = [i for i, n in counts.items() if n > 1 and i.isdigit()]
    for movie_id in duplicated:
        first = next(r for r in rows if r["id"] == movie_id and r["release_date"])
        got = data(client, "query($id: Int) { movie(id: $id) { title releaseDate namesakes "
                           "{ tmdbId } } }", {"id": int(movie_id)})["movie"]
        assert (got["title"], got["releaseDate"]) == (first["title"], first["release_date"])
        assert int(movie_id) not in [n["tmdbId"] for n in got["namesakes"]]


def test_graph_walk_actor_movies_cast_actor(client) -> None:
    query = """{ actor(name: "Tom Hanks") { name movies(first: 3) { nodes { tmdbId title
      cast(first: 5) { nodes { order actor { name tmdbId
        movies(first: 2) { totalCount nodes { title directors { name } } } } } } } } } }"""
    got = data(client, query)["actor"]
    for movie in got["movies"]["nodes"]:
        actors = [c["actor"] for c in movie["cast"]["nodes"]]
        assert actors
        for actor in actors:
            assert actor["movies"]["totalCount"] >= 1
    walked = {a["tmdbId"] for m in got["movies"]["nodes"] for a in
              (c["actor"] for c in m["cast"]["nodes"])}
    assert walked


def test_movie_crew_filters(client) -> None:
    crew = data(client, """{ movie(id: 862) {
      all: crew(first: 100) { totalCount }
      directing: crew(department: "DIRECTING") { totalCount nodes { department } }
      none: crew(job: "No Such Job") { totalCount nodes { job } } } }""")["movie"]
    (credits,) = [r for r in _read("credits") if r["id"] == "862"]
    raw_crew = ast.literal_eval(credits["crew"])
    assert crew["all"]["totalCount"] == len(raw_crew)
    assert crew["directing"]["totalCount"] == sum(c["department"] == "Directing" for c in raw_crew)
    assert crew["none"] == {"totalCount": 0, "nodes": []}


def test_person_credits(client, raw: Raw) -> None:
    actor = data(client, """{ actor(id: 31) {
      credits(first: 100) { totalCount edges { cursor node { character order movie { tmdbId } } } }
      asPerson { id tmdbId name
        castCredits(first: 100) { totalCount nodes { character movie { tmdbId } } }
        crewCredits(first: 100) { totalCount edges { node { job movie { tmdbId } } } } } } }""")
    got = actor["actor"]["asPerson"]
    assert got["tmdbId"] == 31
    assert {c["movie"]["tmdbId"] for c in got["castCredits"]["nodes"]} == raw.cast[31]
    assert got["castCredits"]["totalCount"] >= len(raw.cast[31])
    credits = actor["actor"]["credits"]
    assert credits["totalCount"] == got["castCredits"]["totalCount"]
    toy = next(e["node"] for e in credits["edges"] if e["node"]["movie"]["tmdbId"] == 862)
    assert (toy["character"], toy["order"]) == ("Woody (voice)", 0)
    directed = {e["node"]["movie"]["tmdbId"] for e in got["crewCredits"]["edges"]
                if e["node"]["job"] == "Director"}
    assert directed == raw.directed.get(31, set())


# --- Node ----------------------------------------------------------------------------------

NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on Movie { tmdbId } ... on Actor { tmdbId } ... on Director { tmdbId }
  ... on Person { tmdbId } ... on Genre { tmdbId } ... on Company { tmdbId }
  ... on Collection { tmdbId } ... on Keyword { tmdbId } ... on Country { code }
  ... on Language { code } } }"""


def test_node_round_trips_every_type(client) -> None:
    got = data(client, """{ movie(id: 862) { id
      genres { id } companies { id } countries { id } languages { id } keywords { id }
      collection { id } directors { id asPerson { id } }
      cast(first: 1) { nodes { actor { id asPerson { id } } } } } }""")["movie"]
    ids = {
        "Movie": got["id"],
        "Genre": got["genres"][0]["id"],
        "Company": got["companies"][0]["id"],
        "Country": got["countries"][0]["id"],
        "Language": got["languages"][0]["id"],
        "Keyword": got["keywords"][0]["id"],
        "Collection": got["collection"]["id"],
        "Director": got["directors"][0]["id"],
        "Actor": got["cast"]["nodes"][0]["actor"]["id"],
        "Person": got["cast"]["nodes"][0]["actor"]["asPerson"]["id"],
    }
    assert len(set(ids.values())) == len(ids)
    for typename, global_id in ids.items():
        node = data(client, NODE, {"id": global_id})["node"]
        assert node["__typename"] == typename
        assert node["id"] == global_id


@pytest.mark.parametrize("bad", ["", "!!!", "bm90IGFuIGlk", base64.b64encode(b"Movie:").decode(),
                                 base64.b64encode(b"Movie:abc").decode(),
                                 base64.b64encode(b"\xff:1").decode()])
def test_node_bad_id(client, bad: str) -> None:
    assert code(client, NODE, {"id": bad}) == "BAD_USER_INPUT"


@pytest.mark.parametrize("key", ["Movie:1", "Genre:999999", "Spaceship:1", "Director:31",
                                 "Country:ZZ", "Person:999999999"])
def test_node_unknown(client, raw: Raw, key: str) -> None:
    assert 31 not in raw.directed
    assert code(client, NODE, {"id": base64.b64encode(key.encode()).decode()}) == "NOT_FOUND"


# --- search --------------------------------------------------------------------------------

SEARCH = "query($q: String!) { searchMovies(query: $q, first: 5) { score movie { tmdbId title } } }"


def test_search_movies_godfather(client, raw: Raw) -> None:
    hits = data(client, SEARCH, {"q": "godfather"})["searchMovies"]
    godfather = [mid for mid, r in raw.movies.items() if r["title"] == "The Godfather"]
    assert hits[0]["movie"]["tmdbId"] in godfather
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 100 for s in scores)
    titles = [h["movie"]["title"] for h in hits]
    assert "The Godfather: Part II" in titles


def test_search_movies_accent_insensitive(client, raw: Raw) -> None:
    title = next(r["title"] for r in raw.movies.values() if r["title"] == "Les Misérables")
    for query in ("les miserables", "LES MISÉRABLES"):
        hits = data(client, SEARCH, {"q": query})["searchMovies"]
        assert title in [h["movie"]["title"] for h in hits]


def test_search_bad_input(client) -> None:
    assert code(client, SEARCH, {"q": ""}) == "BAD_USER_INPUT"
    assert code(client, '{ searchMovies(query: "x", first: 101) { score } }') == "BAD_USER_INPUT"


def test_search_people(client) -> None:
    query = """query($q: String!, $role: Role) { searchPeople(query: $q, role: $role) {
      score person { tmdbId name asActor { tmdbId } asDirector { tmdbId } } } }"""
    hits = data(client, query, {"q": "hanks"})["searchPeople"]
    assert "Tom Hanks" in [h["person"]["name"] for h in hits]
    directors = data(client, query, {"q": "lasseter", "role": "DIRECTOR"})["searchPeople"]
    assert directors[0]["person"]["name"] == "John Lasseter"
    assert all(h["person"]["asDirector"] is not None for h in directors)
    actors = data(client, query, {"q": "hanks", "role": "ACTOR"})["searchPeople"]
    assert all(h["person"]["asActor"] is not None for h in actors)


# --- browse --------------------------------------------------------------------------------

BROWSE = """query($f: MovieFilter, $s: MovieSort!, $d: Boolean!, $first: Int, $after: String) {
  movies(filter: $f, sort: $s, descending: $d, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { tmdbId title releaseYear revenue voteCount originalLanguage genres { name } } } }"""


def _genres(row: dict[str, str]) -> set[str]:
    return {g["name"] for g in ast.literal_eval(row["genres"] or "[]")}


def test_movies_filter_and_sort(client, raw: Raw) -> None:
    expected = {mid for mid, r in raw.movies.items()
                if "Animation" in _genres(r) and 1995 <= raw.dates[mid].year <= 1999}
    assert expected
    f = {"genre": "animation", "yearFrom": 1995, "yearTo": 1999}
    got: list[dict[str, Any]] = []
    after = None
    while True:
        conn = data(client, BROWSE, {"f": f, "s": "REVENUE", "d": True, "first": 7,
                                     "after": after})["movies"]
        assert conn["totalCount"] == len(expected)
        got.extend(conn["nodes"])
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert {m["tmdbId"] for m in got} == expected
    assert len(got) == len(expected)
    revenues = [m["revenue"] for m in got]
    assert revenues == sorted(revenues, reverse=True)
    for movie in got:
        assert 1995 <= movie["releaseYear"] <= 1999
        assert "Animation" in {g["name"] for g in movie["genres"]}
        assert movie["revenue"] == _number(raw.movies[movie["tmdbId"]]["revenue"])
    assert got[0]["tmdbId"] == max(expected, key=lambda m: _number(raw.movies[m]["revenue"]))


def test_movies_other_filters_and_sorts(client, raw: Raw) -> None:
    f = {"language": "FR", "minVotes": 100}
    expected = {mid for mid, r in raw.movies.items()
                if r["original_language"] == "fr" and raw.votes(mid) >= 100}
    conn = data(client, BROWSE, {"f": f, "s": "VOTE_COUNT", "d": False, "first": 100})["movies"]
    assert conn["totalCount"] == len(expected)
    assert {m["tmdbId"] for m in conn["nodes"]} == expected
    votes = [m["voteCount"] for m in conn["nodes"]]
    assert votes == sorted(votes)
    everything = data(client, BROWSE, {"s": "TITLE", "d": False, "first": 5})["movies"]
    assert everything["totalCount"] == len(raw.movies)


def test_movies_default_sort_is_popularity(client, raw: Raw) -> None:
    got = data(client, "{ movies(first: 3) { nodes { tmdbId popularity } } }")["movies"]["nodes"]
    top = sorted(raw.movies, key=lambda m: -_number(raw.movies[m]["popularity"]))[:3]
    assert [m["tmdbId"] for m in got] == top


def test_movies_bad_filter(client) -> None:
    for f in ({"genre": "Nonexistent"}, {"genre": ""}):
        assert code(client, BROWSE, {"f": f, "s": "REVENUE", "d": True}) == "BAD_USER_INPUT"
    err = error(client, BROWSE, {"f": {"genre": "Animaton"}, "s": "REVENUE", "d": True})
    assert "animation" in [s.lower() for s in err["extensions"]["suggestions"]]
    assert code(client, BROWSE, {"s": "REVENUE", "d": True, "first": 101}) == "BAD_USER_INPUT"


def test_bad_enum_variable_is_bad_user_input(client) -> None:
    # Regression: graphql-core wraps an unknown enum value's error in another GraphQLError,
    # which used to be masked as INTERNAL_SERVER_ERROR.
    err = error(client, BROWSE, {"s": "SIZE", "d": True})
    assert err["extensions"]["code"] == "BAD_USER_INPUT"
    assert "SIZE" in err["message"]
    people = "query($r: Role) { searchPeople(query: \"hanks\", role: $r) { score } }"
    assert code(client, people, {"r": "PRODUCER"}) == "BAD_USER_INPUT"
    assert code(client, "{ movies(sort: SIZE) { totalCount } }") == "GRAPHQL_VALIDATION_FAILED"


# --- recommendations -----------------------------------------------------------------------

RECS = """query($t: String!, $n: Int!) { recommendations(title: $t, n: $n) {
  score movie { tmdbId title } reasons { kind names } } }"""


def test_recommendations_toy_story(client) -> None:
    recs = data(client, RECS, {"t": "Toy Story", "n": 5})["recommendations"]
    assert len(recs) == 5
    ids = [r["movie"]["tmdbId"] for r in recs]
    assert 862 not in ids and len(set(ids)) == 5
    scores = [r["score"] for r in recs]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)
    kinds = {reason["kind"] for r in recs for reason in r["reasons"]}
    assert kinds <= {"COLLECTION", "DIRECTOR", "GENRE", "KEYWORD", "CAST"}
    assert all(reason["names"] for r in recs for reason in r["reasons"])
    default = data(client, '{ recommendations(title: "Toy Story") { movie { tmdbId } } }')
    assert [r["movie"]["tmdbId"] for r in default["recommendations"]] == ids
    many = data(client, RECS, {"t": "Toy Story", "n": 50})["recommendations"]
    assert len(many) == 50 and 862 not in [r["movie"]["tmdbId"] for r in many]


@pytest.mark.parametrize("n", [0, 51, -1])
def test_recommendations_bad_n(client, n: int) -> None:
    assert code(client, RECS, {"t": "Toy Story", "n": n}) == "BAD_USER_INPUT"


def test_recommendations_unknown_title(client) -> None:
    assert code(client, RECS, {"t": "Toy Stroy", "n": 5}) == "NOT_FOUND"


def test_movie_similar(client) -> None:
    got = data(client, """{ movie(id: 862) { similar(n: 3) { score movie { tmdbId } } } }""")
    similar = got["movie"]["similar"]
    recs = data(client, RECS, {"t": "Toy Story", "n": 3})["recommendations"]
    assert [s["movie"]["tmdbId"] for s in similar] == [r["movie"]["tmdbId"] for r in recs]
    assert code(client, "{ movie(id: 862) { similar(n: 0) { score } } }") == "BAD_USER_INPUT"


def test_movies_like(client) -> None:
    query = "query($t: String!) { moviesLike(text: $t, n: 5) { score movie { tmdbId title } } }"
    got = data(client, query, {"t": "space adventure with rebels and an empire"})["moviesLike"]
    assert 1 <= len(got) <= 5
    scores = [r["score"] for r in got]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert code(client, query, {"t": ""}) == "BAD_USER_INPUT"
    assert code(client, '{ moviesLike(text: "space", n: 0) { score } }') == "BAD_USER_INPUT"


# --- genres and buildInfo ------------------------------------------------------------------


def test_genres(client, raw: Raw) -> None:
    expected: dict[int, str] = {}
    for row in raw.movies.values():
        for genre in ast.literal_eval(row["genres"] or "[]"):
            expected[genre["id"]] = genre["name"]
    got = data(client, "{ genres { id tmdbId name movies(first: 1) { totalCount } } }")["genres"]
    assert {g["tmdbId"]: g["name"] for g in got} == expected
    animation = next(g for g in got if g["name"] == "Animation")
    assert animation["movies"]["totalCount"] == sum(
        "Animation" in _genres(r) for r in raw.movies.values())


def test_build_info(client, raw: Raw) -> None:
    got = data(client, "{ buildInfo { contractVersion builtAt movies people recommender } }")
    info = got["buildInfo"]
    assert info["movies"] == len(raw.movies)
    assert info["people"] == len(raw.people)
    assert info["recommender"] is True
    assert isinstance(info["contractVersion"], int)
    assert dt.datetime.fromisoformat(info["builtAt"])


# --- errors --------------------------------------------------------------------------------


def test_parse_errors_are_coded(client) -> None:
    # Regression: with the parser cache, parsing happens in an extension hook, and syntax and
    # token-limit errors raised there used to reach the client without extensions.code.
    assert code(client, "{ genres { name ") == "GRAPHQL_PARSE_FAILED"
    assert code(client, "query { movie(id: 862) { title } } }") == "GRAPHQL_PARSE_FAILED"
    many = "{ genres { " + "name " * 3100 + "} }"
    assert code(client, many) == "TOO_MANY_TOKENS"


def test_error_codes(client) -> None:
    assert code(client, "{ genres { nope } }") == "GRAPHQL_VALIDATION_FAILED"
    assert code(client, "{ movie(id: \"x\") { title } }") == "GRAPHQL_VALIDATION_FAILED"
    assert code(client, "query($m: String!) { releasesInMonth(month: $m) { count } }",
                {"m": 9}) == "BAD_USER_INPUT"
    assert code(client, "query($m: String!) { releasesInMonth(month: $m) { count } }") \
        == "BAD_USER_INPUT"
    costly = """{ movies(first: 100) { nodes { cast(first: 100) { nodes { actor {
      movies(first: 100) { nodes { title } } } } } } } }"""
    err = error(client, costly)
    assert err["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    nest = "collection { movies { nodes { "
    deep = "{ movie(id: 862) { " + nest * 8 + "title" + " } } }" * 8 + " } }"
    assert code(client, deep) == "QUERY_TOO_DEEP"
    aliases = "{ " + " ".join(f"a{i}: genres {{ name }}" for i in range(40)) + " }"
    assert code(client, aliases) == "TOO_MANY_ALIASES"


def test_not_found_error_has_path_and_partial_data(client) -> None:
    body = gql(client, '{ genres { name } movie(id: 1) { title } }')
    assert body["data"] is None  # movie is non-null, so the whole response nulls out
    assert body["errors"][0]["path"] == ["movie"]
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_internal_errors_are_masked(client, monkeypatch: pytest.MonkeyPatch) -> None:
    from data import lookups

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret detail from deep inside")

    monkeypatch.setattr(lookups, "releases_in_month", boom)
    response = client.post("/graphql", json={
        "query": "query MaskedProbe { releasesInMonth(month: \"marzo\") { count } }"})
    assert response.status_code == 200
    text = response.text
    body = response.json()
    err = body["errors"][0]
    assert err["message"] == "Internal server error"
    assert err["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert set(err["extensions"]) == {"code"}
    for leak in ("secret detail", "RuntimeError", "Traceback", "lookups.py", 'File "'):
        assert leak not in text
    # Not cached: the same query works once the fault is gone.
    monkeypatch.undo()
    ok = client.post("/graphql", json={
        "query": "query MaskedProbe { releasesInMonth(month: \"marzo\") { count } }"}).json()
    assert "errors" not in ok and ok["data"]["releasesInMonth"]["count"] > 0


# --- HTTP surface --------------------------------------------------------------------------


def test_graphiql_page(client) -> None:
    response = client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


def test_health_and_ready(client, raw: Raw) -> None:
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["movies"] == len(raw.movies)


def test_get_query(client) -> None:
    response = client.get("/graphql", params={"query": "{ movie(id: 862) { title } }"})
    assert response.status_code == 200
    assert response.json()["data"] == {"movie": {"title": "Toy Story"}}
    assert response.headers["etag"]
    again = client.get("/graphql", params={"query": "{ movie(id: 862) { title } }"},
                       headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_response_has_no_stray_text(client) -> None:
    body = gql(client, '{ titleScore(title: "Toy Story") { sentence } }')
    assert re.fullmatch(r"La película Toy Story .* 21\.95", body["data"]["titleScore"]["sentence"])


def test_a_5000_digit_month_is_bad_input_not_an_internal_error(client: Any) -> None:
    body = gql(client, "query($m: String!) { releasesInMonth(month: $m) { count } }",
               {"m": "9" * 5000})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # Leading zeros are still the number (Python refuses int() of 4,300+ digit strings).
    padded = data(client, "query($m: String!) { releasesOnWeekday(day: $m) { count } }",
                  {"m": "0" * 4999 + "3"})
    plain = data(client, '{ releasesOnWeekday(day: "3") { count } }')
    assert padded == plain
