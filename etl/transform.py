"""Raw string frames -> normalised warehouse tables, with every rejected record accounted for.

Each ``build_*`` function returns the tables it produced and a rejects frame; a record is
rejected for the first reason that applies, in the order the reasons are listed below, and a
duplicate id is only decided among otherwise valid records (the first valid one is kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from data.contract import MAX_DATE, MIN_DATE
from data.text import fold_expr
from etl.extract import RawTable
from etl.literal import decode

# Reject reasons (the ``reason`` column of the rejects table).
WRONG_FIELD_COUNT = "wrong_field_count"
MALFORMED_ROW = "malformed_row"  # shifted row: the id column holds a date
BAD_ID = "bad_id"
MISSING_TITLE = "missing_title"
UNPARSEABLE_NESTED = "unparseable_nested"
BAD_NUMBER = "bad_number"
MISSING_RELEASE_DATE = "missing_release_date"
BAD_RELEASE_DATE = "bad_release_date"
UNKNOWN_MOVIE = "unknown_movie"
DUPLICATE_ID = "duplicate_id"

_ID_STRUCT = pl.Struct({"id": pl.Int64, "name": pl.String})
NESTED_DTYPES: dict[str, pl.DataType] = {
    "belongs_to_collection": _ID_STRUCT,
    "genres": pl.List(_ID_STRUCT),
    "production_companies": pl.List(_ID_STRUCT),
    "production_countries": pl.List(pl.Struct({"iso_3166_1": pl.String, "name": pl.String})),
    "spoken_languages": pl.List(pl.Struct({"iso_639_1": pl.String, "name": pl.String})),
    "keywords": pl.List(_ID_STRUCT),
    "cast": pl.List(
        pl.Struct(
            {
                "character": pl.String,
                "credit_id": pl.String,
                "gender": pl.Int64,
                "id": pl.Int64,
                "name": pl.String,
                "order": pl.Int64,
                "profile_path": pl.String,
            }
        )
    ),
    "crew": pl.List(
        pl.Struct(
            {
                "credit_id": pl.String,
                "department": pl.String,
                "gender": pl.Int64,
                "id": pl.Int64,
                "job": pl.String,
                "name": pl.String,
                "profile_path": pl.String,
            }
        )
    ),
}
_NUMBERS = ("budget", "revenue", "popularity", "runtime", "vote_average", "vote_count")
_DATE_LIKE = r"^\d{4}-\d{2}-\d{2}$"


@dataclass
class Built:
    tables: dict[str, pl.DataFrame]
    rejects: pl.DataFrame
    kept: int  # input records kept
    notes: dict[str, int] = field(default_factory=dict)  # dropped nested entries, by kind


def _reject_frame(file: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` has record, raw_id, reason, detail; add the file name, fix the dtypes."""
    return frame.select(
        file=pl.lit(file, pl.String),
        record=pl.col("record").cast(pl.Int64),
        raw_id=pl.col("raw_id").cast(pl.String),
        reason=pl.col("reason").cast(pl.String),
        detail=pl.col("detail").cast(pl.String),
    )


def _ragged_rejects(raw: RawTable, file: str) -> pl.DataFrame:
    """Records the reader could not use: unreadable ones carry their reason; of those with
    the wrong number of fields, a shifted one whose id holds a date is reported as the
    malformed row it is (the real file has three)."""
    frame = pl.DataFrame(
        raw.ragged,
        schema={"record": pl.Int64, "raw_id": pl.String, "reason": pl.String,
                "detail": pl.String},
        orient="row",
    ).with_columns(
        reason=pl.when(pl.col("reason").is_not_null())
        .then(pl.col("reason"))
        .when(pl.col("raw_id").str.strip_chars().str.contains(_DATE_LIKE))
        .then(pl.lit(MALFORMED_ROW))
        .otherwise(pl.lit(WRONG_FIELD_COUNT))
    )
    return _reject_frame(file, frame)


def _parse_id(column: str = "id") -> pl.Expr:
    return pl.col(column).str.strip_chars().cast(pl.Int64, strict=False)


def _id_reason(column: str = "id") -> pl.Expr:
    raw = pl.col(column).str.strip_chars()
    return (
        pl.when(raw.str.contains(_DATE_LIKE))
        .then(pl.lit(MALFORMED_ROW))
        .when(_parse_id(column).is_null() | (_parse_id(column) <= 0))
        .then(pl.lit(BAD_ID))
    )


