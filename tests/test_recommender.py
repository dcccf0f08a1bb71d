"""The recommender on the embedded real sample: known sequels, the API's rules (n bounds, titles,
ties, duplicates, empty documents), free text, persistence, and the offline evaluation
(``evaluation/recommender.py``) whose baselines must be what they claim and which ours must beat.

The session ``catalog`` is built with ``DEFAULT_WEIGHTS``; a few rules need movies the sample
does not have (a same-title-same-year duplicate, an empty document), so a small catalog is
built from a slice of the sample plus those constructed rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from data import lookups
from data.build import IMAGE_DIR, INDEX_DIR
from data.catalog import Catalog
from data.contract import CONTRACT_VERSION, TABLES, polars_schema
from data.errors import BadInput, NotFound
from data.recommender import (
    DEFAULT_WEIGHTS,
    Index,
    top_rows,
)
from data.recommender import phrase_terms as _phrase_terms
from data.recommender import title_terms as _title_terms
from data.text import fold
from data.warehouse import read_table
from etl.publish import validate
from etl.serving import write_image
from etl.vectorize import STOP_WORDS, MovieVectorizer, fit_index, save
from evaluation import recommender as ev


def phrase_terms(text: str) -> list[str]:
    return _phrase_terms(text, STOP_WORDS)


def title_terms(text: str) -> list[str]:
    return _title_terms(text, STOP_WORDS)


def catalog_of(tables: dict[str, pl.DataFrame], directory: Path) -> Catalog:
    """A served catalog of in-memory tables: validated, imaged, fitted and attached."""
    tables = validate(tables)
    write_image(tables, directory / IMAGE_DIR)
    fit_index(tables, directory)
    manifest = {"contract_version": CONTRACT_VERSION, "built_at": "2000-01-01T00:00:00+00:00"}
    (directory / "manifest.json").write_bytes(orjson.dumps(manifest))
    return Catalog.load(directory)

RECS = """query($t: String!, $n: Int!, $y: Int) {
  recommendations(title: $t, n: $n, year: $y) { score movie { tmdbId title } } }"""
LIKE = "query($t: String!, $n: Int!) { moviesLike(text: $t, n: $n) { score movie { tmdbId } } }"
STAR_WARS, EMPIRE, JEDI = 11, 1891, 1892
GODFATHER, GODFATHER_2 = 238, 240
BATMAN, BATMAN_RETURNS = 268, 364
SCIENCE_FICTION = 878


def gql(client: Any, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    return response.json()


def rec_ids(client: Any, title: str, n: int = 5, year: int | None = None) -> list[int]:
    body = gql(client, RECS, {"t": title, "n": n, "y": year})
    assert not body.get("errors"), body["errors"]
    return [r["movie"]["tmdbId"] for r in body["data"]["recommendations"]]


def error(client: Any, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = gql(client, query, variables)
    assert body.get("errors"), body
    return body["errors"][0]


def lookup_ids(catalog: Catalog, title: str, n: int = 5, year: int | None = None) -> list[int]:
    row = lookups.resolve_title(catalog, title, year).row
    return [catalog.movies.value(r.row, "id") for r in lookups.recommend(catalog, row, n)]


def genres_of(catalog: Catalog, row: int) -> set[int]:
    genres = catalog.entities["genres"]
    return {genres.value(g, "id") for g in catalog.movie_entities["genres"].of(row).tolist()}


# --- known sequels -----------------------------------------------------------------------

SEQUELS = [
    ("Star Wars", 1977, {EMPIRE, JEDI}),
    ("The Godfather", 1972, {GODFATHER_2}),
    ("Batman", 1989, {BATMAN_RETURNS}),
]


@pytest.mark.parametrize(("title", "year", "expected"), SEQUELS)
def test_sequels_in_top_five(catalog: Catalog, client: Any, title: str, year: int,
                             expected: set[int]) -> None:
    via_lookups = lookup_ids(catalog, title, 5, year)
    assert expected <= set(via_lookups), via_lookups
    via_graphql = rec_ids(client, title, 5, year)
    assert via_graphql == via_lookups


# --- the API's rules ---------------------------------------------------------------------


def test_deterministic(catalog: Catalog, client: Any) -> None:
    assert lookup_ids(catalog, "Star Wars", 20) == lookup_ids(catalog, "Star Wars", 20)
    # Two operation names: two response-cache keys, so both answers are computed.
    first = gql(client, "query First" + RECS.removeprefix("query"), {"t": "The Godfather", "n": 20})
    second = gql(client, "query Second" + RECS.removeprefix("query"),
                 {"t": "The Godfather", "n": 20})
    assert not first.get("errors") and len(first["data"]["recommendations"]) == 20
    assert second["data"] == first["data"]


def test_ties_broken_by_id() -> None:
    scores = np.asarray([0.5, 0.9, 0.5, 0.9, 0.1, 0.5, 0.0], dtype=np.float32)
    assert [nb.row for nb in top_rows(scores, 4, np.asarray([], dtype=np.int64))] == [1, 3, 0, 2]
    assert [nb.row for nb in top_rows(scores, 4, np.asarray([0]))] == [1, 3, 2, 5]
    # Only positive scores are recommendations; never more than asked.
    assert [nb.row for nb in top_rows(scores, 50, np.asarray([1]))] == [3, 0, 2, 5, 4]


def test_equal_scores_come_in_id_order(catalog: Catalog) -> None:
    ties = 0
    for row in range(0, catalog.n_movies, 25):
        recs = lookups.recommend(catalog, row, 50)
        for a, b in itertools.pairwise(recs):
            assert a.score >= b.score
            if a.score == b.score:
                ties += 1
                assert catalog.movies.value(a.row, "id") < catalog.movies.value(b.row, "id")
    assert ties > 0  # the sample has exact ties (e.g. identical token-only documents)


@pytest.mark.parametrize("n", [0, 51])
def test_n_out_of_bounds(catalog: Catalog, client: Any, n: int) -> None:
    assert error(client, RECS, {"t": "Star Wars", "n": n})["extensions"]["code"] == (
        "BAD_USER_INPUT"
    )
    with pytest.raises(BadInput):
        lookups.recommend(catalog, catalog.movie_row(STAR_WARS), n)


def test_n_bounds_inclusive(client: Any) -> None:
    assert len(rec_ids(client, "Star Wars", 1)) == 1
    assert len(set(rec_ids(client, "Star Wars", 50))) == 50


def test_unknown_title_suggests(client: Any) -> None:
    got = error(client, RECS, {"t": "Star Warz", "n": 5})
    assert got["extensions"]["code"] == "NOT_FOUND"
    assert "Star Wars (1977)" in got["extensions"]["suggestions"]


def test_ambiguous_title_most_voted_or_year(catalog: Catalog, client: Any) -> None:
    rows = catalog.titles.find("the mummy").tolist()  # type: ignore[union-attr]
    years = {catalog.movies.value(r, "release_year"): r for r in rows}
    assert set(years) == {1932, 1959, 1999}
    most_voted = max(rows, key=lambda r: catalog.movies.value(r, "vote_count"))
    assert catalog.movies.value(most_voted, "release_year") == 1999
    default = rec_ids(client, "The Mummy")
    assert default == rec_ids(client, "the mummy", year=1999)
    assert default == [catalog.movies.value(r.row, "id")
                       for r in lookups.recommend(catalog, most_voted, 5)]
    old = rec_ids(client, "The Mummy", year=1932)
    assert old != default
    assert old == [catalog.movies.value(r.row, "id")
                   for r in lookups.recommend(catalog, years[1932], 5)]
    missing = error(client, RECS, {"t": "The Mummy", "n": 5, "y": 2001})
    assert missing["extensions"]["code"] == "NOT_FOUND"


def test_never_the_movie_itself(catalog: Catalog, report: ev.EvaluationReport) -> None:
    for row in range(0, catalog.n_movies, 16):
        assert row not in [r.row for r in lookups.recommend(catalog, row, 50)]
    rows = np.arange(catalog.n_movies)[:, None]
    for name, lists in report.lists.items():
        assert not (lists == rows).any(), name


# --- constructed rows: a duplicate, an empty and a near-empty document ---------------------

TWIN_ID, EMPTY_ID, THIN_ID = 900_000_001, 900_000_002, 900_000_003


def _movie(template: dict[str, Any], **changes: Any) -> pl.DataFrame:
    row = template | changes
    if "title" in changes:
        row["title_key"] = fold(changes["title"])
    return pl.DataFrame([row], schema=polars_schema("movies"))


@pytest.fixture(scope="module")
def small(sample_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """A slice of the sample (the Star Wars and Godfather collections and 400 other movies)
    plus a duplicate of Star Wars under another id, a movie with nothing to compare (title
    without word characters, nothing else) and one with only the title "It" and a language."""
    tables = {name: read_table(sample_build, name) for name in TABLES if name != "rejects"}
    movies = tables["movies"].sort("id")
    keep = movies.filter(
        pl.col("collection_id").is_in([10, 230])
        | pl.col("id").is_in(movies["id"].head(400).to_list())
    )
    star_wars = movies.filter(pl.col("id") == STAR_WARS).to_dicts()[0]
    blank = star_wars | {
        name: None for name in ("overview", "tagline", "status", "original_language",
                                "popularity", "runtime", "vote_average", "collection_id")
    } | {"budget": 0.0, "revenue": 0.0, "return": 0.0, "vote_count": 0,
         "release_date": dt.date(2001, 1, 1), "release_year": 2001}
    tables["movies"] = pl.concat([
        keep,
        _movie(star_wars, id=TWIN_ID),
        _movie(blank, id=EMPTY_ID, title="¿?"),
        _movie(blank, id=THIN_ID, title="It", original_language="en"),
    ])
    ids = tables["movies"]["id"].to_list()
    twin_links = {"movie_genres", "movie_keywords", "movie_companies"}
    for name, frame in tables.items():
        if "movie_id" in frame.columns:
            kept = frame.filter(pl.col("movie_id").is_in(ids))
            if name in twin_links:
                copied = frame.filter(pl.col("movie_id") == STAR_WARS)
                kept = pl.concat([kept, copied.with_columns(movie_id=pl.lit(TWIN_ID, pl.Int64))])
            tables[name] = kept
    return catalog_of(tables, tmp_path_factory.mktemp("small"))


@pytest.fixture(scope="module")
def small_client(settings: Any, small: Catalog) -> Any:
    from starlette.testclient import TestClient

    from server.app import create_app

    with TestClient(create_app(settings, small)) as test_client:
        yield test_client


def test_duplicates_never_recommended(small: Catalog) -> None:
    original, twin = small.movie_row(STAR_WARS), small.movie_row(TWIN_ID)
    assert lookups.resolve_title(small, "Star Wars", 1977).candidates == [original, twin]
    for row, other in ((original, twin), (twin, original)):
        got = [r.row for r in lookups.recommend(small, row, 50)]
        assert row not in got and other not in got
        assert {small.movie_row(EMPIRE), small.movie_row(JEDI)} <= set(got[:5])


def test_empty_document_gets_a_clear_message(small: Catalog, small_client: Any) -> None:
    row = small.movie_row(EMPTY_ID)
    assert small.index is not None and small.index.empty[row]
    with pytest.raises(NotFound, match="nothing can be recommended"):
        lookups.recommend(small, row, 5)
    got = error(small_client, RECS, {"t": "¿?", "n": 5})
    assert got["extensions"]["code"] == "NOT_FOUND"
    assert "nothing can be recommended" in got["message"]
    similar = error(small_client, "query($id: Int!) { movie(id: $id) { similar { score } } }",
                    {"id": EMPTY_ID})
    assert similar["extensions"]["code"] == "NOT_FOUND"


def test_near_empty_document_still_answers(small: Catalog, small_client: Any) -> None:
    # "It" is all stop words; the title keeps it rather than leave the document blank.
    assert title_terms("It") == ["it"]
    row = small.movie_row(THIN_ID)
    assert small.index is not None and not small.index.empty[row]
    assert len(lookups.recommend(small, row, 5)) == 5
    assert len(rec_ids(small_client, "It")) == 5


# --- free text ---------------------------------------------------------------------------


def test_phrase_terms() -> None:
    assert phrase_terms("death star|space opera") == [
        "death", "star", "death star", "space", "opera", "space opera"]
    assert phrase_terms("Space opera with rebels") == [
        "space", "opera", "rebels", "space opera", "opera rebels"]
    assert title_terms("The Godfather: Part II") == ["godfather", "ii"]


def test_free_text_space_opera(catalog: Catalog, client: Any) -> None:
    found = lookups.movies_like(catalog, "space opera with rebels", 10)
    rows = [r.row for r in found]
    scifi = [SCIENCE_FICTION in genres_of(catalog, row) for row in rows[:5]]
    assert sum(scifi) >= 3, [catalog.movies.value(r, "title") for r in rows]
    titles = [catalog.movies.value(row, "title") for row in rows]
    assert any(t.startswith(("Star Wars", "Star Trek")) for t in titles), titles
    body = gql(client, LIKE, {"t": "space opera with rebels", "n": 10})
    assert [m["movie"]["tmdbId"] for m in body["data"]["moviesLike"]] == [
        catalog.movies.value(row, "id") for row in rows]
    assert all(0 < r.score <= 1 for r in found)


@pytest.mark.parametrize(("text", "words"), [
    ("vampire", ("vampire",)), ("haunted house ghost", ("haunt", "ghost")),
    ("samurai", ("samurai",)),
])
def test_free_text_relevant(catalog: Catalog, text: str, words: tuple[str, ...]) -> None:
    docs = documents_of(catalog)
    for rec in lookups.movies_like(catalog, text, 5):
        doc = docs[rec.row].lower()
        assert any(word in doc for word in words), (text, catalog.movies.value(rec.row, "title"))


def documents_of(catalog: Catalog) -> list[str]:
    keywords = catalog.entities["keywords"]
    return [
        " ".join([catalog.movies.value(row, "title"), catalog.movies.value(row, "overview") or "",
                  catalog.movies.value(row, "tagline") or ""]
                 + [keywords.value(k, "name") for k in catalog.movie_entities["keywords"].of(row)])
        for row in range(catalog.n_movies)
    ]


# --- persistence, memory, latency --------------------------------------------------------


def test_index_is_default_weights_and_round_trips(
    catalog: Catalog, sample_build: Path, prepared: ev.Prepared, tmp_path: Path
) -> None:
    served = catalog.index
    assert served is not None
    assert served.meta["weights"] == {k: v for k, v in DEFAULT_WEIGHTS.items() if v > 0}
    fresh = prepared.index(DEFAULT_WEIGHTS)  # what the evaluation scores as "ours"
    for name in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(fresh.by_movie, name), getattr(served.by_movie, name))
    vectorizer = prepared.vectorizer.reweighted(DEFAULT_WEIGHTS)
    save(vectorizer, fresh, tmp_path / INDEX_DIR)
    loaded = Index.load(tmp_path / INDEX_DIR)
    assert np.array_equal(loaded.ids, served.ids)
    for row in (catalog.movie_row(STAR_WARS), catalog.movie_row(GODFATHER), 0, 4000):
        assert row is not None
        assert np.array_equal(loaded.row_scores(row), served.row_scores(row))
        assert loaded.similar(row, 10, np.asarray([row])) == served.similar(
            row, 10, np.asarray([row]))
    for text in ("space opera with rebels", "a cop and a robber", "zzzz"):
        assert loaded.like_text(text, 10) == served.like_text(text, 10)


@pytest.fixture(scope="module")
def fitted_vectorizer(prepared: ev.Prepared) -> MovieVectorizer:
    return prepared.vectorizer.reweighted(DEFAULT_WEIGHTS)


TEXT = st.lists(st.sampled_from(
    ["space", "opera", "with", "rebels", "the", "cop", "Robber", "heist", "space opera",
     "toy", "Story", "war", "star", "death", "love", "ZZZ", "école", "a", "it", "M", "2"]),
    max_size=12).map(" ".join) | st.text(max_size=30)


@settings(max_examples=150, deadline=None)
@given(TEXT)
def test_served_text_encoder_equals_the_fitted_vectorizers(
    catalog: Catalog, fitted_vectorizer: MovieVectorizer, text: str
) -> None:
    """The server encodes free text without scikit-learn; it must agree with it exactly."""
    assert catalog.index is not None and catalog.index.encoder is not None
    columns, values = catalog.index.encoder.encode(text)
    expected = fitted_vectorizer.transform_text(text)
    if expected.nnz == 0 or not np.isfinite(expected.data).all():
        assert columns.size == 0
        return
    order = np.argsort(columns)
    assert columns[order].tolist() == sorted(expected.indices.tolist())
    reference = dict(zip(expected.indices.tolist(), expected.data.tolist(), strict=True))
    assert np.allclose(values[order], [reference[c] for c in columns[order].tolist()],
                       atol=1e-6)


def test_memory_and_latency(catalog: Catalog) -> None:
    index = catalog.index
    assert index is not None
    assert index.nbytes < 16 * 2**20  # about 4 MB on the sample
    rows = np.random.default_rng(1).integers(0, catalog.n_movies, size=100).tolist()
    times = []
    for row in rows:
        start = time.perf_counter()
        lookups.recommend(catalog, row, 10)
        times.append(time.perf_counter() - start)
    assert float(np.median(times)) < 0.02


# --- the evaluation ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def prepared(sample_build: Path) -> ev.Prepared:
    return ev.Prepared.load(sample_build)


@pytest.fixture(scope="module")
def report(sample_build: Path, prepared: ev.Prepared) -> ev.EvaluationReport:
    return ev.evaluate(sample_build, seed=0, prepared=prepared)


def test_evaluation_report(report: ev.EvaluationReport) -> None:
    assert [r.name for r in report.rows] == [
        "random", "most popular", "overview TF-IDF", "content", "content + prior"]
    assert report.seconds < 120
    assert sum(report.collection_queries) > 300 and report.coliked_queries == {}
    content, baseline = report.row("content"), report.row("overview TF-IDF")
    prior = report.row("content + prior")
    for half in (0, 1):
        assert content.collection_hit[half] >= 0.95
        assert content.collection_hit[half] > baseline.collection_hit[half]
        assert prior.collection_hit[half] >= 0.95 and prior.coverage[half] >= 0.6
    # The prior lifts well-voted films: the popularity bias rises, but stays far from "most
    # popular".
    assert content.popularity_bias < prior.popularity_bias < 0.9
    for row in report.rows:
        assert row.hit == {} and row.ndcg == {}
        for value in (*row.coverage, row.popularity_bias):
            assert 0 <= value <= 1
    table = ev.render(report)
    assert table.row_count == 5
    text = ev.markdown(report)
    assert text.count("\n|") == 6 and "| content + prior |" in text


def test_ours_in_the_evaluation_is_what_the_api_serves(
    catalog: Catalog, report: ev.EvaluationReport
) -> None:
    checked = 0
    for row in range(3, catalog.n_movies, 97):
        served = [r.row for r in lookups.recommend(catalog, row, 10)]
        assert report.lists["content + prior"][row].tolist()[: len(served)] == served
        checked += 1
    assert checked > 40


def test_random_baseline_is_random(
    prepared: ev.Prepared, report: ev.EvaluationReport
) -> None:
    truth = prepared.truth
    a, b = ev.random_lists(truth, 10, 0), ev.random_lists(truth, 10, 1)
    assert np.array_equal(a, report.lists["random"])
    assert np.array_equal(a, ev.random_lists(truth, 10, 0))
    assert (a != b).any(axis=1).mean() > 0.99
    assert all(len(set(row)) == 10 for row in a.tolist())
    random = report.row("random")
    assert abs(random.popularity_bias - 0.5) < 0.03
    assert min(random.coverage) > 0.95 and max(random.collection_hit) < 0.05


def test_most_popular_baseline(catalog: Catalog, report: ev.EvaluationReport) -> None:
    by_popularity = catalog.sorted_rows("popularity", True)
    lists = report.lists["most popular"]
    top = by_popularity[:11].tolist()
    assert catalog.movies.value(top[0], "title") == "Pulp Fiction"
    outsider = int(by_popularity[100])
    assert lists[outsider].tolist() == top[:10]
    assert lists[top[0]].tolist() == top[1:11]
    assert lists[top[2]].tolist() == top[:2] + top[3:11]
    assert report.row("most popular").popularity_bias > 0.99


def test_content_row_is_plain_cosine(prepared: ev.Prepared, report: ev.EvaluationReport
                                     ) -> None:
    # "content" is today's weights unranked: the cosine top 10, as knn_lists computes it.
    rows = np.arange(0, prepared.truth.n, 50)
    expected = ev.knn_lists(prepared.matrix(DEFAULT_WEIGHTS), prepared.truth, 10, rows)
    assert np.array_equal(report.lists["content"][rows], expected[rows])


def test_overview_baseline_uses_only_overviews(
    prepared: ev.Prepared, report: ev.EvaluationReport
) -> None:
    docs = prepared.docs
    base = ev.overview_matrix(docs)
    scrambled = docs.with_columns(
        tagline=pl.lit("a long time ago in a galaxy far far away"),
        title=pl.col("title").reverse(), genres=pl.lit("Horror"), keywords=pl.lit("space"),
        collection=pl.lit("c1"),
    )
    assert (ev.overview_matrix(scrambled) != base).nnz == 0
    changed = docs.with_columns(
        overview=pl.when(pl.col("movie_id") == STAR_WARS).then(pl.lit("a cooking contest"))
        .otherwise(pl.col("overview"))
    )
    other = ev.overview_matrix(changed)
    assert other.shape != base.shape or (other != base).nnz > 0
    # Plain cosine on those vectors, best first, ties by id, the query excluded.
    row = int(np.flatnonzero(docs["movie_id"].to_numpy() == STAR_WARS)[0])
    cosine = (base @ base[row].T).toarray().ravel()
    cosine[row] = -1
    expected = np.lexsort((np.arange(cosine.size), -cosine))[:10]
    assert report.lists["overview TF-IDF"][row].tolist() == expected.tolist()
    assert sp.issparse(base) and base.shape[0] == docs.height
