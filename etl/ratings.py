"""Co-liked neighbours from viewers' ratings (MovieLens ``ratings.csv`` + ``links.csv``).

A viewer *likes* a movie when they rate it ``LIKE`` (4 of 5) or more. For every movie of the
build this keeps its ``TOP_K`` most co-liked other movies: the Jaccard similarity of their
sets of likers (both-liked / either-liked), among pairs liked together by at least
``MIN_SUPPORT`` viewers (below that a pair is chance). The result is a CSR layout over movie
rows (rows in movie-id order, as in the recommender index), saved as plain ``.npy`` files
that the server memory-maps:

* ``coliked_offsets.npy`` (int64, movies + 1): movie ``r``'s neighbours are
  ``offsets[r]:offsets[r + 1]``, best first (ties by row);
* ``coliked_rows.npy`` (int32), ``coliked_scores.npy`` (float32, the Jaccard),
  ``coliked_support.npy`` (int32, how many viewers liked both).

Bounded: ratings are read with Polars' streaming engine (only the likes of linked movies are
kept, as two int32 columns), and the co-occurrence ``X^T X`` of the viewers x movies like
matrix is computed ``BLOCK`` movies at a time on ``WORKERS`` threads, each block reduced to
its top k as soon as it is computed, so no movies x movies matrix ever exists. Viewers with
more than ``MAX_LIKES_PER_VIEWER`` likes contribute a fixed pseudo-random subset of that
size: the pair count grows with the square of a viewer's likes, so a few thousand-movie
raters would otherwise cost more than everybody else together, while telling little about
any one pair. Each pair is saved with its content cosine, read from the index the ETL has
just saved. At scale 1 of the synthetic twin (26.0 million ratings) the build peaks at about
1.1 GB and takes 36 s (see the README).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from data.build import IMAGE_META, INDEX_DIR
from data.recommender import Index
from data.rerank import CoLiked

LIKE = 4.0
MIN_SUPPORT = 3
TOP_K = 50
MAX_LIKES_PER_VIEWER = 200
BLOCK = 512  # movies per co-occurrence block
WORKERS = min(2, os.cpu_count() or 1)  # blocks computed at once


class RatingsError(Exception):
    """A ratings or links file is missing or lacks the columns it needs."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def _scan(path: Path, columns: dict[str, pl.DataType | type[pl.DataType]]) -> pl.LazyFrame:
    path = Path(path)
    if not path.is_file():
        raise RatingsError(path, "file not found")
    with path.open("rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
    header = pl.read_csv(path, n_rows=0).columns
    missing = [c for c in columns if c not in header]
    if missing:
        raise RatingsError(path, f"missing column(s) {', '.join(missing)}")
    overrides = {name: pl.String for name in header if name not in columns} | columns
    if compressed:  # Polars scans plain CSV lazily; gzip is decompressed and read whole
        return pl.read_csv(path, schema_overrides=overrides, columns=list(columns)).lazy()
    return pl.scan_csv(path, schema_overrides=overrides).select(list(columns))


def scan_likes(ratings: Path, links: Path) -> pl.LazyFrame:
    """(user, tmdb_id) for every rating >= ``LIKE`` of a movie that links to a TMDB id."""
    rated = _scan(ratings, {"userId": pl.Int32, "movieId": pl.Int32, "rating": pl.Float32})
    linked = _scan(links, {"movieId": pl.Int32, "tmdbId": pl.Int64})
    return (
        rated.filter(pl.col("rating") >= LIKE)
        .join(linked.drop_nulls("tmdbId"), on="movieId")
        .select(user=pl.col("userId"), tmdb_id=pl.col("tmdbId"))
    )


@dataclass(frozen=True)
class Likes:
    """Distinct (viewer, movie row) like pairs, viewers numbered 0..viewers-1."""

    viewer: np.ndarray  # int32
    movie: np.ndarray  # int32, a row of the build's id-sorted movies
    viewers: int
    movies: int

    def matrix(self) -> sp.csr_matrix:
        """Viewers x movies, 1 where the viewer liked the movie."""
        ones = np.ones(self.viewer.size, dtype=np.float32)
        return sp.csr_matrix(
            (ones, (self.viewer, self.movie)), shape=(self.viewers, self.movies)
        )

    def likers(self) -> np.ndarray:
        return np.bincount(self.movie, minlength=self.movies)


def likes_of(
    pairs: pl.LazyFrame, movie_ids: np.ndarray, max_per_viewer: int | None = MAX_LIKES_PER_VIEWER
) -> Likes:
    """Map (user, tmdb_id) pairs onto the rows of ``movie_ids`` (sorted ascending), keeping
    distinct pairs of movies in the build; a viewer above ``max_per_viewer`` likes keeps a
    fixed pseudo-random subset of that size (by a hash of the pair, so runs agree)."""
    rows = pl.LazyFrame(
        {"tmdb_id": np.asarray(movie_ids, dtype=np.int64),
         "movie": np.arange(len(movie_ids), dtype=np.int32)}
    )
    frame = pairs.join(rows, on="tmdb_id").select("user", "movie").unique()
    if max_per_viewer is not None:
        key = pl.struct("user", "movie").hash(seed=0)
        frame = frame.filter(key.rank("ordinal").over("user") <= max_per_viewer)
    frame = frame.with_columns(viewer=pl.col("user").rank("dense").cast(pl.Int32) - 1)
    # Sorted: the streaming engine returns rows in no fixed order, and the arrays should not
    # differ from run to run.
    got = frame.select("viewer", "movie").sort("viewer", "movie").collect(engine="streaming")
    viewer = got["viewer"].to_numpy()
    return Likes(
        viewer=viewer.astype(np.int32, copy=False),
        movie=got["movie"].to_numpy().astype(np.int32, copy=False),
        viewers=int(viewer.max()) + 1 if viewer.size else 0,
        movies=len(movie_ids),
    )


def coliked(likes: Likes, top_k: int = TOP_K, min_support: int = MIN_SUPPORT,
            block: int = BLOCK, workers: int = WORKERS) -> CoLiked:
    """Each movie's ``top_k`` neighbours by Jaccard of likers, pairs with fewer than
    ``min_support`` co-likers left out; ties broken by row so the result is deterministic.
    Blocks run on ``workers`` threads (SciPy's sparse product and NumPy's sorts release the
    GIL), so at most ``workers`` block products are in memory at once."""
    x = likes.matrix()
    xt = x.T.tocsr()
    likers = likes.likers().astype(np.float64)
    active = np.flatnonzero(likers >= min_support)  # rows that can have a neighbour at all

    def top(chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        product = xt[chunk] @ x  # co-likers of each chunk movie with every movie (CSR)
        # Most entries are chance pairs under the support: find the rows of the others only.
        at = np.flatnonzero(product.data >= min_support)
        row_of = np.searchsorted(product.indptr, at, side="right") - 1
        cols, both = product.indices[at], product.data[at]
        del product, at
        own = chunk[row_of]
        keep = cols != own
        row_of, cols, both, own = row_of[keep], cols[keep], both[keep], own[keep]
        score = both / (likers[own] + likers[cols] - both)
        # Entries stay grouped by movie: cut each movie with more than top_k candidates to
        # those at or above its k-th best score (linear), then sort only what is left.
        per_row = np.bincount(row_of, minlength=chunk.size)
        bounds = np.concatenate([[0], np.cumsum(per_row)])
        cut = np.ones(score.size, dtype=bool)
        for i in np.flatnonzero(per_row > top_k).tolist():
            a, b = bounds[i], bounds[i + 1]
            kth = np.partition(score[a:b], b - a - top_k)[b - a - top_k]
            cut[a:b] = score[a:b] >= kth
        row_of, cols, both, score = row_of[cut], cols[cut], both[cut], score[cut]
        # Best first within each movie, ties by neighbour row.
        order = np.lexsort((cols, -score, row_of))
        row_of, cols, both, score = row_of[order], cols[order], both[order], score[order]
        starts = np.searchsorted(row_of, np.arange(chunk.size))
        rank = np.arange(row_of.size) - starts[row_of]
        best = rank < top_k
        return (np.bincount(row_of[best], minlength=chunk.size), cols[best].astype(np.int32),
                score[best].astype(np.float32), both[best].astype(np.int32))

    chunks = [active[start : start + block] for start in range(0, active.size, block)]
    counts = np.zeros(likes.movies, dtype=np.int64)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        # ``map`` yields in submission order: blocks follow ascending ``active`` rows, so
        # their concatenation is in row order.
        for chunk, (count, cols, score, both) in zip(chunks, pool.map(top, chunks),
                                                     strict=True):
            counts[chunk] = count
            parts.append((cols, score, both))
    offsets = np.zeros(likes.movies + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])

    def joined(i: int, dtype: type) -> np.ndarray:
        return np.concatenate([p[i] for p in parts]) if parts else np.zeros(0, dtype=dtype)

    return CoLiked(offsets, joined(0, np.int32), joined(1, np.float32), joined(2, np.int32))


def build(ratings: Path, links: Path, movie_ids: np.ndarray, directory: Path) -> dict[str, Any]:
    """ETL hook: the co-liked arrays of a build's movies, saved into ``directory``; returns
    what the manifest records."""
    started = time.perf_counter()
    likes = likes_of(scan_likes(ratings, links), movie_ids)
    read = time.perf_counter() - started
    table = coliked(likes)
    if (directory / IMAGE_META).is_file():  # each pair's cosine, from the index saved before
        table = table.with_cosines(Index.load(directory))
    table.save(directory)
    return {
        "ratings": str(ratings),
        "links": str(links),
        "likes": int(likes.viewer.size),
        "viewers": likes.viewers,
        "movies_with_neighbours": int((np.diff(table.offsets) > 0).sum()),
        "pairs": int(table.rows.size),
        "like_threshold": LIKE,
        "min_support": MIN_SUPPORT,
        "top_k": TOP_K,
        "max_likes_per_viewer": MAX_LIKES_PER_VIEWER,
        "read_s": round(read, 3),
        "seconds": round(time.perf_counter() - started, 3),
    }


RAW_NAMES = {"ratings": "ratings.csv", "links": "links.csv"}


def find_raw(directory: Path) -> tuple[Path | None, Path | None]:
    """``ratings.csv`` and ``links.csv`` (or ``.csv.gz``) in ``directory``, where present."""
    found = []
    for name in RAW_NAMES.values():
        candidates = [directory / name, directory / f"{name}.gz"]
        found.append(next((c for c in candidates if c.is_file()), None))
    return found[0], found[1]


FitIndex = Callable[[dict[str, pl.DataFrame], Path], dict[str, Any]]


def with_coliked(fit_index: FitIndex, ratings: Path | None, links: Path | None) -> FitIndex:
    """The ETL's recommender hook, plus the co-liked arrays when both files are given."""
    if (ratings is None) != (links is None):
        missing = "links" if links is None else "ratings"
        raise RatingsError(Path(str(ratings or links)), f"needs the {missing} file too")

    def fit(tables: dict[str, pl.DataFrame], build_dir: Path) -> dict[str, Any]:
        info = fit_index(tables, build_dir)
        if ratings is not None and links is not None:
            ids = tables["movies"]["id"].sort().to_numpy()
            info["coliked"] = build(ratings, links, ids, build_dir / INDEX_DIR)
        return info

    return fit