def _decode_nested(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Replace each nested literal column with its decoded value plus a ``<col>__bad`` flag."""
    for name in columns:
        decoded = decode(frame[name], NESTED_DTYPES[name])
        frame = frame.with_columns(
            decoded["value"].alias(name), decoded["bad"].alias(f"{name}__bad")
        )
    return frame


def _first_bad_nested(columns: list[str]) -> pl.Expr:
    expr = pl.lit(None, pl.String)
    for name in reversed(columns):
        expr = pl.when(pl.col(f"{name}__bad")).then(pl.lit(name)).otherwise(expr)
    return expr


def _mark_duplicates(frame: pl.DataFrame) -> pl.DataFrame:
    """Among records with no reason yet, all but the first of each id become duplicates."""
    valid = pl.col("reason").is_null()
    first = pl.col("record").filter(valid).min().over("movie_id")
    return frame.with_columns(
        reason=pl.when(valid & (pl.col("record") != first))
        .then(pl.lit(DUPLICATE_ID))
        .otherwise(pl.col("reason")),
        detail=pl.when(valid & (pl.col("record") != first))
        .then(pl.format("first kept at record {}", first))
        .otherwise(pl.col("detail")),
    )


def _split(frame: pl.DataFrame, file: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    rejected = frame.filter(pl.col("reason").is_not_null())
    kept = frame.filter(pl.col("reason").is_null())
    rejects = _reject_frame(file, rejected.rename({"id": "raw_id"}))
    return kept, rejects


def _entities(links: pl.DataFrame, key: str, value: str = "name") -> pl.DataFrame:
    """Distinct entities from exploded links, first spelling of each key wins."""
    return (
        links.filter(pl.col(key).is_not_null())
        .unique(subset=key, keep="first", maintain_order=True)
        .select(key, pl.col(value).fill_null(""))
        .sort(key)
    )


def _explode(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """movie_id + one row per element of list column ``column`` (fields unnested), with its
    position in the list."""
    return (
        frame.select("movie_id", column)
        .with_columns(pl.int_ranges(pl.col(column).list.len()).alias("position"))
        .explode([column, "position"])
        .filter(pl.col(column).is_not_null())
        .unnest(column)
    )


def _optional_text(frame: pl.DataFrame, column: str) -> pl.Expr:
    """A kept free-text column: trimmed, blank as null, null when the file lacks it."""
    if column not in frame.columns:
        return pl.lit(None, pl.String)
    return pl.col(column).str.strip_chars().replace("", None)


def build_movies(raw: RawTable) -> Built:
    nested = [c for c in NESTED_DTYPES if c in raw.frame.columns and c not in ("cast", "crew")]
    frame = _decode_nested(raw.frame, nested)
    number_values = {
        name: pl.col(name).str.strip_chars().cast(pl.Float64, strict=False) for name in _NUMBERS
    }
    bad_number = pl.lit(None, pl.String)
    for name in reversed(_NUMBERS):
        expr = number_values[name]
        broken = (pl.col(name).is_not_null() & expr.is_null()) | (expr < 0) | ~expr.is_finite()
        if name == "vote_average":  # TMDB's scale; the contract holds it to 0-10
            broken = broken | (expr > 10)
        bad_number = pl.when(broken.fill_null(False)).then(pl.lit(name)).otherwise(bad_number)
    release = pl.col("release_date").str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    nested_bad = _first_bad_nested(nested)
    frame = frame.with_columns(
        movie_id=_parse_id(), release=release, nested_bad=nested_bad, bad_number=bad_number
    ).with_columns(
        reason=_id_reason()
        .when(pl.col("title").str.strip_chars().fill_null("") == "")
        .then(pl.lit(MISSING_TITLE))
        .when(pl.col("nested_bad").is_not_null())
        .then(pl.lit(UNPARSEABLE_NESTED))
        .when(pl.col("bad_number").is_not_null())
        .then(pl.lit(BAD_NUMBER))
        .when(pl.col("release_date").is_null())
        .then(pl.lit(MISSING_RELEASE_DATE))
        .when(
            pl.col("release").is_null()
            | (pl.col("release") < MIN_DATE)
            | (pl.col("release") > MAX_DATE)
        )
        .then(pl.lit(BAD_RELEASE_DATE)),
    ).with_columns(
        detail=pl.when(pl.col("reason") == UNPARSEABLE_NESTED)
        .then(pl.col("nested_bad"))
        .when(pl.col("reason") == BAD_NUMBER)
        .then(pl.format("{}: {}", pl.col("bad_number"), pl.lit("not a non-negative number")))
        .when(pl.col("reason").is_in([MALFORMED_ROW, BAD_RELEASE_DATE]))
        .then(pl.format("id={} release_date={}", pl.col("id"), pl.col("release_date")))
    )
    frame = _mark_duplicates(frame)
    kept, rejects = _split(frame, "movies")
    rejects = pl.concat([_ragged_rejects(raw, "movies"), rejects])

    budget = number_values["budget"].fill_null(0.0)
    revenue = number_values["revenue"].fill_null(0.0)
    movies = kept.select(
        id=pl.col("movie_id"),
        title=pl.col("title").str.strip_chars(),
        title_key=fold_expr(pl.col("title")),
        original_title=_optional_text(kept, "original_title"),
        poster_path=_optional_text(kept, "poster_path"),
        overview=pl.col("overview"),
        tagline=pl.col("tagline"),
        status=pl.col("status"),
        original_language=pl.col("original_language"),
        release_date=pl.col("release"),
        release_year=pl.col("release").dt.year().cast(pl.Int32),
        budget=budget,
        revenue=revenue,
        # The assignment's rule: revenue / budget, and 0 where it cannot be computed.
        **{"return": pl.when(budget > 0).then(revenue / budget).otherwise(0.0)},
        popularity=number_values["popularity"],
        runtime=number_values["runtime"],
        vote_average=number_values["vote_average"],
        vote_count=number_values["vote_count"].fill_null(0).cast(pl.Int64),
        collection_id=pl.col("belongs_to_collection").struct.field("id"),
    )
    collections = _entities(
        kept.select(pl.col("belongs_to_collection").struct.unnest()), "id"
    )
    tables: dict[str, pl.DataFrame] = {"movies": movies, "collections": collections}
    links = {
        "genres": ("genres", "movie_genres", "id", "genre_id"),
        "production_companies": ("companies", "movie_companies", "id", "company_id"),
        "production_countries": ("countries", "movie_countries", "iso_3166_1", "iso_3166_1"),
        "spoken_languages": ("languages", "movie_languages", "iso_639_1", "iso_639_1"),
    }
    notes: dict[str, int] = {}
    for column, (entity, link, key, fk) in links.items():
        exploded = _explode(kept, column).filter(pl.col(key).is_not_null())
        tables[entity] = _entities(exploded, key)
        pairs = exploded.select("movie_id", pl.col(key).alias(fk), "position")
        unique = pairs.unique(subset=["movie_id", fk], keep="first", maintain_order=True)
        notes[f"{link}_duplicate_entries"] = pairs.height - unique.height
        if link in ("movie_genres", "movie_companies"):
            tables[link] = unique.with_columns(pl.col("position").cast(pl.Int16))
        else:
            tables[link] = unique.drop("position")
    return Built(tables=tables, rejects=rejects, kept=kept.height, notes=notes)


def _children(raw: RawTable, file: str, columns: list[str], movie_ids: pl.Series) -> tuple[
    pl.DataFrame, pl.DataFrame
]:
    """Shared checks of the credits and keywords files: id, nested cells, known movie, dups."""
    frame = _decode_nested(raw.frame, columns).with_columns(movie_id=_parse_id())
    frame = frame.with_columns(
        reason=_id_reason()
        .when(~pl.col("movie_id").is_in(movie_ids.implode()))
        .then(pl.lit(UNKNOWN_MOVIE))
        .when(_first_bad_nested(columns).is_not_null())
        .then(pl.lit(UNPARSEABLE_NESTED)),
        detail=_first_bad_nested(columns),
    )
    frame = _mark_duplicates(frame)
    kept, rejects = _split(frame, file)
    return kept, pl.concat([_ragged_rejects(raw, file), rejects])


def build_credits(raw: RawTable, movie_ids: pl.Series) -> Built:
    kept, rejects = _children(raw, "credits", ["cast", "crew"], movie_ids)
    cast_all = _explode(kept, "cast").rename({"id": "person_id"})
    crew_all = _explode(kept, "crew").rename({"id": "person_id"})
    notes: dict[str, int] = {}

    def usable(entries: pl.DataFrame, kind: str, required: list[str]) -> pl.DataFrame:
        ok = entries.drop_nulls(required).unique(
            subset=["movie_id", "credit_id"], keep="first", maintain_order=True
        )
        notes[f"{kind}_dropped_entries"] = entries.height - ok.height
        return ok

    cast_ok = usable(cast_all, "cast", ["person_id", "credit_id", "name"])
    crew_ok = usable(crew_all, "crew", ["person_id", "credit_id", "name", "department", "job"])
    cast = cast_ok.select(
        "movie_id",
        "credit_id",
        "person_id",
        "character",
        # The list position breaks ties where TMDB's own order is missing.
        order=pl.coalesce("order", "position").cast(pl.Int32),
    )
    crew = crew_ok.select("movie_id", "credit_id", "person_id", "department", "job")
    people = (
        pl.concat(
            [
                cast_ok.select("person_id", "name", "gender", "profile_path"),
                crew_ok.select("person_id", "name", "gender", "profile_path"),
            ]
        )
        .unique(subset="person_id", keep="first", maintain_order=True)
        .select(
            id=pl.col("person_id"),
            name=pl.col("name"),
            name_key=fold_expr(pl.col("name")),
            gender=pl.col("gender").cast(pl.Int8, strict=False),
            profile_path=pl.col("profile_path"),
        )
        .sort("id")
    )
    return Built(
        tables={"cast": cast, "crew": crew, "people": people},
        rejects=rejects,
        kept=kept.height,
        notes=notes,
    )


def build_keywords(raw: RawTable, movie_ids: pl.Series) -> Built:
    kept, rejects = _children(raw, "keywords", ["keywords"], movie_ids)
    exploded = _explode(kept, "keywords").filter(pl.col("id").is_not_null())
    keywords = _entities(exploded, "id")
    pairs = exploded.select("movie_id", keyword_id=pl.col("id"))
    links = pairs.unique(keep="first", maintain_order=True)
    return Built(
        tables={"keywords": keywords, "movie_keywords": links},
        rejects=rejects,
        kept=kept.height,
        notes={"movie_keywords_duplicate_entries": pairs.height - links.height},
    )
