"""The precomputed content neighbour lists (``etl.neighbours``) and how the served index reads
them: they must rank exactly as the full computation from the postings does (best first, ties
by row, positive scores only), and the index must fall back to that computation whenever a
list cannot say what comes next."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.preprocessing import normalize

from data import lookups
from data.catalog import Catalog
from data.recommender import Index, listed_neighbours, top_indices
from etl.neighbours import content_neighbours


def index_of(matrix: sp.csr_matrix, lists: tuple[np.ndarray, np.ndarray] | None) -> Index:
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    by_term = matrix.tocsc()
    arrays = {
        "matrix.indptr": matrix.indptr.astype(np.int64), "matrix.indices": matrix.indices,
        "matrix.data": matrix.data, "by_term.indptr": by_term.indptr.astype(np.int64),
        "by_term.indices": by_term.indices, "by_term.data": by_term.data,
        "ids": np.arange(matrix.shape[0], dtype=np.int64),
        "text_norm": np.ones(matrix.shape[0], dtype=np.float32),
    }
    if lists is not None:
        arrays["neighbours.rows"], arrays["neighbours.cosines"] = lists
    return Index(arrays)


@st.composite
def documents(draw: st.DrawFn) -> sp.csr_matrix:
    """Small L2-normalised documents over few terms (so that many pairs tie and some rows
    share no term with any other), with exact duplicates among them."""
    n = draw(st.integers(2, 40))
    terms = draw(st.integers(1, 12))
    cells = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, terms - 1),
                                    st.sampled_from([0.5, 1.0, 2.0, 3.0])), max_size=4 * n))
    dense = np.zeros((n, terms))
    for r, c, v in cells:
        dense[r, c] = v
    for r in draw(st.lists(st.integers(0, n - 1), max_size=4)):  # duplicated documents
        dense[r] = dense[0]
    return normalize(sp.csr_matrix(dense)).astype(np.float32)


@settings(max_examples=200, deadline=None)
@given(documents(), st.integers(1, 8), st.integers(0, 3))
def test_lists_rank_as_the_postings_do(matrix: sp.csr_matrix, k: int, dense_terms: int) -> None:
    rows, cosines = content_neighbours(matrix, k=k, dense_terms=dense_terms)
    full = index_of(matrix, None)
    for row in range(matrix.shape[0]):
        every = full.row_scores(row)
        want = top_indices(every, min(k, matrix.shape[0] - 1), np.asarray([row]))
        got = rows[row][rows[row] >= 0]
        assert got.tolist() == want.tolist()
        assert np.allclose(cosines[row][: got.size], every[want], atol=1e-6)
        assert (cosines[row][got.size:] == 0).all()


@settings(max_examples=200, deadline=None)
@given(documents(), st.integers(1, 6), st.data())
def test_served_candidates_equal_the_full_computation(
    matrix: sp.csr_matrix, depth: int, data: st.DataObject
) -> None:
    """Whatever a query excludes (more rows than the lists' slack included), the index reads
    the list when it can and computes from the postings when it cannot: same answer."""
    n = matrix.shape[0]
    width = data.draw(st.integers(1, depth + 3))
    listed = index_of(matrix, content_neighbours(matrix, k=width))
    full = index_of(matrix, None)
    row = data.draw(st.integers(0, n - 1))
    exclude = np.unique(np.asarray(
        [row, *data.draw(st.lists(st.integers(0, n - 1), max_size=6))], dtype=np.int64))
    got_rows, got_cosines = listed.content_candidates(row, depth, exclude)
    want_rows, want_cosines = full.content_candidates(row, depth, exclude)
    assert got_rows.tolist() == want_rows.tolist()
    assert np.allclose(got_cosines, want_cosines, atol=1e-6)


def test_a_cut_list_with_too_many_exclusions_says_so() -> None:
    rows = np.asarray([4, 2, 7], dtype=np.int32)
    cosines = np.asarray([0.9, 0.5, 0.1], dtype=np.float32)
    assert listed_neighbours(rows, cosines, 2, np.asarray([4]))[0].tolist() == [2, 7]
    assert listed_neighbours(rows, cosines, 3, np.asarray([4])) is None
    # A padded list holds every movie that scores above 0: a short answer is the answer.
    padded = np.asarray([4, 2, -1], dtype=np.int32)
    assert listed_neighbours(padded, cosines, 3, np.asarray([4]))[0].tolist() == [2]


def test_the_build_serves_from_its_lists(catalog: Catalog) -> None:
    """The sample build carries the lists, and recommendations read from them are the ones
    computed from the postings (toggled on the same catalog, every 5th movie)."""
    index = catalog.index
    assert index is not None and index.neighbour_rows is not None
    assert index.neighbour_rows.shape[0] == index.n_movies
    lists = index.neighbour_rows, index.neighbour_cosines
    compared = 0
    try:
        for row in range(0, index.n_movies, 5):
            if index.empty[row]:
                continue
            index.neighbour_rows, index.neighbour_cosines = lists
            served = [(r.row, round(r.score, 6)) for r in lookups.recommend(catalog, row, 10)]
            index.neighbour_rows = index.neighbour_cosines = None
            computed = [(r.row, round(r.score, 6)) for r in lookups.recommend(catalog, row, 10)]
            assert served == computed, row
            compared += 1
    finally:
        index.neighbour_rows, index.neighbour_cosines = lists
    assert compared > 900


def test_star_wars_lists_its_sequels_first(catalog: Catalog) -> None:
    index = catalog.index
    assert index is not None and index.neighbour_rows is not None
    row = catalog.movie_row(11)  # Star Wars (1977)
    assert row is not None
    first = index.ids[index.neighbour_rows[row][:5]].tolist()
    assert {1891, 1892} <= set(first)  # The Empire Strikes Back, Return of the Jedi


@pytest.mark.parametrize("threads", [1, 2])
def test_threads_do_not_change_the_lists(sample_build: Path, threads: int) -> None:
    index = Index.load(sample_build / "recommender")
    matrix = sp.csr_matrix((index.by_movie.data, index.by_movie.indices, index.by_movie.indptr),
                           shape=(index.n_movies, int(index.by_movie.indices.max()) + 1))
    rows, cosines = content_neighbours(matrix, k=20, threads=threads)
    assert index.neighbour_rows is not None
    assert np.array_equal(rows, index.neighbour_rows[:, :20])
    assert np.array_equal(cosines, index.neighbour_cosines[:, :20])
