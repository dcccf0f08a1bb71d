"""The API fields the demo page needs: image URLs, credit filters, paged collections.

Facts are read from the raw sample files, never from the catalog's internals.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Any

import pytest

from schema.images import DEFAULT_IMAGE_BASE_URL

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
def _rows(name: str) -> list[dict[str, str]]:
    # A few overview cells exceed the csv module's default limit, which is process-wide: raise
    # it for this read only.
    previous = csv.field_size_limit(1 << 24)
    try:
        with gzip.open(SAMPLE / name, "rt", encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(io.StringIO(handle.read())))
    finally:
        csv.field_size_limit(previous)


@pytest.fixture(scope="module")
def raw_posters() -> dict[str, str]:
    return {r["id"]: r["poster_path"] for r in _rows("movies_dataset.csv.gz")}


@pytest.fixture(scope="module")
def credited_ids() -> set[int]:
    ids = set()
    for row in _rows("credits.csv.gz"):
        if row["cast"].strip() not in ("", "[]") or row["crew"].strip() not in ("", "[]"):
            ids.add(int(row["id"]))
    return ids


def data(client: Any, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = client.post("/graphql", json={"query": query, "variables": variables or {}}).json()
    assert "errors" not in body, body
    return body["data"]


def test_poster_url_uses_tmdbs_base_and_size(client: Any, raw_posters: dict[str, str]) -> None:
    got = data(client, """{ movie(id: 862) { posterPath small: posterUrl(size: W92)
        default: posterUrl original: posterUrl(size: ORIGINAL) } }""")["movie"]
    path = raw_posters["862"]
    assert path.startswith("/") and got["posterPath"] == path
    assert got["small"] == f"https://image.tmdb.org/t/p/w92{path}"
    assert got["default"] == f"{DEFAULT_IMAGE_BASE_URL}w342{path}"
    assert got["original"] == f"https://image.tmdb.org/t/p/original{path}"


def test_profile_url_and_sizes(client: Any) -> None:
    got = data(client, """{ actor(id: 31) { profilePath profileUrl(size: H632) }
        person: searchPeople(query: "Tom Hanks", first: 1) {
          person { profileUrl(size: W45) } } }""")
    path = got["actor"]["profilePath"]
    assert path and got["actor"]["profileUrl"] == f"https://image.tmdb.org/t/p/h632{path}"
    assert got["person"][0]["person"]["profileUrl"] == f"https://image.tmdb.org/t/p/w45{path}"
    # A poster size is not a profile size: the enums keep TMDB's per-kind lists apart.
    body = client.post("/graphql", json={"query": "{ actor(id: 31) { profileUrl(size: W342) } }"})
    assert body.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_movie_without_poster_has_null_url(client: Any, raw_posters: dict[str, str]) -> None:
    missing = [int(i) for i, p in raw_posters.items() if not p.strip()]
    assert missing, "the sample has no movie without a poster"
    query = "query($id: Int!) { movie(id: $id) { posterPath posterUrl } }"
    for movie_id in missing[:3]:
        body = client.post("/graphql", json={"query": query, "variables": {"id": movie_id}}).json()
        if "errors" in body:  # a rejected row (no release date, ...) is not served at all
            continue
        assert body["data"]["movie"] == {"posterPath": None, "posterUrl": None}


def test_image_base_url_is_a_setting(settings: Any, catalog: Any,
                                     raw_posters: dict[str, str]) -> None:
    from dataclasses import replace

    from starlette.testclient import TestClient

    from server.app import create_app

    mirror = replace(settings, image_base_url="http://images.local/tmdb")
    with TestClient(create_app(mirror, catalog)) as client:
        got = data(client, "{ movie(id: 862) { posterUrl(size: W185) } }")["movie"]
    assert got["posterUrl"] == f"http://images.local/tmdb/w185{raw_posters['862']}"


def test_has_credits_filter_and_field(client: Any, credited_ids: set[int]) -> None:
    query = """query($c: Boolean!, $after: String) {
        movies(filter: {hasCredits: $c}, sort: POPULARITY, first: 100, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } nodes { tmdbId hasCredits } } }"""
    with_credits = data(client, query, {"c": True})["movies"]
    without = data(client, query, {"c": False})["movies"]
    every = data(client, "{ movies { totalCount } }")["movies"]["totalCount"]
    assert with_credits["totalCount"] + without["totalCount"] == every
    assert all(n["hasCredits"] for n in with_credits["nodes"])
    assert not any(n["hasCredits"] for n in without["nodes"])
    assert {n["tmdbId"] for n in with_credits["nodes"]} <= credited_ids
    assert not {n["tmdbId"] for n in without["nodes"]} & credited_ids
    assert 862 in {n["tmdbId"] for n in with_credits["nodes"]}
    # The sample has credits for about two fifths of its movies, not all of them.
    assert 0.2 < with_credits["totalCount"] / every < 0.7


def test_collection_movies_is_a_connection(client: Any) -> None:
    query = """query($after: String) { movie(id: 862) { collection { movies(first: 1,
        after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { tmdbId } } } } }"""
    seen: list[int] = []
    after = None
    while True:
        page = data(client, query, {"after": after})["movie"]["collection"]["movies"]
        seen += [n["tmdbId"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert 862 in seen and len(seen) == page["totalCount"] == len(set(seen))
    whole = data(client, "{ movie(id: 862) { collection { movies { nodes { tmdbId } } } } }")
    assert [n["tmdbId"] for n in whole["movie"]["collection"]["movies"]["nodes"]] == seen
