"""The in-memory catalog: the Parquet build loaded once, plus the lookup indexes.

Everything a request needs is an O(1) dict lookup or a slice of a precomputed index, so a
query's work grows with its result, never with the table size times the number of parents.
One-to-many relations (movie -> cast, person -> credits, ...) are stored as CSR-style
indexes: a permutation of the child rows grouped by parent plus an offsets array.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl

from data.contract import CONTRACT_VERSION, TABLES, polars_schema
from data.recommender import INDEX_DIR, Index
from data.search import NameIndex, movie_name_index, person_name_index


class BuildError(Exception):
    """The build directory is missing, stale or does not match the table contract."""


@dataclass(frozen=True)
class Grouped:
    """Child row numbers grouped by parent row: ``rows[offsets[p]:offsets[p + 1]]``."""

    rows: np.ndarray
    offsets: np.ndarray

    @classmethod
    def build(cls, parent: np.ndarray, parents: int, sort_key: np.ndarray | None = None) -> Grouped:
        """``parent[i]`` is the parent row of child ``i``; children keep ``sort_key`` order
        (ascending) within a parent, else their table order."""
        keys = (parent,) if sort_key is None else (sort_key, parent)
        rows = np.lexsort(keys).astype(np.int32)
        counts = np.bincount(parent, minlength=parents)
        offsets = np.zeros(parents + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(rows=rows, offsets=offsets)

    def of(self, parent: int) -> np.ndarray:
        return self.rows[self.offsets[parent] : self.offsets[parent + 1]]

    def count(self, parent: int) -> int:
        return int(self.offsets[parent + 1] - self.offsets[parent])


class SortedIds:
    """TMDB id -> row for an id-sorted table, by binary search (a dict of 300k+ people
    would cost ~40 MB per worker)."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = ids

    def get(self, key: int) -> int | None:
        row = int(np.searchsorted(self.ids, key))
        return row if row < self.ids.size and self.ids[row] == key else None


@dataclass(frozen=True)
class Codes:
    """A low-cardinality string column as small integer codes plus the distinct values."""

    codes: np.ndarray
    values: list[str]

    @classmethod
    def of(cls, column: pl.Series) -> Codes:
        # Dense rank of a string column is its code into the sorted distinct values.
        codes = column.rank("dense").to_numpy().astype(np.int32) - 1
        return cls(codes, column.unique().sort().to_list())

    def __getitem__(self, row: int) -> str:
        return self.values[self.codes[row]]


def read_table(build: Path, name: str) -> pl.DataFrame:
    path = build / f"{name}.parquet"
    if not path.is_file():
        raise BuildError(f"{path} is missing; run `movies etl`")
    frame = pl.read_parquet(path)
    expected = polars_schema(name)
    if frame.schema != expected:
        raise BuildError(f"{path} does not match the table contract; run `movies etl` again")
    return frame


def read_manifest(build: Path) -> dict[str, Any]:
    path = build / "manifest.json"
    if not path.is_file():
        raise BuildError(f"no build at {build}; run `movies etl`")
    manifest: dict[str, Any] = orjson.loads(path.read_bytes())
    if manifest.get("contract_version") != CONTRACT_VERSION:
        raise BuildError(
            f"{build} was built for table contract {manifest.get('contract_version')}, "
            f"this code reads {CONTRACT_VERSION}; run `movies etl` again"
        )
    return manifest


def _row_of(ids: pl.Series, index: dict[int, int]) -> np.ndarray:
    return np.fromiter((index[i] for i in ids.to_list()), dtype=np.int64, count=len(ids))


