"""Every movie's nearest content neighbours, computed once at ETL time.

Answering a recommendation from the postings costs the postings of the query's terms (about
64,000 for a movie of the full catalogue: its language and genres are shared by thousands of
films) plus a top-n pass over every movie, and both grow with the catalogue. The build
instead stores each movie's ``K`` best neighbours by cosine, so a worker reads one row of
``K`` ids and the re-ranking (``data.rerank``) touches nothing else that scales.

The all-pairs product never exists whole: it is formed ``block`` query rows at a time. Terms
shared by thousands of movies make every slab nearly dense, so the most common terms are
multiplied as a small dense block (BLAS) and the rest as sparse products; the two column sets
are disjoint, so their sum is the full dot product. Products are summed in float64, as the
served index sums them, and ranked as ``data.recommender.top_indices`` ranks: best first,
ties by row, only positive scores.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from data.rerank import COLIKED_BLEND, CONTENT_BLEND

# The deepest content candidate list served (the blends' depths, never under the largest n a
# client may ask), plus slack for the rows a query excludes (its same-title twins).
SLACK = 12
K = max(CONTENT_BLEND.depth, COLIKED_BLEND.depth) + SLACK
DENSE_TERMS = 48  # the most common terms, multiplied as a dense block
BLOCK_CELLS = 1 << 22  # query rows x movies per slab (32 MB of float64)
CHUNK = 16  # columns per chunk whose maximum bounds a row's k-th best score


def content_neighbours(matrix: sp.csr_matrix, k: int = K, dense_terms: int = DENSE_TERMS,
                       threads: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(rows int32, cosines float32), each (N, k): for every movie its ``k`` best other movies,
    padded with -1 and 0 where fewer than ``k`` score above 0."""
    matrix = sp.csr_matrix(matrix, dtype=np.float64)
    n, terms = matrix.shape
    k = max(0, min(k, n - 1))
    rows = np.full((n, k), -1, dtype=np.int32)
    cosines = np.zeros((n, k), dtype=np.float32)
    if k == 0 or matrix.nnz == 0:
        return rows, cosines
    df = np.bincount(matrix.indices, minlength=terms)
    common = np.zeros(terms, dtype=bool)
    common[np.argsort(-df, kind="stable")[:dense_terms]] = True
    common &= df > 0
    dense = matrix[:, np.flatnonzero(common)].toarray()
    rare = matrix[:, np.flatnonzero(~common)].tocsr()
    postings = rare.T.tocsr()  # term -> the movies that have it
    block = max(1, min(n, BLOCK_CELLS // n))

    width = -(-n // CHUNK) * CHUNK  # rows padded to whole chunks with -inf

    def one(start: int) -> None:
        stop = min(n, start + block)
        slab = _sparse_slab(rare, postings, start, stop, width)
        slab[:, :n] += dense[start:stop] @ dense.T
        slab[:, n:] = -np.inf
        slab[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # never itself
        rows[start:stop], cosines[start:stop] = _best(slab, k)

    starts = range(0, n, block)
    if threads <= 1:
        for start in starts:
            one(start)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, starts))
    return rows, cosines


def _sparse_slab(rare: sp.csr_matrix, postings: sp.csr_matrix, start: int, stop: int,
                 width: int) -> np.ndarray:
    """Rows ``start:stop`` of ``rare @ rare.T`` as a dense array ``width`` columns wide (zeros
    past the last movie): each query term's postings scaled by the query's value, summed by
    one ``bincount`` over (query, movie) cells."""
    a, b = rare.indptr[start], rare.indptr[stop]
    terms, values = rare.indices[a:b], rare.data[a:b]
    query = np.repeat(np.arange(stop - start, dtype=np.int64), np.diff(rare.indptr[start:stop + 1]))
    begins = postings.indptr[terms]
    lengths = postings.indptr[terms + 1] - begins
    at = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(lengths) - lengths - begins, lengths)
    cells = np.repeat(query * width, lengths) + postings.indices[at]
    weights = np.repeat(values, lengths) * postings.data[at]
    found = np.bincount(cells, weights=weights, minlength=(stop - start) * width)
    # (an empty bincount is of integers)
    return found.astype(np.float64, copy=False).reshape(-1, width)


def _best(slab: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each slab row's ``k`` best columns (best first, ties by column, positive only); the
    slab's width is a multiple of ``CHUNK``.

    A full partition of every row costs more than the products that made it. Instead the
    columns are dealt into chunks (column ``j`` into chunk ``j % chunks``, so the maxima are
    one vectorised pass). With ``L`` the k-th highest chunk maximum, the k-th best score is at
    least ``L`` (k chunks hold a score that high), so every score that can rank lies in a chunk
    whose maximum reaches ``L``: the ``2k`` chunks with the highest maxima hold them all unless
    more than ``2k`` chunks reach ``L`` (many equal scores), and only those are ranked. Ties at
    the k-th place are broken by column among the candidates; rows with too many tied chunks
    or fewer than k positive scores are ranked in full, as ``data.recommender.top_indices``
    ranks."""
    b, width = slab.shape
    chunks = width // CHUNK
    maxima = slab.reshape(b, CHUNK, chunks).max(axis=1)
    kc, many = min(k, chunks), min(2 * k, chunks)
    part = np.argpartition(maxima, sorted({chunks - many, chunks - kc}), axis=1)
    picked = part[:, chunks - many:]
    reach = np.take_along_axis(maxima, part[:, chunks - kc : chunks - kc + 1], axis=1)
    offsets = np.arange(CHUNK)[None, :, None] * chunks + picked[:, None, :]
    columns = offsets.reshape(b, -1)
    scores = slab.ravel().take((columns + np.arange(b)[:, None] * width).ravel()
                               ).reshape(b, -1)
    kk = min(k, scores.shape[1])
    top = np.argpartition(scores, scores.shape[1] - kk, axis=1)[:, scores.shape[1] - kk:]
    best_columns = np.take_along_axis(columns, top, axis=1)
    best_scores = np.take_along_axis(scores, top, axis=1)
    kth = best_scores.min(axis=1)
    order = np.lexsort((best_columns, -best_scores), axis=1)
    rows = np.full((b, k), -1, dtype=np.int32)
    cosines = np.zeros((b, k), dtype=np.float32)
    rows[:, :kk] = np.take_along_axis(best_columns, order, axis=1)
    cosines[:, :kk] = np.take_along_axis(best_scores, order, axis=1)
    in_full = (np.count_nonzero(maxima >= reach, axis=1) > many) | (kth <= 0)
    tied = ~in_full & (np.count_nonzero(scores >= kth[:, None], axis=1) > kk)
    for i in np.flatnonzero(tied).tolist():
        rows[i], cosines[i] = _ranked(columns[i], scores[i], k)
    for i in np.flatnonzero(in_full).tolist():
        rows[i], cosines[i] = _ranked(np.arange(width), slab[i], k)
    return rows, cosines


def _ranked(columns: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best positive ``scores`` (ties by column) as (columns, scores) padded with
    -1 and 0."""
    rows = np.full(k, -1, dtype=np.int32)
    cosines = np.zeros(k, dtype=np.float32)
    positive = np.flatnonzero(scores > 0)
    if positive.size > k:
        cut = np.partition(scores[positive], positive.size - k)[positive.size - k]
        positive = positive[scores[positive] >= cut]
    best = positive[np.lexsort((columns[positive], -scores[positive]))][:k]
    rows[: best.size], cosines[: best.size] = columns[best], scores[best]
    return rows, cosines
