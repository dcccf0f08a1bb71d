"""The catalog: a small typed read API over a build's memory-mapped serving image.

Attaching maps files and builds nothing (``etl/serving.py`` computed every index), so a
worker is ready at once whatever the catalogue's size, and workers share the pages. What the
API reads goes through four kinds of object, never through the arrays behind them:

* ``Table``: a table's columns by row (``value(row, field)``, ``get(rows, fields)``);
* ``Relation``: one-to-many links as row ranges (``of(key)``, ``count(key)``);
* ``KeyIndex``: exact lookups by folded name or key (``find(key)``);
* per-row aggregates and orders (``sorted_rows``, ``month_counts``, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from data.build import IMAGE_DIR, INDEX_DIR, BuildError, pin, read_manifest
from data.contract_version import CONTRACT_VERSION
from data.image import (
    Codes,
    Column,
    Image,
    ImageError,
    KeyIndex,
    Numbers,
    Relation,
    open_image,
)
from data.recommender import Index
from data.search import NameIndex

ENTITIES = ("genres", "companies", "countries", "languages", "keywords", "collections")


class Table:
    """A table's columns, read by row number."""

    def __init__(self, columns: dict[str, Column]) -> None:
        self._columns = columns
        self._size = len(next(iter(columns.values())))

    def __len__(self) -> int:
        return self._size

    def __contains__(self, field: str) -> bool:
        return field in self._columns

    def value(self, row: int, field: str) -> Any:
        return self._columns[field].get(row)

    def get(self, rows: Sequence[int] | np.ndarray, fields: Iterable[str]) -> list[dict[str, Any]]:
        """Rows as dicts of ``fields``: one gather per column, whatever the number of rows."""
        if len(rows) == 1:  # one movie's fields: scalar reads beat array gathers
            row = int(rows[0])
            return [{field: self._columns[field].get(row) for field in fields}]
        index = np.asarray(rows, dtype=np.int64)
        columns = {field: self._columns[field].take(index) for field in fields}
        return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(),
                                                                         strict=True)]

    def take(self, rows: Sequence[int] | np.ndarray, field: str) -> list[Any]:
        """One column's values for ``rows``, in one gather."""
        return self._columns[field].take(np.asarray(rows, dtype=np.int64))

    def numbers(self, field: str) -> np.ndarray:
        """A numeric column as a read-only array, for vectorised work over all rows."""
        column = self._columns[field]
        if not isinstance(column, Numbers):
            raise TypeError(f"{field} is not a numeric column")
        return column.values

    def codes(self, field: str) -> tuple[np.ndarray, list[str]]:
        """A coded string column: per-row codes and the distinct values they index."""
        column = self._columns[field]
        if not isinstance(column, Codes):
            raise TypeError(f"{field} is not a coded column")
        return column.codes, column.values


class Catalog:
    """Immutable once attached; safe to share between concurrent requests and threads."""

    def __init__(self, image: Image, manifest: dict[str, Any], index: Index | None) -> None:
        self.manifest = manifest
        self.path = image.path.parent
        self._image = image
        self.movies = Table(image.columns("movies"))
        self.people = Table(image.columns("people"))
        self.cast = Table(image.columns("cast"))
        self.crew = Table(image.columns("crew"))
        self.entities = {name: Table(image.columns(name)) for name in ENTITIES}
        self.n_movies = len(self.movies)
        self.n_people = len(self.people)

        def relation(name: str) -> Relation:
            return Relation(image.array(f"{name}.offsets"), image.array(f"{name}.targets"))

        self.movie_cast = relation("movie_cast")  # cast entries in billing order
        self.person_cast = relation("person_cast")  # cast entries by release date
        self.movie_crew = relation("movie_crew")  # crew entries in credit order
        self.person_crew = relation("person_crew")  # crew entries by release date
        self.movie_directors = relation("movie_directors")  # distinct people
        self.person_acted = relation("person_acted")  # distinct movies by release date
        self.person_directed = relation("person_directed")  # distinct movies by release date
        self.collection_movies = relation("collection_movies")  # by release date
        self.movie_entities = {e: relation(f"movie_{e}") for e in ENTITIES if e != "collections"}
        self.entity_movies = {e: relation(f"{e}_movies") for e in ENTITIES if e != "collections"}

        self.titles = KeyIndex(image, "titles")  # title_key -> movies, most voted first
        self.actors = KeyIndex(image, "actors")  # name_key -> people with cast credits
        self.directors = KeyIndex(image, "directors")  # name_key -> people who directed
        self.entity_keys = {e: KeyIndex(image, f"{e}_keys") for e in ENTITIES}
        # Fuzzy search (titles and original titles; credited people's names).
        self.title_search = NameIndex(image.group("search.titles"))
        self.people_search = NameIndex(image.group("search.people"))

        self.cast_counts = image.array("people.cast_count")
        self.directed_counts = image.array("people.directed_count")
        self.acted_return = image.array("people.acted_return")
        self.directed_return = image.array("people.directed_return")
        self.month_counts = image.array("movies.month_counts")
        self.weekday_counts = image.array("movies.weekday_counts")

        self.index = index
        if index is not None and not np.array_equal(index.ids, self.movies.numbers("id")):
            raise BuildError("the recommender index does not match the movies table")

    @classmethod
    def load(cls, build: Path) -> Catalog:
        """Attach to the build that ``build`` points to now (resolved once: see ``pin``)."""
        path = pin(build)
        manifest = read_manifest(path)
        try:
            image = open_image(path / IMAGE_DIR, {"contract_version": CONTRACT_VERSION})
        except ImageError as exc:
            raise BuildError(f"{exc}; run `movies etl` again") from None
        index = Index.load(path / INDEX_DIR) if (path / INDEX_DIR).is_dir() else None
        return cls(image, manifest | {"path": str(path)}, index)

    # --- orders and lookups ---------------------------------------------------------------

    def sorted_rows(self, column: str, descending: bool) -> np.ndarray:
        return self._image.array(f"movies.order.{column}.{'desc' if descending else 'asc'}")

    def movie_row(self, movie_id: int) -> int | None:
        return _row_of(self.movies.numbers("id"), movie_id)

    def person_row(self, person_id: int) -> int | None:
        return _row_of(self.people.numbers("id"), person_id)

    def entity_row(self, entity: str, key: object) -> int | None:
        rows = self.entity_keys[entity].find(str(key))
        return None if rows is None or rows.size == 0 else int(rows[0])

    def collection_of(self, movie: int) -> int | None:
        row = self.movies.value(movie, "collection")
        return None if row is None else int(row)

    # Per-person masks, made when a role-filtered search first needs them (not at attach,
    # which reads nothing in proportion to the catalogue).
    @cached_property
    def is_actor(self) -> np.ndarray:
        return self.cast_counts > 0

    @cached_property
    def is_director(self) -> np.ndarray:
        return self.directed_counts > 0

    @cached_property
    def has_credits(self) -> np.ndarray:
        """Per movie: at least one cast or crew credit in the loaded data."""
        return (self.movie_cast.counts() > 0) | (self.movie_crew.counts() > 0)


def _row_of(ids: np.ndarray, key: int) -> int | None:
    """Row of a TMDB id in an id-sorted column, by binary search."""
    if not -(2**63) <= key < 2**63:
        return None
    row = int(np.searchsorted(ids, key))
    return row if row < ids.shape[0] and ids[row] == key else None
