"""Fit the recommender at ETL time and save it as the arrays ``data.recommender`` serves.

Each movie's document has several fields (``data.recommender.FIELDS``). Each field gets its
own ``TfidfVectorizer``; the L2-normalised field blocks are scaled by their weight, stacked,
and each row normalised again, so the dot product of two rows is their cosine similarity.
``MovieVectorizer`` follows scikit-learn's fit/transform convention and keeps no state beyond
what ``fit`` learned.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.preprocessing import normalize

from data.build import INDEX_DIR
from data.image import ImageWriter
from data.recommender import (
    DEFAULT_WEIGHTS,
    FIELDS,
    FORMAT,
    PHRASE_BOOST,
    PHRASE_FIELDS,
    PHRASE_SEP,
    TEXT_FIELDS,
    TEXT_WEIGHTS,
    Index,
    analyzer,
    phrase_terms,
)
from data.rerank import save_prior
from etl.neighbours import content_neighbours

STOP_WORDS = frozenset(ENGLISH_STOP_WORDS)
TOP_CAST = 5


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


def _vectorizer(name: str) -> TfidfVectorizer:
    if name in TEXT_FIELDS:
        # Word fields share their analyzers with the served text encoder.
        return TfidfVectorizer(analyzer=partial(analyzer(name), stop_words=STOP_WORDS),
                               sublinear_tf=sublinear(name), dtype=np.float32)
    return TfidfVectorizer(token_pattern=r"\S+", lowercase=False, dtype=np.float32)


def sublinear(name: str) -> bool:
    """Overview and tagline count repeated words sublinearly; names and ids do not."""
    return name in TEXT_FIELDS and name not in PHRASE_FIELDS and name != "title"


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
        return normalize(sp.hstack(parts, format="csr", dtype=np.float32))

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
        """A free-text query through the fitted vectorizers (the reference the served
        ``data.recommender.TextEncoder`` is held equal to)."""
        row = {name: [text if name in TEXT_FIELDS else ""] for name in FIELDS}
        blocks = self.blocks(pl.DataFrame(row))
        phrases = {term for term in phrase_terms(text, STOP_WORDS) if " " in term}
        parts = []
        for name, block in blocks.items():
            if name in PHRASE_FIELDS and phrases:
                vocabulary = self.vectorizers_[name].vocabulary_
                columns = [vocabulary[t] for t in phrases if t in vocabulary]
                block = block.tocsr(copy=True)
                block.data[np.isin(block.indices, columns)] *= np.float32(PHRASE_BOOST)
            parts.append(block * np.float32(TEXT_WEIGHTS.get(name, 0.0) / self.weights[name]))
        return normalize(sp.hstack(parts, format="csr", dtype=np.float32))

    def sizes(self) -> dict[str, int]:
        return {name: len(v.idf_) for name, v in self.vectorizers_.items()}

    def text_columns(self) -> np.ndarray:
        """A mask of the matrix columns that belong to word fields."""
        sizes = self.sizes()
        if not sizes:
            return np.zeros(0, dtype=bool)
        return np.concatenate([np.full(size, name in TEXT_FIELDS, dtype=bool)
                               for name, size in sizes.items()])


def index_arrays(vectorizer: MovieVectorizer, matrix: sp.csr_matrix,
                 ids: np.ndarray) -> dict[str, np.ndarray]:
    """The arrays an ``Index`` serves: the matrix by movie and by term, ids, and the norm of
    each row's word-field part (a text query is compared with that part only, so a movie is
    not marked down for also having cast, companies or a collection)."""
    matrix = matrix.tocsr()
    by_term = matrix.tocsc()
    text = vectorizer.text_columns()[matrix.indices] if matrix.nnz else np.zeros(0, dtype=bool)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    squares = np.bincount(rows, weights=np.where(text, matrix.data, 0.0) ** 2,
                          minlength=matrix.shape[0])
    return {
        "matrix.indptr": matrix.indptr.astype(np.int64),
        "matrix.indices": matrix.indices.astype(np.int32),
        "matrix.data": matrix.data.astype(np.float32),
        "by_term.indptr": by_term.indptr.astype(np.int64),
        "by_term.indices": by_term.indices.astype(np.int32),
        "by_term.data": by_term.data.astype(np.float32),
        "ids": np.asarray(ids, dtype=np.int64),
        "text_norm": np.sqrt(squares).astype(np.float32),
    }


def fit(docs: pl.DataFrame, weights: Mapping[str, float] | None = None
        ) -> tuple[MovieVectorizer, Index]:
    """Fit the vectorizer and an in-memory index over ``docs`` (for evaluation and tests)."""
    vectorizer = MovieVectorizer(weights=dict(weights or DEFAULT_WEIGHTS))
    matrix = vectorizer.fit_transform(docs)
    return vectorizer, Index(index_arrays(vectorizer, matrix, docs["movie_id"].to_numpy()))


def save(vectorizer: MovieVectorizer, index: Index, directory: Path) -> dict[str, Any]:
    """Write a fitted index as a memory-mappable image (arrays, vocabularies, idf)."""
    image = ImageWriter(directory)
    for name in ("matrix", "by_term"):
        sparse = getattr(index, "by_movie" if name == "matrix" else name)
        image.array(f"{name}.indptr", sparse.indptr)
        image.array(f"{name}.indices", sparse.indices)
        image.array(f"{name}.data", sparse.data)
    image.array("ids", np.asarray(index.ids))
    image.array("text_norm", np.asarray(index.text_norm))
    started = time.perf_counter()
    matrix = sp.csr_matrix((index.by_movie.data, index.by_movie.indices, index.by_movie.indptr),
                           shape=(index.n_movies, sum(vectorizer.sizes().values())))
    neighbour_rows, neighbour_cosines = content_neighbours(matrix)
    image.array("neighbours.rows", neighbour_rows)
    image.array("neighbours.cosines", neighbour_cosines)
    neighbours_seconds = time.perf_counter() - started
    offsets: dict[str, int] = {}
    start = 0
    for name, size in vectorizer.sizes().items():
        offsets[name] = start
        start += size
        if name not in TEXT_FIELDS:
            continue
        fitted = vectorizer.vectorizers_[name]
        terms = pl.Series(fitted.get_feature_names_out().tolist(), dtype=pl.String)
        image.key_index(f"vocab.{name}", terms, pl.Series(np.arange(len(terms))))
        image.array(f"idf.{name}", fitted.idf_.astype(np.float64))
    info = {
        "movies": index.n_movies,
        "features": start,
        "nnz": int(index.by_movie.data.shape[0]),
        "bytes": index.nbytes,
        "weights": dict(vectorizer.weights),
        "neighbours": int(neighbour_rows.shape[1]),
        "neighbours_seconds": round(neighbours_seconds, 2),
    }
    image.finish(kind=FORMAT, weights=dict(vectorizer.weights), fields=list(offsets),
                 field_offsets=offsets, sublinear={n: sublinear(n) for n in offsets},
                 stop_words=sorted(STOP_WORDS), **{"info": info})
    return info


def fit_index(tables: Mapping[str, pl.DataFrame], build: Path) -> dict[str, Any]:
    """ETL hook: fit on the validated tables and save into the build being written."""
    vectorizer, index = fit(documents(tables))
    info = save(vectorizer, index, build / INDEX_DIR)
    movies = tables["movies"].sort("id")  # index rows are in movie-id order
    save_prior(build / INDEX_DIR, movies["vote_average"].to_numpy(),
               movies["vote_count"].to_numpy())
    return info
