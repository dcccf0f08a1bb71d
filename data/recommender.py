"""Content-based recommender: weighted TF-IDF fields and cosine nearest neighbours.

Each movie's document has several fields (overview, tagline, title, genres, keywords,
collection, director, top cast, companies, original language). Each field gets its own
``TfidfVectorizer``; the L2-normalised field blocks are scaled by their weight, stacked, and
each row normalised again, so the dot product of two rows is their cosine similarity. Genre
and keyword names are kept as phrases (``phrase_terms``: "space opera" is one term besides
its two words), so a free-text query can hit them. The weights are chosen by the offline
evaluation in ``evaluation/recommender.py`` (see the comment on ``DEFAULT_WEIGHTS``), not by taste.

Scoring one movie against all others uses the term-major (CSC) copy of the matrix, so a query
touches only the postings of its own terms: no dense N x N matrix ever exists.
``MovieVectorizer`` follows scikit-learn's fit/transform convention and keeps no state beyond
what ``fit`` learned; ``Index`` is the fitted matrix plus ids, saved to and loaded from a build.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import polars as pl
import scipy.sparse as sp

from data.errors import NotFound
from data.rerank import CoLiked, load_prior, save_prior

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

# scikit-learn is imported only where a vectorizer is fitted or applied: the server's start-up
# (loading the matrix, movie-to-movie recommendations) does not need it, and importing it
# costs seconds and ~100 MB per worker.


@cache
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def _normalize(matrix: sp.csr_matrix) -> sp.csr_matrix:
    from sklearn.preprocessing import normalize

    return normalize(matrix)

# Fields analysed as English words (these also take free-text queries) ...
TEXT_FIELDS = ("overview", "tagline", "title", "genres", "keywords")
# (of which these are lists of names, analysed by ``phrase_terms``) ...
PHRASE_FIELDS = ("genres", "keywords")
# ... and fields that are sets of ids, matched exactly.
TOKEN_FIELDS = ("collection", "director", "cast", "companies", "language")
FIELDS = TEXT_FIELDS + TOKEN_FIELDS

# Chosen with evaluation/recommender.py on the embedded sample (k=5; "ours w/o coll." is the same
# weights with collection 0; objective = its collection hit + genre Jaccard + coverage):
#
#   weights                                        hit  hit w/o coll.  genre J.  coverage
#   previous hand-set (ov 1, tag .3, title .5,    1.000      0.923       0.833     0.703
#     genres .8, kw .8, coll 1.5, dir/cast .6, co .3)
#   search from those (+ language .5, title 1,    1.000      0.921       0.867     0.878
#     kw .25, dir/cast .25)
#   search from all-ones (title/genres 1.5, no    1.000      0.950       0.839     0.797
#     tagline or director, language .5)
#   chosen (below)                                1.000      0.921       0.863     0.871
#   overview-only TF-IDF (the assignment)         0.700        -         0.256     0.898
#
# The search (``evaluation.recommender.search_weights``) is a coordinate search over
# {0, .25, .5, 1, 1.5, 2} per field, overview fixed at 1, scored on the even rows and checked
# on the odd rows (the halves agree within 0.03 of the objective, which is also about the
# spread between the two searches' optima: the surface is flat there). The chosen weights
# round the first search's optimum to {1, .5, .25} and keep keywords at .5 rather than .25
# (-0.02 objective, inside that noise; keywords are the most descriptive curated field).
# What the data did say clearly: a language token (0.5) lets a film in Japanese find films
# in Japanese (coverage .70 -> .80+); title 1 finds sequels that lack a collection (hit w/o
# collection .85 at title .5 -> .92) at the price of title-word look-alikes (Heat -> Body
# Heat); genres trade genre agreement against coverage; collection 1.0 is the smallest
# weight that keeps every collection hit (0.5: 0.975). Vectorizer options (overview
# min_df=2, bigrams, no sublinear tf) moved nothing beyond noise. Against these proxies a
# vote-weighted rating did not help; against what viewers co-like it does, a lot: the quality
# prior and the co-liked signal re-rank this index's candidates (data/rerank.py).
DEFAULT_WEIGHTS: dict[str, float] = {
    "overview": 1.0,
    "tagline": 0.25,
    "title": 1.0,
    "genres": 1.0,
    "keywords": 0.5,
    "collection": 1.0,
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
TOP_CAST = 5
MIN_DOCUMENT_TERMS = 1
PHRASE_SEP = "|"  # separates genre and keyword names inside their fields
_WORD = re.compile(r"(?u)\b\w\w+\b")
_TITLE_WORD = re.compile(r"(?u)\b\w+\b")


def documents(tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per movie (sorted by id) with one string column per field.

    Id fields are space-separated tokens such as ``c10194`` so the token vectorizer can match
    them exactly; word fields are plain text.
    """
    movies = tables["movies"].sort("id")

    def names(link: str, entity: str, key: str, fk: str) -> pl.DataFrame:
        return (
            tables[link]
            .join(tables[entity].select(pl.col(key).alias(fk), "name"), on=fk)
            .sort("movie_id", fk)
            .group_by("movie_id", maintain_order=True)
            .agg(pl.col("name").str.replace_all(PHRASE_SEP, " ", literal=True).str.join(PHRASE_SEP))
        )

    def tokens(frame: pl.DataFrame, column: str, prefix: str) -> pl.DataFrame:
        return frame.group_by("movie_id").agg(
            (pl.lit(prefix) + pl.col(column).cast(pl.String)).str.join(" ")
        )

    cast = tables["cast"].filter(pl.col("order") < TOP_CAST)
    directors = tables["crew"].filter(pl.col("job") == "Director")
    parts = {
        "genres": names("movie_genres", "genres", "id", "genre_id"),
        "keywords": names("movie_keywords", "keywords", "id", "keyword_id"),
        "cast": tokens(cast, "person_id", "p"),
        "director": tokens(directors, "person_id", "p"),
        "companies": tokens(tables["movie_companies"], "company_id", "co"),
    }
    docs = movies.select(
        movie_id=pl.col("id"),
        overview=pl.col("overview").fill_null(""),
        tagline=pl.col("tagline").fill_null(""),
        title=pl.col("title"),
        collection=pl.when(pl.col("collection_id").is_not_null())
        .then(pl.lit("c") + pl.col("collection_id").cast(pl.String))
        .otherwise(pl.lit("")),
        language=(pl.lit("lang_") + pl.col("original_language").str.to_lowercase()).fill_null(""),
    )
    for name, frame in parts.items():
        docs = docs.join(frame.rename({frame.columns[1]: name}), on="movie_id", how="left")
    return docs.with_columns(pl.col(name).fill_null("") for name in FIELDS).select(
        "movie_id", *FIELDS
    )


