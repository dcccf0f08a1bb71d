"""Re-ranking content neighbours: a vote-based quality prior and a co-liked signal.

Pure functions over NumPy arrays, shared by the server (``data.lookups.recommend``) and the
offline evaluation (``evaluation.recommender``), so what is measured is what is served.

The content recommender's cosine says what a movie is *like*; it cannot tell a classic from
an obscure look-alike. Two signals re-rank its ``depth`` best candidates:

* a **quality prior** per movie in [0, 1], from its votes (``quality_prior``): the IMDb
  weighted rating (a vote average shrunk towards the catalogue mean by ``m`` pseudo-votes),
  log votes (or their square, which spreads the widely seen films further apart from the
  rest), or the product of rating and log votes; movies under a vote-count floor get 0;
* the **co-liked** neighbours of the query built from viewers' ratings (``etl.ratings``),
  Jaccard of their likers, divided by the query's best one so it is in [0, 1] too; they join
  the candidates even when their content is unlike the query's.

``score = (1 - c) * ((1 - p) * cosine + p * prior) + c * coliked`` with ``p`` the prior weight
and ``c`` the co-liked weight; a query without co-liked neighbours (a cold movie, or a build
without ratings) keeps ``(1 - p) * cosine + p * prior``. Every constant below was chosen by
``movies evaluate`` on the tuning half of the query movies (see ``evaluation/recommender.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from data.recommender import Index

PRIOR_FILE = "prior.npy"
COLIKED_FILES = ("coliked_offsets", "coliked_rows", "coliked_scores", "coliked_support")
COLIKED_COSINES = "coliked_cosines"  # optional: each pair's content cosine (``with_cosines``)
PRIOR_FORMS = ("weighted_rating", "log_votes", "log_votes_squared", "product")


@dataclass(frozen=True)
class Prior:
    """How the per-movie prior is formed."""

    form: str = "log_votes"
    m: float = 0.0  # weighted rating: pseudo-votes at the catalogue's mean average
    floor: int = 0  # movies with fewer votes get prior 0

    def __post_init__(self) -> None:
        if self.form not in PRIOR_FORMS:
            raise ValueError(f"unknown prior form {self.form!r}; use one of {PRIOR_FORMS}")


@dataclass(frozen=True)
class Blend:
    """How the candidates are formed and scored."""

    depth: int  # content neighbours re-ranked (at least the n asked for)
    prior_weight: float
    coliked_weight: float


# Chosen by ``movies evaluate --tune`` on the tuning half of the real sample's query movies
# (2,754 settings; the grids are in ``evaluation/recommender.py``), with the field weights
# that ``tune_fields`` chose there. The prior that viewers' co-likes reward is how widely seen
# a film is, more than how well rated: log votes, squared (which sets the widely seen films
# further apart from the rest), with no floor; the vote average, alone or shrunk as the IMDb
# rating, lifted well-rated films that few viewers had seen and scored lower, and the product
# of the two came second.
PRIOR = Prior("log_votes_squared", m=0.0, floor=0)
# A query without co-liked neighbours: its 100 best content neighbours, prior weight 0.15.
CONTENT_BLEND = Blend(depth=100, prior_weight=0.15, coliked_weight=0.0)
# A query with co-liked neighbours: 50 content candidates plus the co-liked ones. A larger
# co-liked weight scores higher on co-liked hits but pushes sequels out of the top 5 (same-
# collection hit @5 under 0.95), which the tuning does not allow.
COLIKED_BLEND = Blend(depth=50, prior_weight=0.1, coliked_weight=0.2)


def weighted_rating(vote_average: np.ndarray, vote_count: np.ndarray, m: float) -> np.ndarray:
    """IMDb's weighted rating ``v / (v + m) * R + m / (v + m) * C`` on a 0-10 scale, with C
    the vote-weighted mean vote average of the catalogue."""
    votes = np.nan_to_num(np.asarray(vote_count, dtype=np.float64))
    average = np.nan_to_num(np.asarray(vote_average, dtype=np.float64))
    c = float((average * votes).sum() / votes.sum()) if votes.sum() > 0 else 0.0
    return (votes * average + m * c) / (votes + m) if m > 0 else average


def quality_prior(vote_average: np.ndarray, vote_count: np.ndarray, prior: Prior = PRIOR
                  ) -> np.ndarray:
    """A per-movie prior in [0, 1] (float32)."""
    votes = np.nan_to_num(np.asarray(vote_count, dtype=np.float64))
    rating = weighted_rating(vote_average, votes, prior.m) / 10.0
    top = float(np.log1p(votes.max())) if votes.size and votes.max() > 0 else 1.0
    popular = np.log1p(votes) / top
    value = {"weighted_rating": rating, "log_votes": popular,
             "log_votes_squared": popular**2, "product": rating * popular}[prior.form]
    value = np.where(votes < prior.floor, 0.0, value)
    return np.clip(value, 0.0, 1.0).astype(np.float32)


def normalised_coliked(scores: np.ndarray) -> np.ndarray:
    """Co-liked scores of one query divided by its best, so its top neighbour scores 1."""
    scores = np.asarray(scores, dtype=np.float32)
    best = float(scores.max()) if scores.size else 0.0
    return scores / np.float32(best) if best > 0 else np.zeros_like(scores)


def blended(cosine: np.ndarray, prior: np.ndarray, coliked: np.ndarray | None, blend: Blend
            ) -> np.ndarray:
    """The score of each candidate (arrays broadcast; ``coliked`` None: the query has no
    co-liked neighbours)."""
    p = np.float32(blend.prior_weight)
    content = (1 - p) * np.asarray(cosine, dtype=np.float32) + p * prior
    if coliked is None:
        return content
    c = np.float32(blend.coliked_weight)
    return (1 - c) * content + c * coliked


def candidates(
    content_rows: np.ndarray, coliked_rows: np.ndarray, coliked_scores: np.ndarray,
    exclude: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The union of the content candidates (best first, already without ``exclude``) and the
    co-liked neighbours not in ``exclude``: (rows, normalised co-liked score, is-new mask
    of the rows whose cosine the caller has yet to compute)."""
    from data.recommender import not_in  # imports this module: a cycle at module level

    coliked_rows = np.asarray(coliked_rows, dtype=np.int64)
    keep = not_in(coliked_rows, np.asarray(exclude, dtype=np.int64))
    co_rows = coliked_rows[keep]
    co_norm = normalised_coliked(np.asarray(coliked_scores)[keep])
    content_rows = np.asarray(content_rows, dtype=np.int64)
    new = not_in(co_rows, content_rows)
    rows = np.concatenate([content_rows, co_rows[new]])
    # Each candidate's co-liked score: co_rows are distinct, so at most one match per row.
    co = np.zeros(rows.size, dtype=np.float32)
    if co_rows.size:
        match = rows[:, None] == co_rows[None, :]
        found = match.any(axis=1)
        co[found] = co_norm[match[found].argmax(axis=1)]
    is_new = np.zeros(rows.size, dtype=bool)
    is_new[content_rows.size:] = True
    return rows, co, is_new


