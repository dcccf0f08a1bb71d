"""Content-based recommender: weighted TF-IDF fields and cosine nearest neighbours.

Each movie's document has several fields (overview, tagline, title, genres, keywords,
collection, director, top cast, companies). Each field gets its own ``TfidfVectorizer``; the
L2-normalised field blocks are scaled by their weight, stacked, and each row normalised again,
so the dot product of two rows is their cosine similarity. The weights are chosen by
``movies evaluate`` (see README), not by taste.

Scoring one movie against all others uses the term-major (CSC) copy of the matrix, so a query
touches only the postings of its own terms: no dense N x N matrix ever exists.
``MovieVectorizer`` follows scikit-learn's fit/transform convention and keeps no state beyond
what ``fit`` learned; ``Index`` is the fitted matrix plus ids, saved to and loaded from a build.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import polars as pl
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

# Fields analysed as English words (these also take free-text queries) ...
TEXT_FIELDS = ("overview", "tagline", "title", "genres", "keywords")
# ... and fields that are sets of ids, matched exactly.
TOKEN_FIELDS = ("collection", "director", "cast", "companies")
FIELDS = TEXT_FIELDS + TOKEN_FIELDS

# Chosen by `movies evaluate` on the embedded sample (README, "Recommender").
DEFAULT_WEIGHTS: dict[str, float] = {
    "overview": 1.0,
    "tagline": 0.3,
    "title": 0.5,
    "genres": 0.8,
    "keywords": 0.8,
    "collection": 1.5,
    "director": 0.6,
    "cast": 0.6,
    "companies": 0.3,
}
TOP_CAST = 5
MIN_DOCUMENT_TERMS = 1


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
            .group_by("movie_id")
            .agg(pl.col("name").str.join(" "))
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
    )
    for name, frame in parts.items():
        docs = docs.join(frame.rename({frame.columns[1]: name}), on="movie_id", how="left")
    return docs.with_columns(pl.col(name).fill_null("") for name in FIELDS).select(
        "movie_id", *FIELDS
    )


def _vectorizer(name: str, vocabulary: Mapping[str, int] | None = None) -> TfidfVectorizer:
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
    vectorizers_: dict[str, TfidfVectorizer] = field(default_factory=dict)

    def fit(self, docs: pl.DataFrame) -> MovieVectorizer:
        self.vectorizers_ = {}
        for name in self.active_fields():
            vectorizer = _vectorizer(name)
            try:
                vectorizer.fit(docs[name].to_list())
            except ValueError:  # empty vocabulary: the field is blank in every document
                continue
            self.vectorizers_[name] = vectorizer
        return self

    def active_fields(self) -> list[str]:
        return [name for name in FIELDS if self.weights.get(name, 0.0) > 0]

    def transform(self, docs: pl.DataFrame) -> sp.csr_matrix:
        blocks = [
            vectorizer.transform(docs[name].to_list()) * np.float32(self.weights[name])
            for name, vectorizer in self.vectorizers_.items()
        ]
        return normalize(sp.hstack(blocks, format="csr", dtype=np.float32))

    def fit_transform(self, docs: pl.DataFrame) -> sp.csr_matrix:
        return self.fit(docs).transform(docs)

    def transform_text(self, text: str) -> sp.csr_matrix:
        """A free-text query: the text goes into every word field."""
        row = {name: [text if name in TEXT_FIELDS else ""] for name in FIELDS}
        return self.transform(pl.DataFrame(row))

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
        vectorizers = {}
        for name in meta["fields"]:
            terms = orjson.loads((directory / f"vocab_{name}.json").read_bytes())
            vectorizer = _vectorizer(name, {term: i for i, term in enumerate(terms)})
            vectorizer.idf_ = np.load(directory / f"idf_{name}.npy")
            vectorizers[name] = vectorizer
        return cls(weights=meta["weights"], vectorizers_=vectorizers)


@dataclass
class Neighbour:
    row: int
    score: float


class Index:
    """Fitted document matrix (rows in movie-id order) with cosine top-n queries."""

    def __init__(self, vectorizer: MovieVectorizer, matrix: sp.csr_matrix, ids: np.ndarray):
        self.vectorizer = vectorizer
        self.matrix = matrix.tocsr()
        self.by_term = self.matrix.tocsc()
        self.ids = ids
        self.empty = np.diff(self.matrix.indptr) < MIN_DOCUMENT_TERMS

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
        scores = scores.copy()
        scores[exclude] = -np.inf
        k = min(n, int(np.isfinite(scores).sum()), int((scores > 0).sum()))
        if k <= 0:
            return []
        part = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
        threshold = scores[part].min()
        tied = np.flatnonzero(scores >= threshold)  # everything that could be in the top k
        best = tied[np.lexsort((tied, -scores[tied]))][:k]
        return [Neighbour(int(row), float(scores[row])) for row in best]

    def similar(self, row: int, n: int, exclude: np.ndarray) -> list[Neighbour]:
        return self.top(self.scores(self.matrix[row]), n, exclude)

    def like_text(self, text: str, n: int) -> list[Neighbour]:
        vector = self.vectorizer.transform_text(text)
        return self.top(self.scores(vector), n, np.empty(0, dtype=np.int64))

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
        return cls(MovieVectorizer.load(directory), matrix, np.load(directory / "ids.npy"))


INDEX_DIR = "recommender"


def fit_index(tables: Mapping[str, pl.DataFrame], build: Path) -> dict[str, object]:
    """ETL hook: fit on the validated tables and save into the build being written."""
    index = Index.fit(documents(tables))
    return index.save(build / INDEX_DIR)
