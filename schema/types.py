"""The graph's object types. Thin: each holds a catalog row and reads fields from it through
the catalog's read API; every rule lives in ``data/``. Lists and connection pages are built
from all their rows at once (``*_page``), gathering the columns the query asks for in one go.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import strawberry
from strawberry.types import Info

from data import lookups
from data.catalog import Catalog
from data.errors import BadInput, NotFound
from schema.images import PosterSize, ProfileSize, image_url
from schema.pagination import Connection, paginate
from schema.selection import CONNECTION_PATHS, requested

# --- global object ids ---------------------------------------------------------------------


def global_id(kind: str, key: object) -> strawberry.ID:
    return strawberry.ID(base64.b64encode(f"{kind}:{key}".encode()).decode())


def parse_global_id(value: str) -> tuple[str, str]:
    try:
        kind, _, key = base64.b64decode(value.encode(), validate=True).decode().partition(":")
    except (ValueError, UnicodeError):
        raise BadInput("id is not an id this API issued", argument="id") from None
    if not kind or not key:
        raise BadInput("id is not an id this API issued", argument="id")
    return kind, key


@strawberry.interface(description="An object with a global id, fetchable with `node(id)`.")
class Node:
    @strawberry.field(description="Global object id.")
    def id(self) -> strawberry.ID:
        raise NotImplementedError


# --- small entities ------------------------------------------------------------------------


@strawberry.interface(description="Something movies are grouped by: a genre, company, ...")
class MovieGroup:
    cat: strawberry.Private[Catalog]
    row: strawberry.Private[int]
    entity: ClassVar[str]  # the catalog's entity table
    key: ClassVar[str]  # its key column, the one the global id carries

    def _value(self, column: str) -> Any:
        return self.cat.entities[self.entity].value(self.row, column)

    @strawberry.field
    def id(self) -> strawberry.ID:
        return global_id(type(self).__name__, self._value(self.key))

    @strawberry.field
    def name(self) -> str:
        return self._value("name")

    @strawberry.field(description="Its movies, most popular first.")
    def movies(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Movie]:
        rows = self.cat.entity_movies[self.entity].of(self.row)
        return paginate(rows, first, after, movie_page(self.cat, info, CONNECTION_PATHS))


@strawberry.type
class Genre(MovieGroup, Node):
    entity: ClassVar[str] = "genres"
    key: ClassVar[str] = "id"

    @strawberry.field(description="TMDB genre id.")
    def tmdb_id(self) -> int:
        return self._value("id")


@strawberry.type
class Company(MovieGroup, Node):
    entity: ClassVar[str] = "companies"
    key: ClassVar[str] = "id"

    @strawberry.field(description="TMDB company id.")
    def tmdb_id(self) -> int:
        return self._value("id")


@strawberry.type(description="A production country.")
class Country(MovieGroup, Node):
    entity: ClassVar[str] = "countries"
    key: ClassVar[str] = "iso_3166_1"

    @strawberry.field(description="ISO 3166-1 code.")
    def code(self) -> str:
        return self._value("iso_3166_1")


@strawberry.type(description="A spoken language.")
class Language(MovieGroup, Node):
    entity: ClassVar[str] = "languages"
    key: ClassVar[str] = "iso_639_1"

    @strawberry.field(description="ISO 639-1 code.")
    def code(self) -> str:
        return self._value("iso_639_1")


@strawberry.type
class Keyword(MovieGroup, Node):
    entity: ClassVar[str] = "keywords"
    key: ClassVar[str] = "id"

    @strawberry.field(description="TMDB keyword id.")
    def tmdb_id(self) -> int:
        return self._value("id")


@strawberry.type
class Collection(Node):
    cat: strawberry.Private[Catalog]
    row: strawberry.Private[int]

    def _value(self, column: str) -> Any:
        return self.cat.entities["collections"].value(self.row, column)

    @strawberry.field
    def id(self) -> strawberry.ID:
        return global_id("Collection", self.tmdb_id())

    @strawberry.field(description="TMDB collection id.")
    def tmdb_id(self) -> int:
        return self._value("id")

    @strawberry.field
    def name(self) -> str:
        return self._value("name")

    @strawberry.field(description="The collection's movies in release order.")
    def movies(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Movie]:
        rows = self.cat.collection_movies.of(self.row)
        return paginate(rows, first, after, movie_page(self.cat, info, CONNECTION_PATHS))


def _entities(cls: type, cat: Catalog, rows: Iterable[int]) -> list[Any]:
    return [cls(cat=cat, row=int(r)) for r in rows]


# --- people --------------------------------------------------------------------------------


@strawberry.type(description="A cast member's credit in one movie.")
class CastCredit:
    # Plain values, not resolvers: a page of credits is read field by field, and a field
    # without a resolver is the cheapest thing GraphQL execution does.
    actor: Actor
    movie: Movie
    character: str | None
    order: int = strawberry.field(description="Billing order, 0 first.")


def cast_page(cat: Catalog, entries: np.ndarray) -> list[CastCredit]:
    # Column by column (a list of values each), not row dicts: a nested query builds one
    # such page per movie.
    movies, people, orders, characters = (
        cat.cast.take(entries, column) for column in ("movie", "person", "order", "character"))
    actors = Actor.page(cat, people)
    return [CastCredit(actor=actor, movie=Movie(cat, movie), character=character, order=order)
            for actor, movie, character, order in zip(actors, movies, characters, orders,
                                                      strict=True)]


@strawberry.type(description="A crew member's credit in one movie.")
class CrewCredit:
    person: Person
    movie: Movie
    department: str
    job: str


def crew_page(cat: Catalog, entries: np.ndarray) -> list[CrewCredit]:
    movies, people, departments, jobs = (
        cat.crew.take(entries, column) for column in ("movie", "person", "department", "job"))
    return [CrewCredit(person=person, movie=Movie(cat, movie), department=department, job=job)
            for person, movie, department, job in zip(Person.page(cat, people), movies,
                                                      departments, jobs, strict=True)]


@strawberry.interface(description="What every view of a person (Person, Actor, Director) has.")
class PersonInfo:
    cat: strawberry.Private[Catalog]
    row: strawberry.Private[int]
    # A plain value read when the object is made (``at``, ``page``): the field lists of
    # people ask most, and a field without a resolver costs GraphQL execution least.
    name: str

    @classmethod
    def at(cls, cat: Catalog, row: int) -> Self:
        return cls(cat=cat, row=row, name=cat.people.value(row, "name"))

    @classmethod
    def page(cls, cat: Catalog, rows: Sequence[int] | np.ndarray) -> list[Self]:
        rows = np.asarray(rows, dtype=np.int64)
        return [cls(cat=cat, row=r, name=name)
                for r, name in zip(rows.tolist(), cat.people.take(rows, "name"), strict=True)]

    @strawberry.field(description="TMDB person id.")
    def tmdb_id(self) -> int:
        return int(self.cat.people.value(self.row, "id"))

    @strawberry.field(description="TMDB gender code: 0 unknown, 1 female, 2 male.")
    def gender(self) -> int | None:
        return self.cat.people.value(self.row, "gender")

    @strawberry.field(description="TMDB profile image path.")
    def profile_path(self) -> str | None:
        return self.cat.people.value(self.row, "profile_path")

    @strawberry.field(description="URL of the profile image at a TMDB size; null when none.")
    def profile_url(self, info: Info, size: ProfileSize = ProfileSize.W185) -> str | None:
        return image_url(info, self.profile_path(), size)

    @strawberry.field(description="This person's acting side, if they have cast credits.")
    def as_actor(self) -> Actor | None:
        return Actor.at(self.cat, self.row) if self.cat.cast_counts[self.row] else None

    @strawberry.field(description="This person's directing side, if they directed.")
    def as_director(self) -> Director | None:
        return (Director.at(self.cat, self.row) if self.cat.directed_counts[self.row]
                else None)

    @strawberry.field(description="This person in every role, with all credits.")
    def as_person(self) -> Person:
        return Person.at(self.cat, self.row)


@strawberry.type(description="Anyone credited in the cast or crew.")
class Person(PersonInfo, Node):

    @strawberry.field
    def id(self) -> strawberry.ID:
        return global_id("Person", self.tmdb_id())

    @strawberry.field(description="Cast credits, by release date.")
    def cast_credits(
        self, first: int | None = None, after: str | None = None
    ) -> Connection[CastCredit]:
        return paginate(self.cat.person_cast.of(self.row), first, after,
                        lambda e: cast_page(self.cat, e))

    @strawberry.field(description="Crew credits, by release date.")
    def crew_credits(
        self, first: int | None = None, after: str | None = None
    ) -> Connection[CrewCredit]:
        return paginate(self.cat.person_crew.of(self.row), first, after,
                        lambda e: crew_page(self.cat, e))


@strawberry.interface(description="A person in one role (actor or director): films, returns "
                      "and the assignment's summary.")
class PersonRole(PersonInfo):
    role: ClassVar[lookups.Role]

    def _films(self) -> lookups.Filmography:
        if self.role is lookups.Role.ACTOR:
            return lookups.actor_films(self.cat, self.row)
        return lookups.director_films(self.cat, self.row)

    @strawberry.field(description="Number of distinct films in this role.")
    def film_count(self) -> int:
        return int(self._films().movies.size)

    @strawberry.field(description="Sum of `return` over the films.")
    def total_return(self) -> float:
        return self._films().total_return

    @strawberry.field(description="Average `return` per film.")
    def average_return(self) -> float:
        return self._films().average_return

    @strawberry.field(description="The assignment's summary sentence, in Spanish.")
    def sentence(self) -> str:
        if self.role is lookups.Role.ACTOR:
            return lookups.actor_sentence(self.cat, self.row, self._films())
        return lookups.director_sentence(self.cat, self.row, self._films())

    @strawberry.field(
        description="Films in this role, by release date; each has releaseDate, return, "
        "budget, revenue and profit."
    )
    def movies(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Movie]:
        page = movie_page(self.cat, info, CONNECTION_PATHS)
        return paginate(self._films().movies, first, after, page)


@strawberry.type(description="A person as an actor: cast credits only, never directing.")
class Actor(PersonRole, Node):
    role: ClassVar[lookups.Role] = lookups.Role.ACTOR

    @strawberry.field
    def id(self) -> strawberry.ID:
        return global_id("Actor", self.tmdb_id())

    @strawberry.field(description="Cast credits with characters, by release date.")
    def credits(
        self, first: int | None = None, after: str | None = None
    ) -> Connection[CastCredit]:
        return paginate(self.cat.person_cast.of(self.row), first, after,
                        lambda e: cast_page(self.cat, e))

    @strawberry.field(description="Other actors with the same name; non-empty = ambiguous.")
    def namesakes(self) -> list[Actor]:
        rows = lookups.namesakes(self.cat, lookups.Role.ACTOR, self.row)
        return Actor.page(self.cat, rows)


@strawberry.type(description="A person as a director: films credited with job Director.")
class Director(PersonRole, Node):
    role: ClassVar[lookups.Role] = lookups.Role.DIRECTOR

    @strawberry.field
    def id(self) -> strawberry.ID:
        return global_id("Director", self.tmdb_id())

    @strawberry.field(description="Other directors with the same name; non-empty = ambiguous.")
    def namesakes(self) -> list[Director]:
        rows = lookups.namesakes(self.cat, lookups.Role.DIRECTOR, self.row)
        return Director.page(self.cat, rows)


# --- recommendations -----------------------------------------------------------------------

ReasonKind = strawberry.enum(lookups.ReasonKind, description="What two movies share.")


@strawberry.type(description="Something a recommended movie shares with the query movie.")
class Reason:
    kind: ReasonKind  # type: ignore[valid-type]
    names: list[str]


@strawberry.type
class Recommendation:
    movie: Movie
    score: float = strawberry.field(description=(
        "Similarity, 0 to 1: the content cosine blended with a vote-based quality prior and, "
        "where the build has viewers' ratings, the co-liked signal."))
    reasons: list[Reason]


def recommendations(cat: Catalog, recs: list[lookups.Recommendation]) -> list[Recommendation]:
    return [
        Recommendation(
            movie=Movie(cat, rec.row),
            score=round(rec.score, 6),
            reasons=[Reason(kind=r.kind, names=r.names) for r in rec.reasons],
        )
        for rec in recs
    ]


# --- movie ---------------------------------------------------------------------------------

# The movie columns each GraphQL field reads (gathered for a whole page at once).
MOVIE_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id",), "tmdbId": ("id",), "title": ("title",), "overview": ("overview",),
    "tagline": ("tagline",), "status": ("status",), "originalLanguage": ("original_language",),
    "originalTitle": ("original_title",), "posterPath": ("poster_path",),
    "posterUrl": ("poster_path",),
    "releaseDate": ("release_date",), "releaseYear": ("release_year",), "budget": ("budget",),
    "revenue": ("revenue",), "return": ("return",), "profit": ("revenue", "budget"),
    "popularity": ("popularity",), "runtime": ("runtime",), "voteAverage": ("vote_average",),
    "voteCount": ("vote_count",), "collection": ("collection",),
}
# The Movie attribute holding each column: the plain fields below, and ``collection_row``.
_MOVIE_ATTRIBUTES = {"id": "tmdb_id", "return": "return_", "collection": "collection_row"}


def _movie_attribute(column: str) -> str:
    return _MOVIE_ATTRIBUTES.get(column, column)


_MOVIE_COLUMN_OF = {_movie_attribute(c): c for cs in MOVIE_COLUMNS.values() for c in cs}


def movie_page(cat: Catalog, info: Info, paths: tuple[tuple[str, ...], ...] = ((),)) -> Any:
    """A function making the Movie nodes of a page, with the columns ``info`` asks for
    gathered once for all of the page's rows."""
    columns = sorted({c for name in requested(info, paths) for c in MOVIE_COLUMNS.get(name, ())})

    def make(rows: np.ndarray | list[int]) -> list[Movie]:
        return Movie.page(cat, rows, columns)

    return make