def save_prior(directory: Path, vote_average: np.ndarray, vote_count: np.ndarray) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / PRIOR_FILE, quality_prior(vote_average, vote_count))


def load_prior(directory: Path) -> np.ndarray | None:
    path = directory / PRIOR_FILE
    # A plain ndarray over the map (np.memmap adds work to every indexing).
    return np.load(path, mmap_mode="r").view(np.ndarray) if path.is_file() else None


@dataclass(frozen=True)
class CoLiked:
    """Per movie row, its co-liked neighbours in CSR layout, best first."""

    offsets: np.ndarray  # int64, movies + 1
    rows: np.ndarray  # int32
    scores: np.ndarray  # float32 Jaccard
    support: np.ndarray  # int32 viewers who liked both
    # float64, each pair's content cosine as ``Index.cosines`` computes it: a co-liked
    # neighbour outside the content candidates is scored without reading its document.
    cosines: np.ndarray | None = None

    @property
    def movies(self) -> int:
        return int(self.offsets.size - 1)

    def of(self, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Plain ndarray views of the memory-mapped files: NumPy's memmap subclass adds
        # Python-level overhead to every operation on a slice.
        a, b = int(self.offsets[row]), int(self.offsets[row + 1])
        return (np.asarray(self.rows[a:b]), np.asarray(self.scores[a:b]),
                np.asarray(self.support[a:b]))

    def cosines_of(self, row: int) -> np.ndarray | None:
        if self.cosines is None:
            return None
        return np.asarray(self.cosines[int(self.offsets[row]) : int(self.offsets[row + 1])])

    def with_cosines(self, index: Index) -> CoLiked:
        """The same neighbours with each pair's content cosine (ETL time)."""
        cosines = np.zeros(self.rows.size, dtype=np.float64)
        for row in np.flatnonzero(np.diff(self.offsets)).tolist():
            a, b = int(self.offsets[row]), int(self.offsets[row + 1])
            cosines[a:b] = index.cosines(row, self.rows[a:b])
        return CoLiked(self.offsets, self.rows, self.scores, self.support, cosines)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name, array in zip(COLIKED_FILES, (self.offsets, self.rows, self.scores, self.support),
                               strict=True):
            np.save(directory / f"{name}.npy", array)
        if self.cosines is not None:
            np.save(directory / f"{COLIKED_COSINES}.npy", self.cosines)

    @classmethod
    def load(cls, directory: Path, mmap: bool = True) -> CoLiked | None:
        """The arrays saved in ``directory`` (memory-mapped), or None when there are none."""
        if not all((directory / f"{name}.npy").is_file() for name in COLIKED_FILES):
            return None
        def read(path: Path) -> np.ndarray:
            return np.load(path, mmap_mode="r" if mmap else None).view(np.ndarray)

        offsets, rows, scores, support = (read(directory / f"{name}.npy")
                                          for name in COLIKED_FILES)
        path = directory / f"{COLIKED_COSINES}.npy"
        return cls(offsets, rows, scores, support, read(path) if path.is_file() else None)

    @property
    def nbytes(self) -> int:
        arrays = (self.offsets, self.rows, self.scores, self.support, self.cosines)
        return int(sum(a.nbytes for a in arrays if a is not None))


# --- serving -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    """One recommendation and what its score is made of."""

    row: int
    score: float
    cosine: float  # content similarity with the query
    content_share: float  # the factor on the cosine in the score: (1 - c) * (1 - p)
    coliked: float  # the co-liked term of the score, c * normalised co-liked score
    support: int  # viewers who liked both (0: not a co-liked neighbour)
    fields: dict[str, float] = field(default_factory=dict)  # cosine terms by content field


def recommend(index: Index, row: int, n: int, exclude: np.ndarray) -> list[Ranked]:
    """The ``n`` best movies for ``row``, as the evaluation ranks them (``ranked`` in
    ``evaluation/recommender.py``): content candidates re-ranked with the prior, plus the
    co-liked neighbours where the build has them (``COLIKED_BLEND``), else content and
    prior alone (``CONTENT_BLEND``); an index without a prior ranks by cosine."""
    from data.recommender import not_in  # imports this module: a cycle at module level

    index.check_comparable(row)
    exclude = np.asarray(exclude, dtype=np.int64)
    co_cosines: np.ndarray | None = None
    if index.coliked is not None:
        co_rows, co_scores, co_support = index.coliked.of(row)
        co_cosines = index.coliked.cosines_of(row)
        keep = not_in(co_rows.astype(np.int64), exclude)
        co_rows, co_scores, co_support = co_rows[keep], co_scores[keep], co_support[keep]
        co_cosines = None if co_cosines is None else co_cosines[keep]
    else:
        co_rows = co_support = np.zeros(0, dtype=np.int32)
        co_scores = np.zeros(0, dtype=np.float32)
    has = co_rows.size > 0
    blend = COLIKED_BLEND if has else CONTENT_BLEND
    if index.prior is None:
        blend = Blend(blend.depth, 0.0, blend.coliked_weight)
    content_rows, content_cosines = index.content_candidates(row, max(blend.depth, n), exclude)
    rows, co, is_new = candidates(content_rows, co_rows, co_scores, exclude)
    # Co-liked candidates outside the content list: their cosines as the ETL saved them, else
    # from the two documents (``candidates`` appends them in their co-liked order).
    if co_cosines is not None:
        extra = co_cosines[not_in(co_rows.astype(np.int64), content_rows)]
    else:
        extra = index.cosines(row, rows[is_new])
    cosine = np.concatenate([content_cosines, extra])
    pr = np.asarray(index.prior)[rows] if index.prior is not None else np.zeros_like(cosine)
    scores = blended(cosine, pr, co if has else None, blend)
    order = np.lexsort((rows, -scores))[:n]
    best = rows[order]
    c = blend.coliked_weight if has else 0.0
    share = (1 - c) * (1 - blend.prior_weight)
    # Viewers who liked both, for the n results only (0: not a co-liked neighbour).
    support = np.zeros(best.size, dtype=np.int64)
    if has:
        match = best[:, None] == co_rows[None, :].astype(np.int64)
        found = match.any(axis=1)
        support[found] = co_support[match[found].argmax(axis=1)]
    fields = field_contributions(index, row, best)
    return [
        Ranked(r, s, cos, share, c * co_value, sup, parts)
        for r, s, cos, co_value, sup, parts in zip(
            best.tolist(), scores[order].tolist(), cosine[order].tolist(),
            co[order].tolist(), support.tolist(), fields, strict=True)
    ]


def field_layout(index: Index) -> tuple[list[str], np.ndarray]:
    """The index's fields and the first matrix column of each (fields are stacked in
    order): from the saved index's meta, or the meta an in-memory index was given."""
    meta = index.meta
    if "fields" not in meta or "field_offsets" not in meta:
        raise ValueError("the index's meta has no field layout (fields, field_offsets)")
    names = list(meta["fields"])
    return names, np.asarray([meta["field_offsets"][name] for name in names], dtype=np.int64)


def field_contributions(index: Index, a: int, rows: Sequence[int] | np.ndarray
                        ) -> list[dict[str, float]]:
    """For each of ``rows``, how much each field adds to its cosine with movie ``a`` (the
    terms of their dot product, summed per field)."""
    rows = np.asarray(rows, dtype=np.int64)
    if not rows.size:
        return []
    names, starts = field_layout(index)
    which, cols, product = index.by_movie.products(a, rows)
    field_of = np.searchsorted(starts, cols, side="right") - 1
    sums = np.bincount(which * len(names) + field_of, weights=product,
                       minlength=rows.size * len(names)).reshape(rows.size, len(names))
    return [dict(zip(names, values, strict=True)) for values in sums.tolist()]