def phrase_terms(text: str) -> list[str]:
    """Terms of a field of names ("death star|space opera"): each name's words (English stop
    words dropped) plus its word bigrams, never a bigram spanning two names. A free-text query
    has no separator, so its consecutive words form bigrams: "space opera with rebels" yields
    the keyword "space opera"."""
    terms: list[str] = []
    for phrase in text.lower().split(PHRASE_SEP):
        words = [w for w in _WORD.findall(phrase) if w not in _stop_words()]
        terms.extend(words)
        terms.extend(f"{a} {b}" for a, b in itertools.pairwise(words))
    return terms


def title_terms(text: str) -> list[str]:
    """A title's words (single letters too: "M"), without English stop words unless that
    would leave nothing ("It", "Them!")."""
    words = _TITLE_WORD.findall(text.lower())
    return [w for w in words if w not in _stop_words()] or words


def _vectorizer(name: str, vocabulary: Mapping[str, int] | None = None) -> TfidfVectorizer:
    from sklearn.feature_extraction.text import TfidfVectorizer

    if name in PHRASE_FIELDS:
        return TfidfVectorizer(analyzer=phrase_terms, dtype=np.float32, vocabulary=vocabulary)
    if name == "title":
        return TfidfVectorizer(analyzer=title_terms, dtype=np.float32, vocabulary=vocabulary)
    if name in TEXT_FIELDS:
        return TfidfVectorizer(
            stop_words="english", sublinear_tf=True, min_df=1, dtype=np.float32,
            vocabulary=vocabulary,
        )
    return TfidfVectorizer(
        token_pattern=r"\S+", lowercase=False, dtype=np.float32, vocabulary=vocabulary
    )


