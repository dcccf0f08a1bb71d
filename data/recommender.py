"""The content-based recommender as served: cosine top-n over memory-mapped arrays.

``etl/vectorize.py`` fits the weighted TF-IDF fields (overview, tagline, title, genres,
keywords, collection, director, top cast, companies, original language) at ETL time and saves
the L2-normalised document matrix twice, movie-major (CSR) and term-major (CSC), with each
text field's vocabulary and idf. Serving needs NumPy only: a movie's neighbours are the dot
products of its row with every movie, computed from the term-major postings of that row's own
terms, so a query touches only its terms' postings and no dense N x N matrix ever exists. A
free-text query is encoded here exactly as the fitted vectorizers would encode it (a property
test holds the two equal), without importing scikit-learn into the server. Where the build
has them, the quality prior and the co-liked neighbours (``data.rerank``) are mapped with it.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from data.errors import NotFound
from data.image import Image, ImageError, KeyIndex, open_image

if TYPE_CHECKING:
    from data.rerank import CoLiked

FORMAT = "recommender-1"
# Fields analysed as English words (these also take free-text queries) ...
TEXT_FIELDS = ("overview", "tagline", "title", "genres", "keywords")
# (of which these are lists of names, analysed by ``phrase_terms``) ...
PHRASE_FIELDS = ("genres", "keywords")
# ... and fields that are sets of ids, matched exactly.
TOKEN_FIELDS = ("collection", "director", "cast", "companies", "language")
FIELDS = TEXT_FIELDS + TOKEN_FIELDS

# Chosen by the offline evaluation's coordinate search (``evaluation/recommender.py`` says how
# and with what results).
DEFAULT_WEIGHTS: dict[str, float] = {
    "overview": 1.0,
    "tagline": 0.25,
    "title": 1.0,
    "genres": 1.0,
    "keywords": 0.5,
    "collection": 0.5,
    "director": 0.25,
    "cast": 0.25,
    "companies": 0.25,
    "language": 0.5,
}
# A free-text query leans on the curated vocabularies (genre and keyword names, phrases
# such as "space opera") more than on a title's or tagline's incidental words (title search
# is what searchMovies is for). Chosen by eye on a handful of queries (tests/test_recommender).
TEXT_WEIGHTS: dict[str, float] = {
    "overview": 1.0, "tagline": 0.25, "title": 0.25, "genres": 1.5, "keywords": 1.5,
}
PHRASE_BOOST = 3.0
MIN_DOCUMENT_TERMS = 1
PHRASE_SEP = "|"  # separates genre and keyword names inside their fields
WORD = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern
_TITLE_WORD = re.compile(r"(?u)\b\w+\b")


def phrase_terms(text: str, stop_words: frozenset[str]) -> list[str]:
    """Terms of a field of names ("death star|space opera"): each name's words (English stop
    words dropped) plus its word bigrams, never a bigram spanning two names. A free-text query
    has no separator, so its consecutive words form bigrams: "space opera with rebels" yields
    the keyword "space opera"."""
    terms: list[str] = []
    for phrase in text.lower().split(PHRASE_SEP):
        words = [w for w in WORD.findall(phrase) if w not in stop_words]
        terms.extend(words)
        terms.extend(f"{a} {b}" for a, b in itertools.pairwise(words))
    return terms


def title_terms(text: str, stop_words: frozenset[str]) -> list[str]:
    """A title's words (single letters too: "M"), without English stop words unless that
    would leave nothing ("It", "Them!")."""
    words = _TITLE_WORD.findall(text.lower())
    return [w for w in words if w not in stop_words] or words


def word_terms(text: str, stop_words: frozenset[str]) -> list[str]:
    """scikit-learn's default word analyzer with English stop words."""
    return [w for w in WORD.findall(text.lower()) if w not in stop_words]


def analyzer(field: str) -> Any:
    """The analyzer of a text field (shared by the fit and the served text encoder)."""
    if field in PHRASE_FIELDS:
        return phrase_terms
    if field == "title":
        return title_terms
    return word_terms


@dataclass
class Neighbour:
    row: int
    score: float


def top_indices(scores: np.ndarray, n: int, exclude: np.ndarray) -> np.ndarray:
    """The rows of the ``n`` best positive scores, best first, ties broken by row (movie id)
    so answers are stable; ``exclude`` rows never appear. ``scores`` is left as it was."""
    if exclude.size:
        scores = scores.copy()
        scores[exclude] = -np.inf
    k = min(n, int(np.count_nonzero(scores > 0)))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(scores, scores.size - k)[-k:] if k < scores.size else \
        np.arange(scores.size)
    tied = np.flatnonzero(scores >= scores[part].min())  # everything that could be in the top k
    return tied[np.lexsort((tied, -scores[tied]))][:k]


def not_in(values: np.ndarray, others: np.ndarray) -> np.ndarray:
    """A mask of the ``values`` absent from ``others``: both hold tens of rows, where one
    broadcast comparison costs less than ``np.isin``'s set-up or Python sets."""
    if not others.size:
        return np.ones(values.size, dtype=bool)
    return (values[:, None] != others[None, :]).all(axis=1)


