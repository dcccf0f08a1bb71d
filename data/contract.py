"""The table contract: every warehouse table's columns, dtypes and invariants, defined once.

The ETL (writer) validates and casts its output through these schemas; the catalog (reader)
checks the Parquet files it loads against the same definitions. Bump ``CONTRACT_VERSION``
(in ``data/contract_version.py``) whenever a column is added, removed or changes meaning, so
stale builds are refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import dataframely as dy
import polars as pl

from data.contract_version import CONTRACT_VERSION

__all__ = ["CONTRACT_VERSION", "TABLES", "polars_schema"]

# TMDB's oldest films are from the 1870s; a few rows announce releases years ahead.
MIN_DATE = dt.date(1870, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)


class Movies(dy.Schema):
    id = dy.Int64(primary_key=True, min=1)
    title = dy.String(nullable=False)
    title_key = dy.String(nullable=False)  # accent/case-folded title for exact lookups
    original_title = dy.String(nullable=True)  # kept for search (the assignment drops it)
    poster_path = dy.String(nullable=True)  # TMDB image path, e.g. /rhIRbceoE9lR4veEXuwCC2wARtG.jpg
    overview = dy.String(nullable=True)
    tagline = dy.String(nullable=True)
    status = dy.String(nullable=True)
    original_language = dy.String(nullable=True)
    release_date = dy.Date(nullable=False, min=MIN_DATE, max=MAX_DATE)
    release_year = dy.Int32(nullable=False)
    budget = dy.Float64(nullable=False, min=0)
    revenue = dy.Float64(nullable=False, min=0)
    # "return" is a Python keyword, so the attribute is aliased to the column name.
    return_ = dy.Float64(nullable=False, min=0, alias="return")
    popularity = dy.Float64(nullable=True, min=0)
    runtime = dy.Float64(nullable=True, min=0)
    vote_average = dy.Float64(nullable=True, min=0, max=10)
    vote_count = dy.Int64(nullable=False, min=0)
    collection_id = dy.Int64(nullable=True)

    @dy.rule()
    def year_matches_date(cls) -> pl.Expr:
        return pl.col("release_year") == pl.col("release_date").dt.year()


class Genres(dy.Schema):
    id = dy.Int64(primary_key=True)
    name = dy.String(nullable=False)


class MovieGenres(dy.Schema):
    movie_id = dy.Int64(primary_key=True)
    genre_id = dy.Int64(primary_key=True)
    position = dy.Int16(nullable=False, min=0)


class Collections(dy.Schema):
    id = dy.Int64(primary_key=True)
    name = dy.String(nullable=False)


class Companies(dy.Schema):
    id = dy.Int64(primary_key=True)
    name = dy.String(nullable=False)


class MovieCompanies(dy.Schema):
    movie_id = dy.Int64(primary_key=True)
    company_id = dy.Int64(primary_key=True)
    position = dy.Int16(nullable=False, min=0)


class Countries(dy.Schema):
    iso_3166_1 = dy.String(primary_key=True)
    name = dy.String(nullable=False)


class MovieCountries(dy.Schema):
    movie_id = dy.Int64(primary_key=True)
    iso_3166_1 = dy.String(primary_key=True)


class Languages(dy.Schema):
    iso_639_1 = dy.String(primary_key=True)
    name = dy.String(nullable=False)


class MovieLanguages(dy.Schema):
    movie_id = dy.Int64(primary_key=True)
    iso_639_1 = dy.String(primary_key=True)


class People(dy.Schema):
    id = dy.Int64(primary_key=True)
    name = dy.String(nullable=False)
    name_key = dy.String(nullable=False)  # accent/case-folded name for exact lookups
    gender = dy.Int8(nullable=True)
    profile_path = dy.String(nullable=True)


class Cast(dy.Schema):
    movie_id = dy.Int64(primary_key=True)
    credit_id = dy.String(primary_key=True)
    person_id = dy.Int64(nullable=False)
    character = dy.String(nullable=True)
    order = dy.Int32(nullable=False, min=0)


class Crew(dy.Schema):
    movie_id = dy.Int64(primary_key=True)
    credit_id = dy.String(primary_key=True)
    person_id = dy.Int64(nullable=False)
    department = dy.String(nullable=False)
    job = dy.String(nullable=False)


class Keywords(dy.Schema):
    id = dy.Int64(primary_key=True)
    name = dy.String(nullable=False)


class MovieKeywords(dy.Schema):
    movie_id = dy.Int64(primary_key=True)
    keyword_id = dy.Int64(primary_key=True)


class Rejects(dy.Schema):
    file = dy.String(nullable=False)
    record = dy.Int64(nullable=False, min=1)  # 1-based CSV record number, header excluded
    raw_id = dy.String(nullable=True)
    reason = dy.String(nullable=False)
    detail = dy.String(nullable=True)


# Table name -> schema; the Parquet file of each table is ``<name>.parquet``.
TABLES: dict[str, type[dy.Schema]] = {
    "movies": Movies,
    "genres": Genres,
    "movie_genres": MovieGenres,
    "collections": Collections,
    "companies": Companies,
    "movie_companies": MovieCompanies,
    "countries": Countries,
    "movie_countries": MovieCountries,
    "languages": Languages,
    "movie_languages": MovieLanguages,
    "people": People,
    "cast": Cast,
    "crew": Crew,
    "keywords": Keywords,
    "movie_keywords": MovieKeywords,
    "rejects": Rejects,
}


@dataclass(frozen=True)
class ForeignKey:
    table: str
    column: str
    parent: str
    parent_column: str


FOREIGN_KEYS: tuple[ForeignKey, ...] = (
    ForeignKey("movies", "collection_id", "collections", "id"),
    ForeignKey("movie_genres", "movie_id", "movies", "id"),
    ForeignKey("movie_genres", "genre_id", "genres", "id"),
    ForeignKey("movie_companies", "movie_id", "movies", "id"),
    ForeignKey("movie_companies", "company_id", "companies", "id"),
    ForeignKey("movie_countries", "movie_id", "movies", "id"),
    ForeignKey("movie_countries", "iso_3166_1", "countries", "iso_3166_1"),
    ForeignKey("movie_languages", "movie_id", "movies", "id"),
    ForeignKey("movie_languages", "iso_639_1", "languages", "iso_639_1"),
    ForeignKey("cast", "movie_id", "movies", "id"),
    ForeignKey("cast", "person_id", "people", "id"),
    ForeignKey("crew", "movie_id", "movies", "id"),
    ForeignKey("crew", "person_id", "people", "id"),
    ForeignKey("movie_keywords", "movie_id", "movies", "id"),
    ForeignKey("movie_keywords", "keyword_id", "keywords", "id"),
)


def polars_schema(table: str) -> pl.Schema:
    """The exact Polars schema of ``table`` (column order included)."""
    return pl.Schema({name: col.dtype for name, col in TABLES[table].columns().items()})