@dataclass
class MovieVectorizer:
    """Fit on movie documents; transform documents or free text into the shared space."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    vectorizers_: Mapping[str, TfidfVectorizer] = field(default_factory=dict)

    def fit(self, docs: pl.DataFrame) -> MovieVectorizer:
        self.fit_blocks(docs)
        return self

    def fit_blocks(self, docs: pl.DataFrame) -> dict[str, sp.csr_matrix]:
        """Fit every active field and return its L2-normalised, unweighted block."""
        fitted: dict[str, TfidfVectorizer] = {}
        blocks = {}
        for name in self.active_fields():
            vectorizer = _vectorizer(name)
            try:
                blocks[name] = vectorizer.fit_transform(docs[name].to_list())
            except ValueError:  # empty vocabulary: the field is blank in every document
                continue
            fitted[name] = vectorizer
        self.vectorizers_ = fitted
        return blocks

    def active_fields(self) -> list[str]:
        return [name for name in FIELDS if self.weights.get(name, 0.0) > 0]

    def blocks(self, docs: pl.DataFrame) -> dict[str, sp.csr_matrix]:
        return {
            name: vectorizer.transform(docs[name].to_list())
            for name, vectorizer in self.vectorizers_.items()
        }

    def combine(self, blocks: Mapping[str, sp.csr_matrix]) -> sp.csr_matrix:
        """Scale each field's block by its weight, stack them, and L2-normalise each row."""
        parts = [
            blocks[name] * np.float32(self.weights[name]) for name in self.vectorizers_
        ]
        return _normalize(sp.hstack(parts, format="csr", dtype=np.float32))

    def reweighted(self, weights: Mapping[str, float]) -> MovieVectorizer:
        """The same fitted fields under other weights (a field weighted 0 is dropped); the
        per-field fits do not depend on the weights, so this equals a fresh fit."""
        kept = {n: v for n, v in self.vectorizers_.items() if weights.get(n, 0.0) > 0}
        return MovieVectorizer(weights={n: float(weights[n]) for n in kept}, vectorizers_=kept)

    def transform(self, docs: pl.DataFrame) -> sp.csr_matrix:
        return self.combine(self.blocks(docs))

    def fit_transform(self, docs: pl.DataFrame) -> sp.csr_matrix:
        return self.combine(self.fit_blocks(docs))

    def transform_text(self, text: str) -> sp.csr_matrix:
        """A free-text query: the text goes into every word field, which counts as much as
        ``TEXT_WEIGHTS`` says (not the movie-to-movie ``weights``); a genre or keyword
        phrase in the text ("space opera") counts ``PHRASE_BOOST`` times its words."""
        row = {name: [text if name in TEXT_FIELDS else ""] for name in FIELDS}
        blocks = self.blocks(pl.DataFrame(row))
        phrases = {term for term in phrase_terms(text) if " " in term}
        parts = []
        for name, block in blocks.items():
            if name in PHRASE_FIELDS and phrases:
                vocabulary = self.vectorizers_[name].vocabulary_
                columns = [vocabulary[t] for t in phrases if t in vocabulary]
                block = block.tocsr(copy=True)
                block.data[np.isin(block.indices, columns)] *= np.float32(PHRASE_BOOST)
            # The movie side already carries its field weight; scaling the query side by
            # TEXT_WEIGHTS / weight makes each field count TEXT_WEIGHTS in the product.
            parts.append(block * np.float32(TEXT_WEIGHTS.get(name, 0.0) / self.weights[name]))
        return _normalize(sp.hstack(parts, format="csr", dtype=np.float32))

    def text_columns(self) -> np.ndarray:
        """A mask of the matrix columns that belong to word fields."""
        vectorizers = self.vectorizers_
        sizes = (
            [vectorizers.size(name) for name in vectorizers]
            if isinstance(vectorizers, _SavedVectorizers)
            else [len(v.idf_) for v in vectorizers.values()]
        )
        return np.concatenate([
            np.full(size, name in TEXT_FIELDS, dtype=bool)
            for name, size in zip(self.vectorizers_, sizes, strict=True)
        ]) if sizes else np.zeros(0, dtype=bool)

    # Persistence: vocabularies and idf per field, as plain JSON and .npy, not pickles.
    def save(self, directory: Path) -> None:
        meta = {"weights": dict(self.weights), "fields": list(self.vectorizers_)}
        for name, vectorizer in self.vectorizers_.items():
            terms = vectorizer.get_feature_names_out().tolist()
            (directory / f"vocab_{name}.json").write_bytes(orjson.dumps(terms))
            np.save(directory / f"idf_{name}.npy", vectorizer.idf_.astype(np.float64))
        (directory / "vectorizer.json").write_bytes(orjson.dumps(meta))

    @classmethod
    def load(cls, directory: Path) -> MovieVectorizer:
        meta = orjson.loads((directory / "vectorizer.json").read_bytes())
        return cls(weights=meta["weights"], vectorizers_=_SavedVectorizers(directory,
                                                                          meta["fields"]))