class Catalog:
    """Immutable, loaded once per process; safe to share between concurrent requests."""

    def __init__(
        self, tables: dict[str, pl.DataFrame], manifest: dict[str, Any], index: Index | None
    ) -> None:
        self.manifest = manifest
        # The frames themselves are not kept: what requests read is copied out below.
        movies = tables["movies"].sort("id")
        self.n_movies = movies.height
        # Scalar columns as Python lists: per-field access in resolvers is then a list index.
        self.m = {name: movies[name].to_list() for name in movies.columns}
        self.movie_row = {movie_id: row for row, movie_id in enumerate(self.m["id"])}

        people = tables["people"].sort("id")
        # People outnumber movies ~8 to 1: names stay a list (read on every credit), the
        # rest are arrays or the Polars column itself, to keep each worker's memory small.
        self.p: dict[str, Any] = {
            "id": people["id"].to_numpy(),
            "name": people["name"].to_list(),
            "gender": people["gender"],
            "profile_path": people["profile_path"],
        }
        self.person_row = SortedIds(self.p["id"])

        # Lookup keys: folded title/name -> rows, most-voted (most-credited) first.
        self.title_rows = self._key_index(movies, "title_key", pl.col("vote_count"))

        cast = tables["cast"]
        crew = tables["crew"]
        movie_ix = pl.DataFrame({"movie_id": self.m["id"], "mrow": np.arange(self.n_movies)})
        person_ix = pl.DataFrame({"person_id": people["id"], "prow": np.arange(people.height)})
        release = movies["release_date"].to_physical().to_numpy()

        cast = cast.join(movie_ix, on="movie_id").join(person_ix, on="person_id")
        self.cast_movie = cast["mrow"].to_numpy().astype(np.int32)
        self.cast_person = cast["prow"].to_numpy().astype(np.int32)
        self.cast_order = cast["order"].to_numpy()
        self.cast_character = cast["character"]
        self.cast_by_movie = Grouped.build(self.cast_movie, self.n_movies, self.cast_order)
        self.cast_by_person = Grouped.build(
            self.cast_person, people.height, release[self.cast_movie]
        )

        crew = crew.join(movie_ix, on="movie_id").join(person_ix, on="person_id")
        self.crew_movie = crew["mrow"].to_numpy().astype(np.int32)
        self.crew_person = crew["prow"].to_numpy().astype(np.int32)
        self.crew_department = Codes.of(crew["department"])
        self.crew_job = Codes.of(crew["job"])
        self.crew_by_movie = Grouped.build(self.crew_movie, self.n_movies)
        self.crew_by_person = Grouped.build(
            self.crew_person, people.height, release[self.crew_movie]
        )
        is_director = (crew["job"] == "Director").to_numpy()
        director_rows = np.flatnonzero(is_director)
        self.directed = Grouped.build(
            self.crew_person[director_rows], people.height, release[self.crew_movie[director_rows]]
        )
        self.directed_movie = self.crew_movie[director_rows]
        self.directors_of = Grouped.build(self.crew_movie[director_rows], self.n_movies)
        self.directed_person = self.crew_person[director_rows]

        # Actors and directors by folded name, most-credited first.
        cast_counts = np.bincount(self.cast_person, minlength=people.height)
        directed_counts = np.bincount(self.directed_person, minlength=people.height)
        self.cast_counts = cast_counts
        self.directed_counts = directed_counts
        self.actor_names = self._name_index(people, cast_counts)
        self.director_names = self._name_index(people, directed_counts)

        # --- name search: built at load for now ----------------------------------------------
        # TEMPORARY: these arrays belong in the ETL's serving image, memory-mapped by every
        # worker (NameIndex reads them as they are); built here from the loaded columns until
        # that image exists.
        self.title_search = NameIndex(movie_name_index(
            self.m["title_key"], self.m["original_title"], movies["vote_count"].to_numpy()
        ))
        self.people_search = NameIndex(person_name_index(
            people["name_key"].to_list(), cast_counts + directed_counts
        ))
        self.is_actor = cast_counts > 0
        self.is_director = directed_counts > 0
        # --- end of name search --------------------------------------------------------------

        self._entities(tables, movie_ix, release)
        self.returns = np.asarray(self.m["return"], dtype=np.float64)
        self.years = movies["release_year"].to_numpy()
        self.vote_counts = movies["vote_count"].to_numpy()
        self.languages = movies["original_language"].fill_null("").str.to_lowercase().to_numpy()
        self._sorted: dict[tuple[str, bool], np.ndarray] = {}
        indexed = movies.with_row_index("row")
        for column in ("popularity", "vote_average", "vote_count", "release_date", "revenue",
                       "title_key"):
            for descending in (False, True):
                # Stable sort over id-ordered rows: ties keep ascending id; nulls go last.
                self._sorted[column, descending] = indexed.sort(
                    column, descending=descending, nulls_last=True, maintain_order=True
                )["row"].to_numpy()
        self.index = index
        if index is not None and not np.array_equal(index.ids, np.asarray(self.m["id"])):
            raise BuildError("the recommender index does not match the movies table")
        dates = movies["release_date"]
        self.month_counts = np.bincount(dates.dt.month().to_numpy(), minlength=13)
        self.weekday_counts = np.bincount(dates.dt.weekday().to_numpy(), minlength=8)

    @staticmethod
    def _key_index(frame: pl.DataFrame, key: str, weight: pl.Expr) -> dict[str, list[int]]:
        if "row" not in frame.columns:
            frame = frame.with_row_index("row")
        grouped = (
            frame.sort([weight, "row"], descending=[True, False])
            .group_by(key, maintain_order=True)
            .agg(pl.col("row"))
        )
        return dict(zip(grouped[key].to_list(), grouped["row"].to_list(), strict=True))

    @staticmethod
    def _name_index(people: pl.DataFrame, counts: np.ndarray) -> dict[str, list[int]]:
        credited = people.with_row_index("row").with_columns(credits=pl.Series(counts))
        credited = credited.filter(pl.col("credits") > 0)
        return Catalog._key_index(credited, "name_key", pl.col("credits"))

    def _entities(
        self, tables: dict[str, pl.DataFrame], movie_ix: pl.DataFrame, release: np.ndarray
    ) -> None:
        """Small dimension tables (genres, companies, ...) and their movie links."""
        self.entities: dict[str, dict[str, list[Any]]] = {}
        self.entity_row: dict[str, dict[Any, int]] = {}
        self.links: dict[str, tuple[np.ndarray, Grouped, Grouped]] = {}
        specs = {
            "genres": ("movie_genres", "id", "genre_id", "position"),
            "companies": ("movie_companies", "id", "company_id", "position"),
            "countries": ("movie_countries", "iso_3166_1", "iso_3166_1", None),
            "languages": ("movie_languages", "iso_639_1", "iso_639_1", None),
            "keywords": ("movie_keywords", "id", "keyword_id", None),
            "collections": (None, "id", None, None),
        }
        for entity, (link, key, fk, position) in specs.items():
            frame = tables[entity].sort(key)
            self.entities[entity] = {name: frame[name].to_list() for name in frame.columns}
            rows = {value: row for row, value in enumerate(self.entities[entity][key])}
            self.entity_row[entity] = rows
            if link is None:
                continue
            pairs = tables[link].join(movie_ix, on="movie_id")
            entity_rows = np.fromiter(
                (rows[v] for v in pairs[fk].to_list()), dtype=np.int64, count=pairs.height
            )
            movie_rows = pairs["mrow"].to_numpy()
            order = pairs[position].to_numpy() if position else None
            by_movie = Grouped.build(movie_rows, self.n_movies, order)
            # An entity's movies, most popular first.
            popularity = -np.nan_to_num(np.asarray(self.m["popularity"], dtype=np.float64))
            by_entity = Grouped.build(entity_rows, frame.height, popularity[movie_rows])
            self.links[entity] = (np.stack([movie_rows, entity_rows]), by_movie, by_entity)
        coll_rows = self.entity_row["collections"]
        coll = np.asarray([-1 if c is None else coll_rows[c] for c in self.m["collection_id"]])
        members = np.flatnonzero(coll >= 0)
        self.collection_members = Grouped.build(
            coll[members], len(self.entities["collections"]["id"]), release[members]
        )
        self.collection_member_rows = members

    def sorted_rows(self, column: str, descending: bool) -> np.ndarray:
        return self._sorted[column, descending]

    # --- relations -------------------------------------------------------------------------

    def entity_rows_of_movie(self, entity: str, movie: int) -> np.ndarray:
        pairs, by_movie, _ = self.links[entity]
        return pairs[1][by_movie.of(movie)]

    def movie_rows_of_entity(self, entity: str, row: int) -> np.ndarray:
        pairs, _, by_entity = self.links[entity]
        return pairs[0][by_entity.of(row)]

    def entity_movie_count(self, entity: str, row: int) -> int:
        return self.links[entity][2].count(row)

    def collection_movies(self, row: int) -> np.ndarray:
        return self.collection_member_rows[self.collection_members.of(row)]

    @classmethod
    def load(cls, build: Path) -> Catalog:
        build = Path(build)
        manifest = read_manifest(build)
        tables = {name: read_table(build, name) for name in TABLES if name != "rejects"}
        index = Index.load(build / INDEX_DIR) if (build / INDEX_DIR).is_dir() else None
        return cls(tables, manifest | {"path": str(build.resolve())}, index)
