"""The root Query: the assignment's six lookups, recommendations, search and browse."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry
from strawberry.types import Info

from data import lookups
from data.catalog import Catalog
from data.errors import BadInput
from data.search import Field
from schema.pagination import MAX_PAGE, Connection, check_first, paginate
from schema.selection import CONNECTION_PATHS
from schema.types import (
    Actor,
    Director,
    Genre,
    Movie,
    Node,
    Person,
    Recommendation,
    movie_page,
    recommendations,
    resolve_node,
)


def catalog(info: Info) -> Catalog:
    return info.context["catalog"]


@strawberry.type(description="How many movies were released in a month or on a weekday.")
class ReleaseCount:
    number: int = strawberry.field(description="Month 1-12, or ISO weekday 1 (Monday)-7.")
    name: str = strawberry.field(description="Spanish name of the month or weekday.")
    count: int
    sentence: str = strawberry.field(description="The assignment's sentence, in Spanish.")


@strawberry.type(description="A movie's popularity score (assignment function 3).")
class TitleScore:
    movie: Movie
    title: str
    release_year: int
    popularity: float | None
    sentence: str
    ambiguous: bool = strawberry.field(description="True when other movies share the title.")
    candidates: list[Movie] = strawberry.field(
        description="Every movie with that title, the chosen one first."
    )


@strawberry.type(description="A movie's votes, reported only from 2000 votes up (function 4).")
class TitleVotes:
    movie: Movie
    title: str
    release_year: int
    qualifies: bool = strawberry.field(description="vote_count >= 2000.")
    vote_count: int | None = strawberry.field(description="Null unless it qualifies.")
    vote_average: float | None = strawberry.field(description="Null unless it qualifies.")
    message: str
    ambiguous: bool
    candidates: list[Movie]


# strawberry.enum registers the class in place; fields are annotated with the class itself.
strawberry.enum(Field, name="MatchField", description="Which name matched.")


@strawberry.type
class MovieHit:
    movie: Movie
    score: float = strawberry.field(
        description="Match quality, 0-100 with one decimal; 100 only for the exact text."
    )
    matched: Field = strawberry.field(description="TITLE or ORIGINAL_TITLE.")


@strawberry.type
class PersonHit:
    person: Person
    score: float = strawberry.field(
        description="Match quality, 0-100 with one decimal; 100 only for the exact name."
    )
    matched: Field = strawberry.field(description="NAME.")


@strawberry.enum(description="Which side of a person to search.")
class Role(Enum):
    ACTOR = "actor"
    DIRECTOR = "director"


strawberry.enum(lookups.SortKey, name="MovieSort")


@strawberry.input(description="All given conditions must hold.")
class MovieFilter:
    year_from: int | None = None
    year_to: int | None = None
    genre: str | None = strawberry.field(default=None, description="Genre name, any case.")
    language: str | None = strawberry.field(
        default=None, description="Original language, ISO 639-1 (e.g. en)."
    )
    min_votes: int | None = None
    has_credits: bool | None = strawberry.field(
        default=None, description="Only movies with (true) or without (false) any cast or "
        "crew credit in the loaded data."
    )


@strawberry.type(description="What the server is serving.")
class BuildInfo:
    contract_version: int
    built_at: dt.datetime
    movies: int
    people: int
    recommender: bool


def _title_result(info: Info, title: str, year: int | None) -> tuple[Catalog, lookups.TitleMatch]:
    cat = catalog(info)
    return cat, lookups.resolve_title(cat, title, year)


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global id.")
    def node(self, info: Info, id: strawberry.ID) -> Node:
        return resolve_node(catalog(info), id)

    @strawberry.field(description="A movie by TMDB id, or by title (and year) like titleScore.")
    def movie(
        self, info: Info, id: int | None = None, title: str | None = None, year: int | None = None
    ) -> Movie:
        cat = catalog(info)
        if (id is None) == (title is None):
            raise BadInput("give exactly one of id or title", argument="id")
        if id is not None:
            return Movie(cat, lookups.movie_by_id(cat, id))
        assert title is not None
        return Movie(cat, lookups.resolve_title(cat, title, year).row)

    @strawberry.field(
        description="1. cantidad_filmaciones_mes: movies released in a month (Spanish name "
        "with or without accents, English name, or 1-12)."
    )
    def releases_in_month(self, info: Info, month: str) -> ReleaseCount:
        r = lookups.releases_in_month(catalog(info), month)
        return ReleaseCount(number=r.number, name=r.name_es, count=r.count, sentence=r.sentence)

    @strawberry.field(
        description="2. cantidad_filmaciones_dia: movies released on a weekday (lunes ... "
        "domingo with or without accents, English name, or ISO 1-7)."
    )
    def releases_on_weekday(self, info: Info, day: str) -> ReleaseCount:
        r = lookups.releases_on_weekday(catalog(info), day)
        return ReleaseCount(number=r.number, name=r.name_es, count=r.count, sentence=r.sentence)

    @strawberry.field(description="3. score_titulo: release year and popularity of a title.")
    def title_score(self, info: Info, title: str, year: int | None = None) -> TitleScore:
        cat, match = _title_result(info, title, year)
        row = match.row
        movie = cat.movies.get([row], ("title", "release_year", "popularity"))[0]
        return TitleScore(
            movie=Movie(cat, row),
            title=movie["title"],
            release_year=movie["release_year"],
            popularity=movie["popularity"],
            sentence=lookups.score_sentence(cat, row),
            ambiguous=len(match.candidates) > 1,
            candidates=[Movie(cat, r) for r in match.candidates],
        )

    @strawberry.field(
        description="4. votos_titulo: vote count and average, only when the movie has at "
        "least 2000 votes."
    )
    def title_votes(self, info: Info, title: str, year: int | None = None) -> TitleVotes:
        cat, match = _title_result(info, title, year)
        row = match.row
        qualifies, message = lookups.votes_sentence(cat, row)
        movie = cat.movies.get([row], ("title", "release_year", "vote_count", "vote_average"))[0]
        return TitleVotes(
            movie=Movie(cat, row),
            title=movie["title"],
            release_year=movie["release_year"],
            qualifies=qualifies,
            vote_count=movie["vote_count"] if qualifies else None,
            vote_average=movie["vote_average"] if qualifies else None,
            message=message,
            ambiguous=len(match.candidates) > 1,
            candidates=[Movie(cat, r) for r in match.candidates],
        )

    @strawberry.field(
        description="5. get_actor: an actor by name or TMDB person id, with film count and "
        "returns (cast credits only). Namesakes are listed on the result."
    )
    def actor(self, info: Info, name: str | None = None, id: int | None = None) -> Actor:
        cat = catalog(info)
        match = lookups.resolve_person(cat, lookups.Role.ACTOR, name, id)
        return Actor.at(cat, match.row)

    @strawberry.field(
        description="6. get_director: a director by name or TMDB person id, with total "
        "return and each film's date, return, budget, revenue and profit."
    )
    def director(self, info: Info, name: str | None = None, id: int | None = None) -> Director:
        cat = catalog(info)
        match = lookups.resolve_person(cat, lookups.Role.DIRECTOR, name, id)
        return Director.at(cat, match.row)

    @strawberry.field(
        description="7. recomendacion: the n movies most similar to a title (1-50)."
    )
    def recommendations(
        self, info: Info, title: str, n: int = 5, year: int | None = None
    ) -> list[Recommendation]:
        cat, match = _title_result(info, title, year)
        lookups.check_n(n)
        return recommendations(cat, lookups.recommend(cat, match.row, n))

    @strawberry.field(description="Movies matching free text, e.g. 'space opera with rebels'.")
    def movies_like(self, info: Info, text: str, n: int = 5) -> list[Recommendation]:
        cat = catalog(info)
        return recommendations(cat, lookups.movies_like(cat, text, n))

    @strawberry.field(
        description="Typo-tolerant, accent-insensitive search over titles and original "
        "titles, best first; empty when nothing is close."
    )
    def search_movies(self, info: Info, query: str, first: int = 10) -> list[MovieHit]:
        cat = catalog(info)
        hits = lookups.search_movies(cat, query, check_first(first))
        return [MovieHit(movie=Movie(cat, h.target), score=h.score, matched=h.field)
                for h in hits]

    @strawberry.field(
        description="Typo-tolerant search over actors' and directors' names, best first; "
        "empty when nothing is close."
    )
    def search_people(
        self, info: Info, query: str, role: Role | None = None, first: int = 10
    ) -> list[PersonHit]:
        cat = catalog(info)
        which = None if role is None else lookups.Role(role.value)
        hits = lookups.search_people(cat, query, which, check_first(first))
        return [PersonHit(person=Person.at(cat, h.target), score=h.score, matched=h.field)
                for h in hits]

    @strawberry.field(description=f"Browse movies: filter and sort; pages of up to {MAX_PAGE}.")
    def movies(
        self,
        info: Info,
        filter: MovieFilter | None = None,
        sort: lookups.SortKey = lookups.SortKey.POPULARITY,
        descending: bool = True,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Movie]:
        cat = catalog(info)
        where = lookups.MovieFilter(**vars(filter)) if filter else lookups.MovieFilter()
        rows = lookups.filter_movies(cat, where, sort, descending)
        return paginate(rows, first, after, movie_page(cat, info, CONNECTION_PATHS))

    @strawberry.field(description="All genres.")
    def genres(self, info: Info) -> list[Genre]:
        cat = catalog(info)
        return [Genre(cat=cat, row=r) for r in range(len(cat.entities["genres"]))]

    @strawberry.field(description="What the server is serving.")
    def build_info(self, info: Info) -> BuildInfo:
        cat = catalog(info)
        return BuildInfo(
            contract_version=cat.manifest["contract_version"],
            built_at=dt.datetime.fromisoformat(cat.manifest["built_at"]),
            movies=cat.n_movies,
            people=cat.n_people,
            recommender=cat.index is not None,
        )