class _SavedVectorizers(Mapping[str, Any]):
    """A saved build's fitted vectorizers, rebuilt from vocabulary and idf on first use."""

    def __init__(self, directory: Path, names: list[str]) -> None:
        self._directory = directory
        self._names = list(names)
        self._built: dict[str, TfidfVectorizer] = {}

    def size(self, name: str) -> int:
        return int(np.load(self._directory / f"idf_{name}.npy", mmap_mode="r").shape[0])

    def __getitem__(self, name: str) -> TfidfVectorizer:
        if name not in self._names:
            raise KeyError(name)
        if name not in self._built:
            terms = orjson.loads((self._directory / f"vocab_{name}.json").read_bytes())
            vectorizer = _vectorizer(name, {term: i for i, term in enumerate(terms)})
            vectorizer.idf_ = np.load(self._directory / f"idf_{name}.npy")
            self._built[name] = vectorizer
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@dataclass
class Neighbour:
    row: int
    score: float


def top_rows(scores: np.ndarray, n: int, exclude: np.ndarray) -> list[Neighbour]:
    """The ``n`` best rows with a positive score, ties broken by row (movie id) so answers
    are stable; ``exclude`` rows never appear."""
    scores = scores.copy()
    scores[exclude] = -np.inf
    k = min(n, int((scores > 0).sum()))
    if k <= 0:
        return []
    part = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
    threshold = scores[part].min()
    tied = np.flatnonzero(scores >= threshold)  # everything that could be in the top k
    best = tied[np.lexsort((tied, -scores[tied]))][:k]
    return [Neighbour(int(row), float(scores[row])) for row in best]