@strawberry.type
class Movie(Node):
    """A movie row. The fields that are one column each are plain fields (resolved without
    a resolver call, the cheap path through the executor): a page sets the ones its query
    selects in one gather per column (``movie_page``), and any other is read from the
    catalog the first time it is asked for (``__getattr__``)."""

    cat: strawberry.Private[Catalog]
    row: strawberry.Private[int]
    tmdb_id: int = strawberry.field(description="TMDB movie id.")
    title: str
    original_title: str | None = strawberry.field(description="Title in the original language.")
    overview: str | None
    tagline: str | None
    status: str | None
    original_language: str | None = strawberry.field(
        description="ISO 639-1 code of the original language.")
    release_date: dt.date
    release_year: int
    budget: float = strawberry.field(description="Budget in US dollars; 0 when unknown.")
    revenue: float = strawberry.field(description="Revenue in US dollars; 0 when unknown.")
    return_: float = strawberry.field(name="return",
                                      description="revenue / budget; 0 when not computable.")
    poster_path: str | None = strawberry.field(description="TMDB poster image path.")
    popularity: float | None = strawberry.field(description="TMDB popularity score.")
    runtime: float | None = strawberry.field(description="Runtime in minutes.")
    vote_average: float | None
    vote_count: int

    def __init__(self, cat: Catalog, row: int) -> None:
        self.cat, self.row = cat, row

    @classmethod
    def page(cls, cat: Catalog, rows: Sequence[int] | np.ndarray, columns: Sequence[str]
             ) -> list[Movie]:
        """Movies of ``rows`` with ``columns`` read for all of them, one gather per column."""
        rows = np.asarray(rows, dtype=np.int64)
        movies = [cls(cat, r) for r in rows.tolist()]
        for column in columns:
            attribute = _movie_attribute(column)
            for movie, value in zip(movies, cat.movies.take(rows, column), strict=True):
                movie.__dict__[attribute] = value
        return movies

    def __getattr__(self, name: str) -> Any:
        # Only reached for an attribute not set yet: a column field no page gathered.
        column = _MOVIE_COLUMN_OF.get(name)
        if column is None:
            raise AttributeError(name)
        value = self.cat.movies.value(self.row, column)
        self.__dict__[name] = value
        return value

    @strawberry.field
    def id(self) -> strawberry.ID:
        return global_id("Movie", self.tmdb_id)

    @strawberry.field(description="revenue - budget.")
    def profit(self) -> float:
        return float(self.revenue - self.budget)

    @strawberry.field(description="URL of the poster at a TMDB size; null when there is none.")
    def poster_url(self, info: Info, size: PosterSize = PosterSize.W342) -> str | None:
        return image_url(info, self.poster_path, size)

    @strawberry.field(description="True when the data has at least one cast or crew credit.")
    def has_credits(self) -> bool:
        return bool(self.cat.has_credits[self.row])

    @strawberry.field
    def genres(self) -> list[Genre]:
        return _entities(Genre, self.cat, self.cat.movie_entities["genres"].of(self.row))

    @strawberry.field
    def collection(self) -> Collection | None:
        row = self.collection_row
        return None if row is None else Collection(cat=self.cat, row=int(row))

    @strawberry.field(description="Production companies, in credit order.")
    def companies(self) -> list[Company]:
        return _entities(Company, self.cat, self.cat.movie_entities["companies"].of(self.row))

    @strawberry.field(description="Production countries.")
    def countries(self) -> list[Country]:
        return _entities(Country, self.cat, self.cat.movie_entities["countries"].of(self.row))

    @strawberry.field(description="Spoken languages.")
    def languages(self) -> list[Language]:
        return _entities(Language, self.cat, self.cat.movie_entities["languages"].of(self.row))

    @strawberry.field
    def keywords(self) -> list[Keyword]:
        return _entities(Keyword, self.cat, self.cat.movie_entities["keywords"].of(self.row))

    @strawberry.field(description="Cast in billing order.")
    def cast(self, first: int | None = None, after: str | None = None) -> Connection[CastCredit]:
        return paginate(self.cat.movie_cast.of(self.row), first, after,
                        lambda e: cast_page(self.cat, e))

    @strawberry.field(description="Crew, optionally only one job or department (exact, any case).")
    def crew(
        self,
        first: int | None = None,
        after: str | None = None,
        job: str | None = None,
        department: str | None = None,
    ) -> Connection[CrewCredit]:
        entries = lookups.crew_of(self.cat, self.row, job=job, department=department)
        return paginate(entries, first, after, lambda e: crew_page(self.cat, e))

    @strawberry.field
    def directors(self) -> list[Director]:
        return Director.page(self.cat, self.cat.movie_directors.of(self.row))

    @strawberry.field(description="Other movies with exactly the same title, most voted first.")
    def namesakes(self, info: Info) -> list[Movie]:
        rows = lookups.movie_namesakes(self.cat, self.row)
        return movie_page(self.cat, info)(rows)

    @strawberry.field(description="The n most similar movies (content-based recommender).")
    def similar(self, n: int = 5) -> list[Recommendation]:
        return recommendations(self.cat, lookups.recommend(self.cat, self.row, n))