def listed_neighbours(rows: np.ndarray, cosines: np.ndarray, depth: int, exclude: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray] | None:
    """The first ``depth`` entries not in ``exclude`` of a movie's precomputed neighbour list
    (``etl.neighbours``: best first, padded with -1 once no other movie scores above 0), as
    (rows, cosines); None when the list was cut at its width and the exclusions leave fewer
    than ``depth`` of it, so only the full computation can say what comes next."""
    keep = rows >= 0
    complete = not bool(keep.all())
    if exclude.size:
        keep &= not_in(rows, exclude)
    found = np.flatnonzero(keep)
    if not complete and found.size < depth:
        return None
    found = found[:depth]
    return rows[found].astype(np.int64), cosines[found].astype(np.float64)


def top_rows(scores: np.ndarray, n: int, exclude: np.ndarray) -> list[Neighbour]:
    """``top_indices`` with their scores."""
    best = top_indices(scores, n, exclude)
    return [Neighbour(row, score) for row, score in zip(best.tolist(), scores[best].tolist(),
                                                         strict=True)]


class Sparse:
    """A compressed sparse matrix as three arrays (CSR by rows or CSC by columns)."""

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray) -> None:
        self.indptr, self.indices, self.data = indptr, indices, data

    def line(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.indptr[i], self.indptr[i + 1]
        return self.indices[start:end], self.data[start:end]

    def weighted_sum(self, lines: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
        """``sum_k weights[k] * line(lines[k])`` as a dense vector of ``size``."""
        starts = self.indptr[lines].tolist()
        ends = self.indptr[lines + 1].tolist()
        if sum(ends) == sum(starts):
            return np.zeros(size, dtype=np.float64)
        # The chosen lines' postings copied out slice by slice (cheaper than gathering them
        # through an index array), products and sums in float64, so equal documents score
        # exactly alike.
        spans = list(zip(starts, ends, strict=True))
        rows = np.concatenate([self.indices[a:b] for a, b in spans])
        values = np.concatenate([self.data[a:b] for a, b in spans])
        scale = np.repeat(weights.astype(np.float64), np.subtract(ends, starts))
        return np.bincount(rows, weights=values * scale, minlength=size)

    def products(self, a: int, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The nonzero terms of the dot products of line ``a`` with each of ``lines`` (a
        handful): (which of ``lines``, column, product in float64)."""
        ptr, indices, data = self.indptr, self.indices, self.data
        mine = indices[ptr[a] : ptr[a + 1]]
        order = np.argsort(mine)
        mine, values = mine[order], data[ptr[a] : ptr[a + 1]][order]
        starts, ends = ptr[lines], ptr[lines + 1]
        lengths = ends - starts
        which = np.repeat(np.arange(lines.size), lengths)
        at = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths - starts, lengths)
        cols = indices[at]
        if not mine.size:
            return which[:0], cols[:0], np.zeros(0, dtype=np.float64)
        pos = np.minimum(np.searchsorted(mine, cols), mine.size - 1)
        hit = mine[pos] == cols
        product = data[at[hit]].astype(np.float64) * values[pos[hit]]
        return which[hit], cols[hit], product

    @property
    def nbytes(self) -> int:
        return int(self.indptr.nbytes + self.indices.nbytes + self.data.nbytes)


class TextEncoder:
    """Encodes free text into the matrix's space, as the fitted vectorizers do: per text field
    term counts (sublinear for overview and tagline) times idf, L2-normalised, scaled so each
    field counts ``TEXT_WEIGHTS``, phrases boosted, and the whole vector normalised."""

    def __init__(self, image: Image) -> None:
        meta = image.meta
        self.weights: dict[str, float] = meta["weights"]
        self.stop_words = frozenset(meta["stop_words"])
        self.fields = [f for f in meta["fields"] if f in TEXT_FIELDS]
        self.offsets: dict[str, int] = meta["field_offsets"]
        self.sublinear: dict[str, bool] = meta["sublinear"]
        self.vocabulary = {f: KeyIndex(image, f"vocab.{f}") for f in self.fields}
        self.idf = {f: image.array(f"idf.{f}") for f in self.fields}

    def encode(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(matrix columns, values) of the normalised query vector."""
        columns: list[np.ndarray] = []
        values: list[np.ndarray] = []
        phrases = {t for t in phrase_terms(text, self.stop_words) if " " in t}
        for field in self.fields:
            counts = Counter(analyzer(field)(text, self.stop_words))
            found = [(self._column(field, t), c, t) for t, c in counts.items()]
            found = [(col, c, t) for col, c, t in found if col is not None]
            if not found:
                continue
            cols = np.array([col for col, _c, _t in found], dtype=np.int64)
            tf = np.array([c for _col, c, _t in found], dtype=np.float64)
            if self.sublinear[field]:
                tf = 1.0 + np.log(tf)
            block = tf * self.idf[field][cols]
            block = block / math.sqrt(float(block @ block))
            if field in PHRASE_FIELDS and phrases:
                block *= np.array([PHRASE_BOOST if t in phrases else 1.0
                                   for _col, _c, t in found])
            # The movie side already carries its field weight; scaling the query side by
            # TEXT_WEIGHTS / weight makes each field count TEXT_WEIGHTS in the product.
            block *= TEXT_WEIGHTS.get(field, 0.0) / self.weights[field]
            columns.append(cols + self.offsets[field])
            values.append(block)
        if not columns:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        vector = np.concatenate(values)
        norm = math.sqrt(float(vector @ vector))
        if norm == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return np.concatenate(columns), (vector / norm).astype(np.float32)

    def _column(self, field: str, term: str) -> int | None:
        rows = self.vocabulary[field].find(term)
        return None if rows is None else int(rows[0])


class Index:
    """The fitted document matrix (rows in movie-id order) with cosine top-n queries."""

    def __init__(self, arrays: Mapping[str, np.ndarray], encoder: TextEncoder | None = None,
                 meta: Mapping[str, Any] | None = None) -> None:
        self.meta = dict(meta or {})
        self.by_movie = Sparse(arrays["matrix.indptr"], arrays["matrix.indices"],
                               arrays["matrix.data"])
        self.by_term = Sparse(arrays["by_term.indptr"], arrays["by_term.indices"],
                              arrays["by_term.data"])
        self.ids = arrays["ids"]
        self.text_norm = arrays["text_norm"]
        self.n_movies = int(self.ids.shape[0])
        self.empty = np.diff(self.by_movie.indptr) < MIN_DOCUMENT_TERMS
        self.encoder = encoder
        # Each movie's best neighbours, computed by the ETL (``etl.neighbours``); a build
        # without them answers from the postings.
        self.neighbour_rows: np.ndarray | None = arrays.get("neighbours.rows")
        self.neighbour_cosines: np.ndarray | None = arrays.get("neighbours.cosines")
        # Re-ranking signals (data/rerank.py): memory-mapped .npy files when the build has them.
        self.prior: np.ndarray | None = None
        self.coliked: CoLiked | None = None

    @classmethod
    def load(cls, directory: Path) -> Index:
        try:
            image = open_image(directory, {"kind": FORMAT})
        except ImageError as exc:
            raise ImageError(f"{exc}; run `movies etl` again") from None
        from data import rerank  # imports this module: a cycle at module level

        index = cls(image.arrays, TextEncoder(image), image.meta)
        index.prior, index.coliked = rerank.load_prior(directory), rerank.CoLiked.load(directory)
        return index

    @property
    def nbytes(self) -> int:
        return self.by_movie.nbytes + self.by_term.nbytes

    def scores(self, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Cosine similarity of one normalised sparse vector with every movie."""
        return self.by_term.weighted_sum(columns, values, self.n_movies)

    def row_scores(self, row: int) -> np.ndarray:
        return self.scores(*self.by_movie.line(row))

    def cosines(self, row: int, rows: np.ndarray) -> np.ndarray:
        """The cosine of ``row`` with each of a handful of ``rows`` (float64)."""
        which, _cols, product = self.by_movie.products(row, np.asarray(rows, dtype=np.int64))
        return np.bincount(which, weights=product, minlength=len(rows))

    def content_candidates(self, row: int, depth: int, exclude: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray]:
        """The ``depth`` best content neighbours of ``row`` that are not in ``exclude``, best
        first, with their cosines: read from the precomputed lists, or where those cannot
        say (no list in the build, or not deep enough) computed from the postings."""
        if self.neighbour_rows is not None and self.neighbour_cosines is not None:
            listed = listed_neighbours(self.neighbour_rows[row], self.neighbour_cosines[row],
                                       depth, exclude)
            if listed is not None:
                return listed
        every = self.row_scores(row)
        found = top_indices(every, depth, exclude)
        return found, every[found]

    def check_comparable(self, row: int) -> None:
        if self.empty[row]:
            raise NotFound(
                f"movie {self.ids[row]} has no title words, overview, tagline, genres, keywords, "
                "credits, companies or language to compare, so nothing can be recommended from it"
            )

    def similar(self, row: int, n: int, exclude: np.ndarray) -> list[Neighbour]:
        self.check_comparable(row)
        rows, cosines = self.content_candidates(row, n, np.asarray(exclude, dtype=np.int64))
        return [Neighbour(r, c) for r, c in zip(rows.tolist(), cosines.tolist(), strict=True)]

    def like_text(self, text: str, n: int) -> list[Neighbour]:
        """Movies by the (``TEXT_WEIGHTS``-weighted) cosine of the query with their word
        fields only (overview, tagline, title, genres, keywords), never more than 1."""
        if self.encoder is None:
            raise NotFound("this recommender index cannot encode text")
        scores = self.scores(*self.encoder.encode(text))
        scores = np.divide(
            scores, self.text_norm, out=np.zeros_like(scores), where=self.text_norm > 0
        )
        return top_rows(np.minimum(scores, 1.0), n, np.empty(0, dtype=np.int64))