class Index:
    """Fitted document matrix (rows in movie-id order) with cosine top-n queries."""

    def __init__(self, vectorizer: MovieVectorizer, matrix: sp.csr_matrix, ids: np.ndarray):
        self.vectorizer = vectorizer
        self.matrix = matrix.tocsr()
        self.by_term = self.matrix.tocsc()
        self.ids = ids
        self.empty = np.diff(self.matrix.indptr) < MIN_DOCUMENT_TERMS
        # Norm of each row's word-field part: a text query is compared with that part only,
        # so a movie is not marked down for also having cast, companies or a collection.
        text = vectorizer.text_columns()[self.matrix.indices] if self.matrix.nnz else []
        rows = np.repeat(np.arange(self.matrix.shape[0]), np.diff(self.matrix.indptr))
        squares = np.bincount(
            rows, weights=np.where(text, self.matrix.data, 0.0) ** 2,
            minlength=self.matrix.shape[0],
        )
        self.text_norm = np.sqrt(squares).astype(np.float32)
        # Re-ranking signals (data/rerank.py), memory-mapped .npy files when the build has them.
        self.prior: np.ndarray | None = None
        self.coliked: CoLiked | None = None

    @classmethod
    def fit(cls, docs: pl.DataFrame, weights: Mapping[str, float] | None = None) -> Index:
        vectorizer = MovieVectorizer(weights=dict(weights or DEFAULT_WEIGHTS))
        matrix = vectorizer.fit_transform(docs)
        return cls(vectorizer, matrix, docs["movie_id"].to_numpy())

    @property
    def nbytes(self) -> int:
        def size(m: sp.spmatrix) -> int:
            return int(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes)

        return size(self.matrix) + size(self.by_term)

    def scores(self, vector: sp.csr_matrix) -> np.ndarray:
        """Cosine similarity of one (normalised) row vector with every movie."""
        terms = vector.indices
        if terms.size == 0:
            return np.zeros(self.matrix.shape[0], dtype=np.float32)
        return np.asarray(self.by_term[:, terms] @ vector.data, dtype=np.float32).ravel()

    def top(self, scores: np.ndarray, n: int, exclude: np.ndarray) -> list[Neighbour]:
        """The ``n`` best rows by score, ties broken by row (movie id) so answers are stable."""
        return top_rows(scores, n, exclude)

    def similar(self, row: int, n: int, exclude: np.ndarray) -> list[Neighbour]:
        if self.empty[row]:
            raise NotFound(
                f"movie {self.ids[row]} has no title words, overview, tagline, genres, keywords, "
                "credits, companies or language to compare, so nothing can be recommended from it"
            )
        return self.top(self.scores(self.matrix[row]), n, exclude)

    def like_text(self, text: str, n: int) -> list[Neighbour]:
        """Movies by the (``TEXT_WEIGHTS``-weighted) cosine of the query with their word
        fields only (overview, tagline, title, genres, keywords), never more than 1."""
        scores = self.scores(self.vectorizer.transform_text(text))
        scores = np.divide(
            scores, self.text_norm, out=np.zeros_like(scores), where=self.text_norm > 0
        )
        return self.top(np.minimum(scores, 1.0), n, np.empty(0, dtype=np.int64))

    def save(self, directory: Path) -> dict[str, object]:
        directory.mkdir(parents=True, exist_ok=True)
        self.vectorizer.save(directory)
        sp.save_npz(directory / "matrix.npz", self.matrix, compressed=False)
        np.save(directory / "ids.npy", self.ids)
        return {
            "movies": int(self.matrix.shape[0]),
            "features": int(self.matrix.shape[1]),
            "nnz": int(self.matrix.nnz),
            "bytes": self.nbytes,
            "weights": dict(self.vectorizer.weights),
        }

    @classmethod
    def load(cls, directory: Path) -> Index:
        matrix = sp.load_npz(directory / "matrix.npz").tocsr()
        index = cls(MovieVectorizer.load(directory), matrix, np.load(directory / "ids.npy"))
        index.prior, index.coliked = load_prior(directory), CoLiked.load(directory)
        return index


INDEX_DIR = "recommender"


def fit_index(tables: Mapping[str, pl.DataFrame], build: Path) -> dict[str, object]:
    """ETL hook: fit on the validated tables and save into the build being written."""
    index = Index.fit(documents(tables))
    info = index.save(build / INDEX_DIR)
    movies = tables["movies"].sort("id")
    votes = movies["vote_average"].to_numpy(), movies["vote_count"].to_numpy()
    save_prior(build / INDEX_DIR, *votes)
    return info
