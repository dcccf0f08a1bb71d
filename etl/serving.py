"""Write the serving image: every column, relation, order, count and lookup index the API
reads, computed once here from the validated tables so that a server worker only maps files.

Row numbers: movies and people are stored in TMDB-id order, and every relation holds row
numbers, never ids. A relation is CSR: ``targets[offsets[k]:offsets[k + 1]]`` belongs to key
row ``k``, already in the order the API lists it. The names written here are the ones
``data.catalog`` reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from data.contract_version import CONTRACT_VERSION
from data.image import NULL_INT, ImageWriter
from data.search import movie_name_index, person_name_index

# Movie columns and how they are stored (everything the API reads of a movie).
MOVIE_STRINGS = ("title", "title_key", "original_title", "poster_path", "overview", "tagline")
MOVIE_CODES = ("status", "original_language")
MOVIE_FLOATS = ("budget", "revenue", "return", "popularity", "runtime", "vote_average")
MOVIE_SORTS = ("popularity", "vote_average", "vote_count", "release_date", "revenue", "title_key")
# Small tables linked to movies: link table, key column, foreign key, position column.
ENTITY_LINKS: dict[str, tuple[str | None, str, str | None, str | None]] = {
    "genres": ("movie_genres", "id", "genre_id", "position"),
    "companies": ("movie_companies", "id", "company_id", "position"),
    "countries": ("movie_countries", "iso_3166_1", "iso_3166_1", None),
    "languages": ("movie_languages", "iso_639_1", "iso_639_1", None),
    "keywords": ("movie_keywords", "id", "keyword_id", None),
    "collections": (None, "id", None, None),
}


def _grouped(parent: np.ndarray, parents: int, *sort_keys: np.ndarray) -> tuple[np.ndarray,
                                                                               np.ndarray]:
    """Child positions grouped by parent (children ordered by ``sort_keys``, then by their
    position) and the CSR offsets."""
    order = np.lexsort((*reversed(sort_keys), parent)) if sort_keys else np.argsort(
        parent, kind="stable")
    offsets = np.zeros(parents + 1, dtype=np.int64)
    np.cumsum(np.bincount(parent, minlength=parents), out=offsets[1:])
    return order, offsets


def _group(image: ImageWriter, name: str, parent: np.ndarray, parents: int,
           targets: np.ndarray, *sort_keys: np.ndarray) -> None:
    order, offsets = _grouped(parent, parents, *sort_keys)
    image.relation(name, offsets, targets[order])


def _distinct(image: ImageWriter, name: str, parent: np.ndarray, child: np.ndarray,
              parents: int, *sort_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Like ``_group`` but each (parent, child) pair once, at its first place in the order;
    returns the relation's offsets and targets (for aggregates over them)."""
    order, _ = _grouped(parent, parents, *sort_keys)
    pairs = pl.DataFrame({"parent": parent[order], "child": child[order]})
    unique = pairs.unique(maintain_order=True)
    offsets = np.zeros(parents + 1, dtype=np.int64)
    np.cumsum(np.bincount(unique["parent"].to_numpy(), minlength=parents), out=offsets[1:])
    targets = unique["child"].to_numpy()
    image.relation(name, offsets, targets)
    return offsets, targets