# --- node lookup ---------------------------------------------------------------------------

_ENTITY_TYPES: dict[str, tuple[str, type, type]] = {
    "Genre": ("genres", Genre, int),
    "Company": ("companies", Company, int),
    "Country": ("countries", Country, str),
    "Language": ("languages", Language, str),
    "Keyword": ("keywords", Keyword, int),
    "Collection": ("collections", Collection, int),
}


def resolve_node(cat: Catalog, value: str) -> Node:
    kind, key = parse_global_id(value)
    try:
        if kind == "Movie":
            return Movie(cat, lookups.movie_by_id(cat, int(key)))
        if kind in ("Person", "Actor", "Director"):
            row = cat.person_row(int(key))
            if row is not None:
                views: dict[str, type[Person | Actor | Director]] = {
                    "Person": Person, "Actor": Actor, "Director": Director}
                node = views[kind].at(cat, row)
                if kind == "Person" or (node.as_actor() if kind == "Actor" else node.as_director()):
                    return node
        elif kind in _ENTITY_TYPES:
            entity, cls, convert = _ENTITY_TYPES[kind]
            row = cat.entity_row(entity, convert(key))
            if row is not None:
                return cls(cat=cat, row=row)
    except ValueError:
        raise BadInput("id is not an id this API issued", argument="id") from None
    raise NotFound(f"no {kind} with that id")
