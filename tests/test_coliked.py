"""The co-liked signal, the quality prior and the reasons, on a small ratings fixture made here
(never a MovieLens file): its co-liked pairs are known by construction, so they are asserted
first; then the ETL hook, the served blend, the fallback to content for a movie without
ratings, and the evaluation's split and relevance rules.

Fixture (MovieLens layout): viewers 1-8 like Toy Story and Heat, 9-14 Toy Story and
GoldenEye, 15-16 Toy Story and The Godfather (2 co-likers: under the support threshold),
17-20 rate Toy Story 3 (not a like) and Heat 5. So Toy Story has 16 likers, Heat 12,
GoldenEye 6: Jaccard(Toy Story, Heat) = 8 / (16 + 12 - 8) = 0.4 and
Jaccard(Toy Story, GoldenEye) = 6 / (16 + 6 - 6) = 0.375; nothing else is co-liked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from data import lookups, rerank
from data.build import INDEX_DIR
from data.catalog import Catalog
from data.recommender import Index
from etl import ratings as rt
from etl.inputs import default_inputs
from etl.pipeline import run
from etl.vectorize import fit_index
from evaluation import recommender as ev

TOY_STORY, HEAT, GOLDENEYE, GODFATHER, BODY_HEAT = 862, 949, 710, 238, 14412
NOT_IN_BUILD = 999_999_999
RECS = """query Recs($t: String!, $n: Int!) { recommendations(title: $t, n: $n) {
  score movie { tmdbId title } reasons { kind names } } }"""


def write_fixture(directory: Path) -> tuple[Path, Path]:
    rows: list[tuple[int, int, float]] = []
    for user in range(1, 9):
        rows += [(user, 1, 5.0), (user, 2, 4.0)]
    for user in range(9, 15):
        rows += [(user, 1, 4.5), (user, 3, 4.0)]
    for user in range(15, 17):
        rows += [(user, 1, 4.0), (user, 4, 5.0)]
    for user in range(17, 21):
        rows += [(user, 1, 3.0), (user, 2, 5.0), (user, 5, 5.0)]
    ratings = directory / "ratings.csv"
    pl.DataFrame(rows, schema=["userId", "movieId", "rating"], orient="row").with_columns(
        timestamp=pl.lit(1_260_759_144)
    ).write_csv(ratings)
    links = directory / "links.csv"
    pl.DataFrame({
        "movieId": [1, 2, 3, 4, 5, 6],
        "imdbId": ["0114709", "0113277", "0113189", "0068646", "0000001", "0000002"],
        "tmdbId": [TOY_STORY, HEAT, GOLDENEYE, GODFATHER, NOT_IN_BUILD, None],
    }).write_csv(links)
    return ratings, links


@pytest.fixture(scope="module")
def fixture_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_fixture(tmp_path_factory.mktemp("ratings"))


def gql(client: Any, variables: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/graphql", json={"query": RECS, "variables": variables})
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return body["data"]["recommendations"]


# --- the co-liked table: known pairs first ---------------------------------------------------


def test_known_coliked_pairs(fixture_files: tuple[Path, Path]) -> None:
    ids = np.asarray(sorted([TOY_STORY, HEAT, GOLDENEYE, GODFATHER, 5, 7]))
    likes = rt.likes_of(rt.scan_likes(*fixture_files), ids)
    row = {int(i): r for r, i in enumerate(ids.tolist())}
    assert likes.viewers == 20  # viewers 17-20 like Heat; nobody likes only an unlinked movie
    assert likes.likers()[[row[TOY_STORY], row[HEAT], row[GOLDENEYE]]].tolist() == [16, 12, 6]
    table = rt.coliked(likes)
    got, scores, support = table.of(row[TOY_STORY])
    assert got.tolist() == [row[HEAT], row[GOLDENEYE]]
    assert np.allclose(scores, [0.4, 0.375]) and support.tolist() == [8, 6]
    assert table.of(row[HEAT])[0].tolist() == [row[TOY_STORY]]
    assert table.of(row[GOLDENEYE])[0].tolist() == [row[TOY_STORY]]
    assert table.of(row[GODFATHER])[0].size == 0  # 2 co-likers < MIN_SUPPORT
    assert table.rows.size == 4
    # Top-k keeps the best; a lower support threshold admits The Godfather.
    assert table_top(rt.coliked(likes, top_k=1), row[TOY_STORY]) == [row[HEAT]]
    loose = rt.coliked(likes, min_support=2)
    assert row[GODFATHER] in table_top(loose, row[TOY_STORY])


def table_top(table: rerank.CoLiked, row: int) -> list[int]:
    return table.of(row)[0].tolist()


def test_blocks_on_threads_match_a_dense_reference() -> None:
    """Small blocks on several threads give, movie by movie, the dense computation's top k:
    Jaccard of likers over the pairs with at least the support, best first, ties by row."""
    rng = np.random.default_rng(3)
    dense = rng.random((300, 60)) < np.linspace(0.02, 0.4, 60)  # viewers x movies, skewed
    viewer, movie = np.nonzero(dense)
    likes = rt.Likes(viewer.astype(np.int32), movie.astype(np.int32), 300, 60)
    table = rt.coliked(likes, top_k=5, min_support=3, block=7, workers=3)
    counts = dense.T.astype(np.int64) @ dense.astype(np.int64)
    likers = np.diag(counts)
    for row in range(60):
        both = counts[row].copy()
        both[row] = 0
        jaccard = both / np.maximum(likers[row] + likers - both, 1)
        ok = np.flatnonzero(both >= 3)
        expected = ok[np.lexsort((ok, -jaccard[ok]))][:5]
        got, scores, support = table.of(row)
        assert got.tolist() == expected.tolist()
        assert np.allclose(scores, jaccard[expected])
        assert support.tolist() == both[expected].tolist()


def test_viewer_cap_is_a_fixed_subset(fixture_files: tuple[Path, Path]) -> None:
    ids = np.asarray(sorted([TOY_STORY, HEAT, GOLDENEYE, GODFATHER]))
    capped = rt.likes_of(rt.scan_likes(*fixture_files), ids, max_per_viewer=1)
    assert np.bincount(capped.viewer).max() == 1
    again = rt.likes_of(rt.scan_likes(*fixture_files), ids, max_per_viewer=1)
    assert np.array_equal(capped.movie, again.movie)


def test_bad_ratings_files(tmp_path: Path, fixture_files: tuple[Path, Path]) -> None:
    bad = tmp_path / "ratings.csv"
    bad.write_text("user,movie\n1,2\n")
    with pytest.raises(rt.RatingsError, match="missing column"):
        rt.scan_likes(bad, fixture_files[1])
    with pytest.raises(rt.RatingsError, match="not found"):
        rt.scan_likes(tmp_path / "nope.csv", fixture_files[1])
    with pytest.raises(rt.RatingsError, match="links"):
        rt.with_coliked(fit_index, fixture_files[0], None)


# --- a build with ratings --------------------------------------------------------------------


@pytest.fixture(scope="module")
def rated_build(tmp_path_factory: pytest.TempPathFactory, fixture_files: tuple[Path, Path]
                ) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("rated") / "build"
    manifest = run(default_inputs(), out, fit_index=rt.with_coliked(fit_index, *fixture_files))
    return out, manifest


@pytest.fixture(scope="module")
def rated_client(rated_build: tuple[Path, dict[str, Any]]) -> Any:
    from starlette.testclient import TestClient

    from data.catalog import Catalog
    from server.app import create_app
    from server.settings import Settings

    build = rated_build[0]
    with TestClient(create_app(Settings(data=build, log_json=True), Catalog.load(build))) as c:
        yield c


def test_build_saves_memory_mapped_arrays(rated_build: tuple[Path, dict[str, Any]]) -> None:
    build, manifest = rated_build
    info = manifest["recommender"]["coliked"]
    assert info["likes"] == 16 + 12 + 6 + 2  # every like of a movie in the build
    assert info["pairs"] == 4 and info["movies_with_neighbours"] == 3
    table = rerank.CoLiked.load(build / INDEX_DIR)
    # A plain ndarray view of the file's map (np.memmap itself slows every indexing).
    assert table is not None and isinstance(table.rows.base, np.memmap)
    assert type(table.rows) is np.ndarray and not table.rows.flags.writeable
    index = Index.load(build / INDEX_DIR)
    assert index.coliked is not None and index.prior is not None
    row = int(np.searchsorted(index.ids, TOY_STORY))
    assert index.ids[index.coliked.of(row)[0]].tolist() == [HEAT, GOLDENEYE]
    # Each pair's cosine is saved as the served index computes it.
    assert table.cosines is not None
    for movie in range(table.movies):
        rows, _scores, _support = table.of(movie)
        assert np.array_equal(table.cosines_of(movie), index.cosines(movie, rows))


def test_saved_cosines_change_no_recommendation(rated_build: tuple[Path, dict[str, Any]]
                                                ) -> None:
    """The saved pair cosines only spare reading documents: every movie's recommendations
    are those computed without them."""
    build = rated_build[0]
    catalog = Catalog.load(build)
    index = catalog.index
    assert index is not None and index.coliked is not None
    saved = index.coliked
    assert saved.cosines is not None
    without = rerank.CoLiked(saved.offsets, saved.rows, saved.scores, saved.support)
    for movie in np.flatnonzero(np.diff(saved.offsets)).tolist():
        index.coliked = saved
        served = [(r.row, r.score) for r in lookups.recommend(catalog, movie, 10)]
        index.coliked = without
        computed = [(r.row, r.score) for r in lookups.recommend(catalog, movie, 10)]
        assert served == computed
    index.coliked = saved


def test_coliked_movies_recommended_with_a_reason(rated_client: Any) -> None:
    # Nothing in Toy Story's content would find Heat or GoldenEye; the co-liked weight the
    # tuning chose (0.2) ranks them among its closest content neighbours (a Toy Story short
    # comes first), the more co-liked one ahead.
    got = gql(rated_client, {"t": "Toy Story", "n": 5})
    ids = [r["movie"]["tmdbId"] for r in got]
    assert HEAT in ids[:2], ids
    heat = got[ids.index(HEAT)]
    assert heat["reasons"][0] == {"kind": "CO_LIKED",
                                  "names": ["liked by 8 viewers who liked this"]}
    got = gql(rated_client, {"t": "Toy Story", "n": 10})
    ids = [r["movie"]["tmdbId"] for r in got]
    assert ids.index(HEAT) < ids.index(GOLDENEYE), ids
    assert got[ids.index(GOLDENEYE)]["reasons"][0]["names"] == [
        "liked by 6 viewers who liked this"]
    assert all(r["kind"] != "CO_LIKED" for rec in got if rec["movie"]["tmdbId"] not in
               (HEAT, GOLDENEYE) for r in rec["reasons"])
    assert all(0 < r["score"] <= 1 for r in got)
    back = [r["movie"]["tmdbId"] for r in gql(rated_client, {"t": "Heat", "n": 5})]
    assert TOY_STORY in back


def test_movie_without_ratings_falls_back_to_content(rated_client: Any, client: Any) -> None:
    # The Godfather has likes but no co-liked pair; Star Wars no ratings at all: both answer
    # exactly as a build without ratings does.
    for title in ("The Godfather", "Star Wars"):
        assert gql(rated_client, {"t": title, "n": 10}) == gql(client, {"t": title, "n": 10})
    # A movie with co-liked neighbours does differ from the build without ratings.
    assert gql(rated_client, {"t": "Toy Story", "n": 10}) != gql(client, {"t": "Toy Story",
                                                                             "n": 10})


def test_served_blend_is_what_the_evaluation_ranks(
    rated_build: tuple[Path, dict[str, Any]], rated_client: Any
) -> None:
    build = rated_build[0]
    prepared = ev.Prepared.load(build)
    truth = prepared.truth
    table = rerank.CoLiked.load(build / INDEX_DIR)
    assert table is not None
    matrix = prepared.matrix(ev.DEFAULT_WEIGHTS)
    depth = max(rerank.CONTENT_BLEND.depth, rerank.COLIKED_BLEND.depth, 10)
    cands = ev.gather(matrix, truth, depth, table)
    prior = rerank.quality_prior(*prepared.votes())
    lists = ev.ranked(cands, prior, rerank.COLIKED_BLEND, 10, rerank.CONTENT_BLEND)
    for title, tmdb in (("Toy Story", TOY_STORY), ("Heat", HEAT), ("GoldenEye", GOLDENEYE),
                        ("The Godfather", GODFATHER)):
        row = int(np.searchsorted(truth.ids, tmdb))
        served = [r["movie"]["tmdbId"] for r in gql(rated_client, {"t": title, "n": 10})]
        assert truth.ids[lists[row]].tolist() == served, title


# --- the prior and the reasons -----------------------------------------------------------


def test_quality_prior_forms() -> None:
    average = np.asarray([8.0, 8.0, 5.0, 9.5, 0.0])
    votes = np.asarray([10_000, 300, 10_000, 3, 0])
    prior = rerank.quality_prior(average, votes, rerank.Prior("product", 0.0, 200))
    assert prior[0] > prior[1] > 0 and prior[0] > prior[2] > 0
    assert prior[3] == 0 and prior[4] == 0  # under the vote floor
    assert prior.max() <= 1 and prior.dtype == np.float32
    shrunk = rerank.weighted_rating(average, votes, m=100.0)
    c = (average * votes).sum() / votes.sum()
    assert shrunk[3] == pytest.approx((3 * 9.5 + 100 * c) / 103)
    # Log votes squared: the most voted movie stays at 1, the others fall further below it.
    log_votes = rerank.quality_prior(average, votes, rerank.Prior("log_votes"))
    squared = rerank.quality_prior(average, votes, rerank.Prior("log_votes_squared"))
    assert squared[0] == log_votes[0] == 1 and squared[4] == 0
    assert squared[1] == pytest.approx(log_votes[1] ** 2) and squared[1] < log_votes[1]
    with pytest.raises(ValueError, match="unknown prior form"):
        rerank.Prior("stars")


def test_title_word_reason_and_contribution_order(sample_build: Path, client: Any) -> None:
    got = gql(client, {"t": "Heat", "n": 10})
    body_heat = next(r for r in got if r["movie"]["tmdbId"] == BODY_HEAT)
    assert body_heat["reasons"][0] == {"kind": "TITLE", "names": ["heat"]}
    index = Index.load(sample_build / INDEX_DIR)
    fields = {"COLLECTION": "collection", "DIRECTOR": "director", "CAST": "cast",
              "GENRE": "genres", "KEYWORD": "keywords", "TITLE": "title"}
    for title, tmdb in (("Heat", HEAT), ("Star Wars", 11), ("Toy Story", TOY_STORY)):
        row = int(np.searchsorted(index.ids, tmdb))
        ranked = rerank.recommend(index, row, 10, np.asarray([row]))
        served = gql(client, {"t": title, "n": 10})
        assert [int(index.ids[r.row]) for r in ranked] == [s["movie"]["tmdbId"] for s in served]
        for found, rec in zip(ranked, served, strict=True):
            weights = [found.fields[fields[r["kind"]]] for r in rec["reasons"]]
            assert weights == sorted(weights, reverse=True), (title, rec)
            assert sum(found.fields.values()) == pytest.approx(found.cosine, abs=1e-5)


# --- the evaluation's split and relevance ----------------------------------------------------


def test_split_is_fixed_and_even() -> None:
    ids = np.asarray([862, 11, 949, 710, 238, 1891])
    assert ev.held_out(ids).tolist() == [True, True, True, True, False, True]
    many = np.arange(1, 200_001)
    split = ev.held_out(many)
    assert abs(split.mean() - 0.5) < 0.01
    perm = np.random.default_rng(0).permutation(many)
    assert np.array_equal(ev.held_out(perm), split[perm - 1])  # by id, not by position
    assert 0.4 < split[::2].mean() < 0.6 and 0.4 < split[1::2].mean() < 0.6  # not parity


def test_relevance_rules_and_metrics() -> None:
    viewer, movie = [], []

    def like(users: range, movies: range) -> None:
        for u in users:
            for m in movies:
                viewer.append(u)
                movie.append(m)

    like(range(0, 12), range(0, 6))  # 12 likers each, 5 related each: queries
    like(range(20, 31), range(10, 14))  # 11 likers but 3 related: not queries
    like(range(40, 49), range(20, 27))  # 6 related but 9 likers: not queries
    likes = rt.Likes(np.asarray(viewer, np.int32), np.asarray(movie, np.int32), 49, 30)
    relevance = ev.Relevance.from_likes(likes)
    assert relevance.queries.tolist() == [0, 1, 2, 3, 4, 5]
    assert relevance.relevant(0).tolist() == [1, 2, 3, 4, 5]
    lists = np.full((30, 10), -1, dtype=np.int64)
    lists[0, :3] = [9, 1, 8]  # one relevant movie, second
    lists[1, :5] = [0, 2, 3, 4, 5]  # all five first: ideal
    hit, ndcg = ev.hits_and_ndcg(relevance, np.asarray([0, 1, 2]), lists)
    ideal = (1 / np.log2(np.arange(2, 7))).sum()
    assert hit == pytest.approx(2 / 3)
    assert ndcg == pytest.approx((1 / np.log2(3) / ideal + 1.0 + 0.0) / 3)


def test_cli_needs_both_ratings_files(tmp_path: Path, fixture_files: tuple[Path, Path]) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    ratings = str(fixture_files[0])
    etl = CliRunner().invoke(app, ["etl", "--ratings", ratings, "--out", str(tmp_path / "b")])
    assert etl.exit_code == 2 and "links" in etl.output
    assert not (tmp_path / "b").exists()
    evaluate = CliRunner().invoke(app, ["evaluate", "--ratings", ratings])
    assert evaluate.exit_code == 2 and "--links" in evaluate.output


def test_synthetic_ratings_reach_their_count_one_per_pair(tmp_path: Path) -> None:
    """``movies synth``'s ratings: the scale's share of the full file's count (repeated draws
    of a popular movie are redrawn, not lost: one round alone fell about 7% short), one
    rating per (viewer, movie), every viewer at the MovieLens minimum, same seed same bytes."""
    from bench import synth_ratings as sr
    from data.paths import SAMPLE_DIR

    scale = 0.002
    made = [sr.generate_ratings(scale, SAMPLE_DIR / "movies_dataset.csv.gz", tmp_path / d)
            for d in ("a", "b")]
    target = round(sr.FULL_RATINGS * scale)
    assert target <= made[0].ratings < target + sr.MAX_ACTIVITY
    frame = pl.read_csv(tmp_path / "a" / "ratings.csv")
    assert frame.height == made[0].ratings
    assert frame.select("userId", "movieId").is_unique().all()
    assert frame.group_by("userId").len()["len"].min() >= sr.MIN_ACTIVITY
    for name in ("ratings.csv", "links.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
