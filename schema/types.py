"""The graph's object types. Thin: each holds a catalog row and reads fields from it; every
rule lives in ``data/``."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any, ClassVar

import strawberry

from data import lookups
from data.catalog import Catalog
from data.errors import BadInput, NotFound
from data.text import fold
from schema.pagination import Connection, paginate

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
        return self.cat.entities[self.entity][column][self.row]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return global_id(type(self).__name__, self._value(self.key))

    @strawberry.field
    def name(self) -> str:
        return self._value("name")

    @strawberry.field(description="Its movies, most popular first.")
    def movies(self, first: int | None = None, after: str | None = None) -> Connection[Movie]:
        rows = self.cat.movie_rows_of_entity(self.entity, self.row)
        return paginate(rows, first, after, lambda r: Movie(cat=self.cat, row=r))


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

    @strawberry.field
    def id(self) -> strawberry.ID:
        return global_id("Collection", self.tmdb_id())

    @strawberry.field(description="TMDB collection id.")
    def tmdb_id(self) -> int:
        return self.cat.entities["collections"]["id"][self.row]

    @strawberry.field
    def name(self) -> str:
        return self.cat.entities["collections"]["name"][self.row]

    @strawberry.field(description="The collection's movies in release order.")
    def movies(self) -> list[Movie]:
        return [Movie(cat=self.cat, row=int(r)) for r in self.cat.collection_movies(self.row)]


# --- people --------------------------------------------------------------------------------


@strawberry.type(description="A cast member's credit in one movie.")
class CastCredit:
    cat: strawberry.Private[Catalog]
    entry: strawberry.Private[int]

    @strawberry.field
    def actor(self) -> Actor:
        return Actor(cat=self.cat, row=int(self.cat.cast_person[self.entry]))

    @strawberry.field
    def movie(self) -> Movie:
        return Movie(cat=self.cat, row=int(self.cat.cast_movie[self.entry]))

    @strawberry.field
    def character(self) -> str | None:
        return self.cat.cast_character[self.entry]

    @strawberry.field(description="Billing order, 0 first.")
    def order(self) -> int:
        return int(self.cat.cast_order[self.entry])


@strawberry.type(description="A crew member's credit in one movie.")
class CrewCredit:
    cat: strawberry.Private[Catalog]
    entry: strawberry.Private[int]

    @strawberry.field
    def person(self) -> Person:
        return Person(cat=self.cat, row=int(self.cat.crew_person[self.entry]))

    @strawberry.field
    def movie(self) -> Movie:
        return Movie(cat=self.cat, row=int(self.cat.crew_movie[self.entry]))

    @strawberry.field
    def department(self) -> str:
        return self.cat.crew_department[self.entry]

    @strawberry.field
    def job(self) -> str:
        return self.cat.crew_job[self.entry]


def _cast_credits(cat: Catalog, entries, first, after) -> Connection[CastCredit]:
    return paginate(entries, first, after, lambda e: CastCredit(cat=cat, entry=e))


@strawberry.interface(description="What every view of a person (Person, Actor, Director) has.")
class PersonInfo:
    cat: strawberry.Private[Catalog]
    row: strawberry.Private[int]

    @strawberry.field(description="TMDB person id.")
    def tmdb_id(self) -> int:
        return int(self.cat.p["id"][self.row])

    @strawberry.field
    def name(self) -> str:
        return self.cat.p["name"][self.row]

    @strawberry.field(description="TMDB gender code: 0 unknown, 1 female, 2 male.")
    def gender(self) -> int | None:
        return self.cat.p["gender"][self.row]

    @strawberry.field(description="TMDB profile image path.")
    def profile_path(self) -> str | None:
        return self.cat.p["profile_path"][self.row]

    @strawberry.field(description="This person's acting side, if they have cast credits.")
    def as_actor(self) -> Actor | None:
        return Actor(cat=self.cat, row=self.row) if self.cat.cast_counts[self.row] else None

    @strawberry.field(description="This person's directing side, if they directed.")
    def as_director(self) -> Director | None:
        return Director(cat=self.cat, row=self.row) if self.cat.directed_counts[self.row] else None

    @strawberry.field(description="This person in every role, with all credits.")
    def as_person(self) -> Person:
        return Person(cat=self.cat, row=self.row)


@strawberry.type(description="Anyone credited in the cast or crew.")
class Person(PersonInfo, Node):

    @strawberry.field
    def id(self) -> strawberry.ID:
        return global_id("Person", self.tmdb_id())

    @strawberry.field(description="Cast credits, by release date.")
    def cast_credits(
        self, first: int | None = None, after: str | None = None
    ) -> Connection[CastCredit]:
        return _cast_credits(self.cat, self.cat.cast_by_person.of(self.row), first, after)

    @strawberry.field(description="Crew credits, by release date.")
    def crew_credits(
        self, first: int | None = None, after: str | None = None
    ) -> Connection[CrewCredit]:
        entries = self.cat.crew_by_person.of(self.row)
        return paginate(entries, first, after, lambda e: CrewCredit(cat=self.cat, entry=e))


@strawberry.type(description="A person as an actor: cast credits only, never directing.")
class Actor(PersonInfo, Node):

    @strawberry.field
    def id(self) -> strawberry.ID:
        return global_id("Actor", self.tmdb_id())

    def _films(self) -> lookups.Filmography:
        return lookups.actor_films(self.cat, self.row)

    @strawberry.field(description="Number of distinct films acted in.")
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
        return lookups.actor_sentence(self.cat, self.row, self._films())

    @strawberry.field(description="Films acted in, by release date.")
    def movies(self, first: int | None = None, after: str | None = None) -> Connection[Movie]:
        rows = self._films().movies
        return paginate(rows, first, after, lambda r: Movie(cat=self.cat, row=r))

    @strawberry.field(description="Cast credits with characters, by release date.")
    def credits(
        self, first: int | None = None, after: str | None = None
    ) -> Connection[CastCredit]:
        return _cast_credits(self.cat, self.cat.cast_by_person.of(self.row), first, after)

    @strawberry.field(description="Other actors with the same name; non-empty = ambiguous.")
    def namesakes(self) -> list[Actor]:
        rows = self.cat.actor_names.get(fold(self.cat.p["name"][self.row]), [])
        return [Actor(cat=self.cat, row=r) for r in rows if r != self.row]


@strawberry.type(description="A person as a director: films credited with job Director.")
class Director(PersonInfo, Node):

    @strawberry.field
    def id(self) -> strawberry.ID:
        return global_id("Director", self.tmdb_id())

    def _films(self) -> lookups.Filmography:
        return lookups.director_films(self.cat, self.row)

    @strawberry.field(description="Number of films directed.")
    def film_count(self) -> int:
        return int(self._films().movies.size)

    @strawberry.field(description="Sum of `return` over the films directed.")
    def total_return(self) -> float:
        return self._films().total_return

    @strawberry.field(description="Average `return` per film directed.")
    def average_return(self) -> float:
        return self._films().average_return

    @strawberry.field(description="A summary sentence, in Spanish.")
    def sentence(self) -> str:
        return lookups.director_sentence(self.cat, self.row, self._films())

    @strawberry.field(
        description="Films directed, by release date; each has releaseDate, return, budget, "
        "revenue and profit."
    )
    def movies(self, first: int | None = None, after: str | None = None) -> Connection[Movie]:
        rows = self._films().movies
        return paginate(rows, first, after, lambda r: Movie(cat=self.cat, row=r))

    @strawberry.field(description="Other directors with the same name; non-empty = ambiguous.")
    def namesakes(self) -> list[Director]:
        rows = self.cat.director_names.get(fold(self.cat.p["name"][self.row]), [])
        return [Director(cat=self.cat, row=r) for r in rows if r != self.row]


# --- recommendations -----------------------------------------------------------------------

ReasonKind = strawberry.enum(lookups.ReasonKind, description="What two movies share.")


@strawberry.type(description="Something a recommended movie shares with the query movie.")
class Reason:
    kind: ReasonKind
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
            movie=Movie(cat=cat, row=rec.row),
            score=round(rec.score, 6),
            reasons=[Reason(kind=r.kind, names=r.names) for r in rec.reasons],
        )
        for rec in recs
    ]


# --- movie ---------------------------------------------------------------------------------


@strawberry.type
class Movie(Node):
    cat: strawberry.Private[Catalog]
    row: strawberry.Private[int]

    def _get(self, column: str):
        return self.cat.m[column][self.row]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return global_id("Movie", self._get("id"))

    @strawberry.field(description="TMDB movie id.")
    def tmdb_id(self) -> int:
        return self._get("id")

    @strawberry.field
    def title(self) -> str:
        return self._get("title")

    @strawberry.field
    def overview(self) -> str | None:
        return self._get("overview")

    @strawberry.field
    def tagline(self) -> str | None:
        return self._get("tagline")

    @strawberry.field
    def status(self) -> str | None:
        return self._get("status")

    @strawberry.field(description="ISO 639-1 code of the original language.")
    def original_language(self) -> str | None:
        return self._get("original_language")

    @strawberry.field
    def release_date(self) -> dt.date:
        return self._get("release_date")

    @strawberry.field
    def release_year(self) -> int:
        return self._get("release_year")

    @strawberry.field(description="Budget in US dollars; 0 when unknown.")
    def budget(self) -> float:
        return self._get("budget")

    @strawberry.field(description="Revenue in US dollars; 0 when unknown.")
    def revenue(self) -> float:
        return self._get("revenue")

    @strawberry.field(name="return", description="revenue / budget; 0 when not computable.")
    def return_(self) -> float:
        return self._get("return")

    @strawberry.field(description="revenue - budget.")
    def profit(self) -> float:
        return self._get("revenue") - self._get("budget")

    @strawberry.field(description="TMDB popularity score.")
    def popularity(self) -> float | None:
        return self._get("popularity")

    @strawberry.field(description="Runtime in minutes.")
    def runtime(self) -> float | None:
        return self._get("runtime")

    @strawberry.field
    def vote_average(self) -> float | None:
        return self._get("vote_average")

    @strawberry.field
    def vote_count(self) -> int:
        return self._get("vote_count")

    @strawberry.field
    def genres(self) -> list[Genre]:
        rows = self.cat.entity_rows_of_movie("genres", self.row)
        return [Genre(cat=self.cat, row=int(r)) for r in rows]

    @strawberry.field
    def collection(self) -> Collection | None:
        collection_id = self._get("collection_id")
        if collection_id is None:
            return None
        return Collection(cat=self.cat, row=self.cat.entity_row["collections"][collection_id])

    @strawberry.field(description="Production companies, in credit order.")
    def companies(self) -> list[Company]:
        rows = self.cat.entity_rows_of_movie("companies", self.row)
        return [Company(cat=self.cat, row=int(r)) for r in rows]

    @strawberry.field(description="Production countries.")
    def countries(self) -> list[Country]:
        rows = self.cat.entity_rows_of_movie("countries", self.row)
        return [Country(cat=self.cat, row=int(r)) for r in rows]

    @strawberry.field(description="Spoken languages.")
    def languages(self) -> list[Language]:
        rows = self.cat.entity_rows_of_movie("languages", self.row)
        return [Language(cat=self.cat, row=int(r)) for r in rows]

    @strawberry.field
    def keywords(self) -> list[Keyword]:
        rows = self.cat.entity_rows_of_movie("keywords", self.row)
        return [Keyword(cat=self.cat, row=int(r)) for r in rows]

    @strawberry.field(description="Cast in billing order.")
    def cast(self, first: int | None = None, after: str | None = None) -> Connection[CastCredit]:
        return _cast_credits(self.cat, self.cat.cast_by_movie.of(self.row), first, after)

    @strawberry.field(description="Crew, optionally only one job or department (exact, any case).")
    def crew(
        self,
        first: int | None = None,
        after: str | None = None,
        job: str | None = None,
        department: str | None = None,
    ) -> Connection[CrewCredit]:
        entries = self.cat.crew_by_movie.of(self.row)
        if job is not None:
            want = job.lower()
            entries = [e for e in entries if self.cat.crew_job[e].lower() == want]
        if department is not None:
            want = department.lower()
            entries = [e for e in entries if self.cat.crew_department[e].lower() == want]
        return paginate(entries, first, after, lambda e: CrewCredit(cat=self.cat, entry=e))

    @strawberry.field
    def directors(self) -> list[Director]:
        entries = self.cat.directors_of.of(self.row)
        people = dict.fromkeys(int(self.cat.directed_person[e]) for e in entries)
        return [Director(cat=self.cat, row=p) for p in people]

    @strawberry.field(description="Other movies with exactly the same title, most voted first.")
    def namesakes(self) -> list[Movie]:
        rows = self.cat.title_rows[self._get("title_key")]
        return [Movie(cat=self.cat, row=r) for r in rows if r != self.row]

    @strawberry.field(description="The n most similar movies (content-based recommender).")
    def similar(self, n: int = 5) -> list[Recommendation]:
        return recommendations(self.cat, lookups.recommend(self.cat, self.row, n))


# --- node lookup ---------------------------------------------------------------------------

_ENTITY_TYPES = {
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
            return Movie(cat=cat, row=lookups.movie_by_id(cat, int(key)))
        if kind in ("Person", "Actor", "Director"):
            row = cat.person_row.get(int(key))
            if row is not None:
                person = {"Person": Person, "Actor": Actor, "Director": Director}[kind]
                node = person(cat=cat, row=row)
                if kind == "Person" or (node.as_actor() if kind == "Actor" else node.as_director()):
                    return node
        elif kind in _ENTITY_TYPES:
            entity, cls, convert = _ENTITY_TYPES[kind]
            row = cat.entity_row[entity].get(convert(key))
            if row is not None:
                return cls(cat=cat, row=row)
    except ValueError:
        raise BadInput("id is not an id this API issued", argument="id") from None
    raise NotFound(f"no {kind} with that id")