def write_image(tables: Mapping[str, pl.DataFrame], directory: Path) -> dict[str, Any]:
    """Write the serving image of validated ``tables`` into ``directory``."""
    image = ImageWriter(directory)
    movies = tables["movies"].sort("id").with_row_index("row")
    n_movies = movies.height
    people = tables["people"].sort("id").with_row_index("row")
    n_people = people.height
    movie_ix = movies.select(movie_id="id", mrow=pl.col("row").cast(pl.Int32))
    person_ix = people.select(person_id="id", prow=pl.col("row").cast(pl.Int32))
    release = movies["release_date"].to_physical().to_numpy().astype(np.int32)
    popularity = movies["popularity"].fill_null(0.0).to_numpy()

    # --- movies ---
    image.numbers("movies", "id", movies["id"].to_numpy(), "int")
    for name in MOVIE_STRINGS:
        image.strings("movies", name, movies[name])
    for name in MOVIE_CODES:
        image.codes("movies", name, movies[name])
    # The language filter compares folded codes ("EN" and "en" are one language).
    image.codes("movies", "language_key", movies["original_language"].str.to_lowercase())
    image.numbers("movies", "release_date", release, "date")
    image.numbers("movies", "release_year", movies["release_year"].to_numpy(), "int")
    for name in MOVIE_FLOATS:
        image.numbers("movies", name, movies[name].fill_null(np.nan).to_numpy(), "float")
    image.numbers("movies", "vote_count", movies["vote_count"].to_numpy(), "int")
    image.numbers("movies", "collection_id",
                  movies["collection_id"].fill_null(NULL_INT).to_numpy(), "int?")
    for column in MOVIE_SORTS:
        for descending in (False, True):
            # Stable sort over id-ordered rows: ties keep ascending id; nulls go last.
            order = movies.sort(column, descending=descending, nulls_last=True,
                                maintain_order=True)["row"]
            image.array(f"movies.order.{column}.{'desc' if descending else 'asc'}",
                        order.to_numpy().astype(np.int32))
    dates = movies["release_date"]
    image.array("movies.month_counts", np.bincount(dates.dt.month().to_numpy(), minlength=13))
    image.array("movies.weekday_counts",
                np.bincount(dates.dt.weekday().to_numpy(), minlength=8))
    image.key_index("titles", movies["title_key"], movies["row"], movies["vote_count"])

    # --- people ---
    image.numbers("people", "id", people["id"].to_numpy(), "int")
    image.strings("people", "name", people["name"])
    image.strings("people", "profile_path", people["profile_path"])
    image.numbers("people", "gender", people["gender"].fill_null(NULL_INT).to_numpy(), "int?")

    # --- cast ---
    cast = tables["cast"].join(movie_ix, on="movie_id", maintain_order="left").join(
        person_ix, on="person_id", maintain_order="left")
    cast_movie = cast["mrow"].to_numpy()
    cast_person = cast["prow"].to_numpy()
    cast_order = cast["order"].to_numpy()
    image.numbers("cast", "movie", cast_movie, "int")
    image.numbers("cast", "person", cast_person, "int")
    image.numbers("cast", "order", cast_order, "int")
    image.strings("cast", "character", cast["character"])
    entries = np.arange(cast.height, dtype=np.int32)
    _group(image, "movie_cast", cast_movie, n_movies, entries, cast_order)
    _group(image, "person_cast", cast_person, n_people, entries, release[cast_movie])
    acted = _distinct(image, "person_acted", cast_person, cast_movie, n_people,
                      release[cast_movie])
    cast_counts = np.bincount(cast_person, minlength=n_people)

    # --- crew ---
    crew = tables["crew"].join(movie_ix, on="movie_id", maintain_order="left").join(
        person_ix, on="person_id", maintain_order="left")
    crew_movie = crew["mrow"].to_numpy()
    crew_person = crew["prow"].to_numpy()
    image.numbers("crew", "movie", crew_movie, "int")
    image.numbers("crew", "person", crew_person, "int")
    image.codes("crew", "department", crew["department"])
    image.codes("crew", "job", crew["job"])
    entries = np.arange(crew.height, dtype=np.int32)
    _group(image, "movie_crew", crew_movie, n_movies, entries)
    _group(image, "person_crew", crew_person, n_people, entries, release[crew_movie])
    directing = (crew["job"] == "Director").to_numpy()
    director, directed_movie = crew_person[directing], crew_movie[directing]
    _distinct(image, "movie_directors", directed_movie, director, n_movies)
    directed = _distinct(image, "person_directed", director, directed_movie, n_people,
                         release[directed_movie])
    directed_counts = np.bincount(director, minlength=n_people)

    # Per-person aggregates: credit counts rank namesakes; returns answer get_actor and
    # get_director without touching the films.
    returns = movies["return"].to_numpy()
    image.array("people.cast_count", cast_counts.astype(np.int32))
    image.array("people.directed_count", directed_counts.astype(np.int32))
    for name, (offsets, films) in (("acted", acted), ("directed", directed)):
        owner = np.repeat(np.arange(n_people), np.diff(offsets))
        total = np.bincount(owner, weights=returns[films], minlength=n_people)
        image.array(f"people.{name}_return", total.astype(np.float64))
    for index, counts in (("actors", cast_counts), ("directors", directed_counts)):
        credited = people.with_columns(credits=pl.Series(counts)).filter(pl.col("credits") > 0)
        image.key_index(index, credited["name_key"], credited["row"], credited["credits"])

    # --- genres, companies, countries, languages, keywords, collections ---
    entity_rows: dict[str, dict[Any, int]] = {}
    for entity, (link, key, fk, position) in ENTITY_LINKS.items():
        frame = tables[entity].sort(key).with_row_index("row")
        keys = frame[key]
        if keys.dtype == pl.String:
            image.strings(entity, key, keys)
        else:
            image.numbers(entity, key, keys.to_numpy(), "int")
        image.strings(entity, "name", frame["name"])
        image.key_index(f"{entity}_keys", keys.cast(pl.String), frame["row"])
        entity_rows[entity] = dict(zip(keys.to_list(), range(frame.height), strict=True))
        if link is None:
            continue
        pairs = tables[link].join(movie_ix, on="movie_id", maintain_order="left").join(
            frame.select(pl.col(key).alias(fk), erow=pl.col("row").cast(pl.Int32)), on=fk,
            maintain_order="left")
        movie_rows = pairs["mrow"].to_numpy()
        rows = pairs["erow"].to_numpy()
        by_position = (pairs[position].to_numpy(),) if position else ()
        _group(image, f"movie_{entity}", movie_rows, n_movies, rows, *by_position)
        # An entity's movies, most popular first.
        _group(image, f"{entity}_movies", rows, frame.height, movie_rows,
               -popularity[movie_rows])
    collection = movies.join(
        tables["collections"].sort("id").with_row_index("crow").select(
            collection_id="id", crow=pl.col("crow").cast(pl.Int32)),
        on="collection_id", how="left", maintain_order="left",
    )["crow"].fill_null(NULL_INT).to_numpy()
    image.numbers("movies", "collection", collection, "int?")
    members = np.flatnonzero(collection >= 0)
    _group(image, "collection_movies", collection[members], len(entity_rows["collections"]),
           members.astype(np.int32), release[members])

    # Fuzzy search: the movies' titles and original titles (prior: votes), and the names of
    # people with an acting or directing credit (prior: their credits).
    image.group("search.titles", movie_name_index(
        movies["title_key"].to_list(), movies["original_title"].to_list(),
        movies["vote_count"].to_numpy()))
    image.group("search.people", person_name_index(
        people["name_key"].to_list(), cast_counts + directed_counts))

    image.finish(contract_version=CONTRACT_VERSION, movies=n_movies, people=n_people)
    return {"movies": n_movies, "people": n_people, "arrays": len(image.meta["arrays"])}
