"""The assignment's lookups and the catalog's search/filter, as plain functions over a Catalog.

Resolvers in ``schema/`` call these and only shape the answers; every rule (how a month is
named, which of several same-titled movies is meant, what counts as an actor's film) lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from data import deadline, rerank
from data.catalog import Catalog
from data.errors import BadInput, NotFound
from data.recommender import title_terms
from data.search import Hit
from data.text import fold

MAX_TEXT = 200  # longest title, name or search text accepted
MIN_VOTES_FOR_RATING = 2000  # the assignment's rule: "at least 2000 votes"
SUGGESTIONS = 5  # "did you mean" entries of a NOT_FOUND

MONTHS_ES = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
    "octubre", "noviembre", "diciembre",
)
MONTHS_EN = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)
WEEKDAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
WEEKDAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_MONTH_NAMES = {fold(name): i for names in (MONTHS_ES, MONTHS_EN) for i, name in
                enumerate(names, start=1)} | {"setiembre": 9}
_WEEKDAY_NAMES = {fold(name): i for names in (WEEKDAYS_ES, WEEKDAYS_EN) for i, name in
                  enumerate(names, start=1)}


def _text(value: str, what: str) -> str:
    """Fold a user-supplied title/name, rejecting empty or oversized text."""
    if len(value) > MAX_TEXT:
        raise BadInput(f"{what} is longer than {MAX_TEXT} characters", argument=what)
    key = fold(value)
    # Measured again after folding: compatibility forms expand (U+FDFA is 18 letters).
    if len(key) > MAX_TEXT:
        raise BadInput(f"{what} is longer than {MAX_TEXT} characters once normalised",
                       argument=what)
    if not key:
        raise BadInput(f"{what} must not be empty", argument=what)
    return key


# --- 1 and 2: releases by month and by weekday ----------------------------------------------


@dataclass(frozen=True)
class Releases:
    number: int  # month 1-12 or ISO weekday 1-7
    name_es: str
    count: int
    sentence: str


def _parse_named(value: str, names: dict[str, int], last: int, what: str, hint: str) -> int:
    """A number 1..``last`` given by name (any case, accents optional) or digits."""
    key = fold(value)
    # Digits are compared as text first: int() of thousands of digits is refused by Python.
    digits = key.lstrip("0") if key.isdigit() else ""
    if digits and len(digits) <= 2 and 1 <= int(digits) <= last:
        return int(digits)
    if key in names:
        return names[key]
    raise BadInput(
        f"unknown {what} {value[:40]!r}: use {hint}",
        argument="month" if what == "month" else "day",
        suggestions=_suggest(key[:MAX_TEXT], list(names)),
    )


def parse_month(value: str) -> int:
    return _parse_named(value, _MONTH_NAMES, 12, "month",
                        "a Spanish or English month name or 1-12")


def parse_weekday(value: str) -> int:
    return _parse_named(value, _WEEKDAY_NAMES, 7, "weekday",
                        "a Spanish or English day name or ISO 1-7")


def releases_in_month(catalog: Catalog, month: str) -> Releases:
    number = parse_month(month)
    count = int(catalog.month_counts[number])
    name = MONTHS_ES[number - 1]
    sentence = f"{count} cantidad de películas fueron estrenadas en el mes de {name}"
    return Releases(number, name, count, sentence)


def releases_on_weekday(catalog: Catalog, day: str) -> Releases:
    number = parse_weekday(day)
    count = int(catalog.weekday_counts[number])
    name = WEEKDAYS_ES[number - 1]
    sentence = f"{count} cantidad de películas fueron estrenadas en los días {name}"
    return Releases(number, name, count, sentence)


# --- titles: 3 and 4, and every title-based lookup -------------------------------------------


@dataclass(frozen=True)
class TitleMatch:
    row: int
    candidates: list[int]  # every movie with that title (the chosen one first)


def _suggest(key: str, choices: list[str], limit: int = 5) -> list[str]:
    found = process.extract(key, choices, scorer=fuzz.WRatio, limit=limit, score_cutoff=50)
    return [choice for choice, _score, _ix in found]


def _movie_label(catalog: Catalog, row: int) -> str:
    movie = catalog.movies.get([row], ("title", "release_year"))[0]
    return f"{movie['title']} ({movie['release_year']})"


def resolve_title(catalog: Catalog, title: str, year: int | None = None) -> TitleMatch:
    """The movie called ``title`` (case- and accent-insensitive); of several, the one from
    ``year`` if given, else the most voted."""
    key = _text(title, "title")
    found = catalog.titles.find(key)
    if found is None:
        # The search's own ranking, so "did you mean" and searchMovies agree.
        hits = catalog.title_search.search(title, SUGGESTIONS)
        suggestions = [_movie_label(catalog, hit.target) for hit in hits]
        raise NotFound(f"no movie titled {title[:80]!r}", suggestions=suggestions)
    rows = found.tolist()
    if year is not None:
        years = catalog.movies.numbers("release_year")
        dated = [r for r in rows if years[r] == year]
        if not dated:
            raise NotFound(
                f"no movie titled {title[:80]!r} from {year}",
                suggestions=[_movie_label(catalog, r) for r in rows[:5]],
            )
        rows = dated + [r for r in rows if r not in dated]
    return TitleMatch(row=rows[0], candidates=list(rows))


def movie_by_id(catalog: Catalog, movie_id: int) -> int:
    row = catalog.movie_row(movie_id)
    if row is None:
        raise NotFound(f"no movie with id {movie_id}")
    return row


def score_sentence(catalog: Catalog, row: int) -> str:
    m = catalog.movies.get([row], ("title", "release_year", "popularity"))[0]
    return (
        f"La película {m['title']} fue estrenada en el año {m['release_year']} "
        f"con un score/popularidad de {m['popularity'] or 0:.2f}"
    )


def votes_sentence(catalog: Catalog, row: int) -> tuple[bool, str]:
    m = catalog.movies.get([row], ("title", "release_year", "vote_count", "vote_average"))[0]
    title, year, votes = m["title"], m["release_year"], m["vote_count"]
    if votes >= MIN_VOTES_FOR_RATING:
        return True, (
            f"La película {title} fue estrenada en el año {year}. La misma cuenta con un "
            f"total de {votes} valoraciones, con un promedio de {m['vote_average']}"
        )
    return False, (
        f"La película {title} ({year}) no cumple la condición de tener al menos "
        f"{MIN_VOTES_FOR_RATING} valoraciones, así que no se informan sus valores"
    )


# --- people: 5 and 6 -----------------------------------------------------------------------


class Role(Enum):
    ACTOR = "actor"
    DIRECTOR = "director"


@dataclass(frozen=True)
class PersonMatch:
    row: int
    candidates: list[int]  # every person of that role with that name (the chosen one first)


def resolve_person(
    catalog: Catalog, role: Role, name: str | None = None, person_id: int | None = None
) -> PersonMatch:
    """An actor (someone with cast credits) or director (someone credited as Director), by
    TMDB person id or by name; of namesakes, the most credited is chosen."""
    if (name is None) == (person_id is None):
        raise BadInput("give exactly one of name or id", argument="name")
    counts = catalog.cast_counts if role is Role.ACTOR else catalog.directed_counts
    if person_id is not None:
        row = catalog.person_row(person_id)
        if row is None or counts[row] == 0:
            raise NotFound(f"no {role.value} with id {person_id}")
        return PersonMatch(row=row, candidates=[row])
    assert name is not None
    key = _text(name, "name")
    index = catalog.actors if role is Role.ACTOR else catalog.directors
    found = index.find(key)
    if found is None:
        hits = catalog.people_search.search(name, SUGGESTIONS, _role_mask(catalog, role))
        suggestions = [catalog.people.value(hit.target, "name") for hit in hits]
        raise NotFound(f"no {role.value} named {name[:80]!r}", suggestions=suggestions)
    rows = found.tolist()
    return PersonMatch(row=rows[0], candidates=rows)


def namesakes(catalog: Catalog, role: Role | None, person: int) -> list[int]:
    """Other people of that role (any credited person for None) with the same name."""
    key = fold(catalog.people.value(person, "name"))
    indexes = [catalog.actors, catalog.directors] if role is None else [
        catalog.actors if role is Role.ACTOR else catalog.directors]
    rows: list[int] = []
    for index in indexes:
        found = index.find(key)
        rows.extend(r for r in (found.tolist() if found is not None else []) if r not in rows)
    return [r for r in rows if r != person]


@dataclass(frozen=True)
class Filmography:
    movies: np.ndarray  # distinct movie rows, by release date
    total_return: float
    average_return: float


def _filmography(movies: np.ndarray, total: float) -> Filmography:
    # The build lists each film once (a person credited twice in one movie made one film).
    return Filmography(movies, total, total / movies.size if movies.size else 0.0)


def actor_films(catalog: Catalog, person_row: int) -> Filmography:
    """Films the person acted in (cast credits only, never directing credits)."""
    return _filmography(catalog.person_acted.of(person_row),
                        float(catalog.acted_return[person_row]))


def director_films(catalog: Catalog, person_row: int) -> Filmography:
    return _filmography(catalog.person_directed.of(person_row),
                        float(catalog.directed_return[person_row]))


def actor_sentence(catalog: Catalog, person_row: int, films: Filmography) -> str:
    name = catalog.people.value(person_row, "name")
    return (
        f"El actor {name} ha participado de {films.movies.size} "
        f"cantidad de filmaciones, el mismo ha conseguido un retorno de "
        f"{films.total_return:.2f} con un promedio de {films.average_return:.2f} por filmación"
    )


def director_sentence(catalog: Catalog, person_row: int, films: Filmography) -> str:
    name = catalog.people.value(person_row, "name")
    return (
        f"El director {name} ha dirigido {films.movies.size} "
        f"películas con un retorno total de {films.total_return:.2f}"
    )


def crew_of(catalog: Catalog, movie: int, job: str | None = None,
            department: str | None = None) -> np.ndarray:
    """A movie's crew entries in credit order, optionally of one job and/or department
    (exact, any case)."""
    entries = catalog.movie_crew.of(movie)
    for column, wanted in (("job", job), ("department", department)):
        if wanted is None:
            continue
        codes, values = catalog.crew.codes(column)
        matching = [code for code, value in enumerate(values) if value.lower() == wanted.lower()]
        entries = entries[np.isin(codes[entries], matching)]
    return entries


def movie_namesakes(catalog: Catalog, movie: int) -> list[int]:
    """Other movies with exactly the same (folded) title, most voted first."""
    same = catalog.titles.find(catalog.movies.value(movie, "title_key"))
    return [] if same is None else [r for r in same.tolist() if r != movie]


# --- search and browse ---------------------------------------------------------------------


def search_movies(catalog: Catalog, query: str, limit: int) -> list[Hit]:
    """Fuzzy, accent-insensitive search over titles and original titles: movie rows, best
    first (``data.search`` says how they are ranked); nothing when nothing is close."""
    deadline.check()
    _text(query, "query")
    return catalog.title_search.search(query, limit)


def _role_mask(catalog: Catalog, role: Role | None) -> np.ndarray | None:
    if role is None:
        return None
    return catalog.is_actor if role is Role.ACTOR else catalog.is_director


def search_people(catalog: Catalog, query: str, role: Role | None, limit: int) -> list[Hit]:
    """Fuzzy search over the names of actors and directors (or one of the two): person rows,
    best first; among near-equal names the more credited first."""
    deadline.check()
    _text(query, "query")
    return catalog.people_search.search(query, limit, _role_mask(catalog, role))


class SortKey(Enum):
    POPULARITY = "popularity"
    VOTE_AVERAGE = "vote_average"
    VOTE_COUNT = "vote_count"
    RELEASE_DATE = "release_date"
    REVENUE = "revenue"
    TITLE = "title_key"


@dataclass(frozen=True)
class MovieFilter:
    year_from: int | None = None
    year_to: int | None = None
    genre: str | None = None
    language: str | None = None
    min_votes: int | None = None
    has_credits: bool | None = None


def filter_movies(
    catalog: Catalog, where: MovieFilter, sort: SortKey, descending: bool
) -> np.ndarray:
    """Movie rows matching ``where``, ordered by ``sort`` (ties by id)."""
    deadline.check()
    order = catalog.sorted_rows(sort.value, descending)
    mask = np.ones(catalog.n_movies, dtype=bool)
    years = catalog.movies.numbers("release_year")
    if where.year_from is not None:
        mask &= years >= where.year_from
    if where.year_to is not None:
        mask &= years <= where.year_to
    if where.min_votes is not None:
        mask &= catalog.movies.numbers("vote_count") >= where.min_votes
    if where.language is not None:
        codes, values = catalog.movies.codes("language_key")
        wanted = fold(where.language)
        mask &= codes == (values.index(wanted) if wanted in values else -2)
    if where.genre is not None:
        key = fold(where.genre)
        genres = catalog.entities["genres"]
        names = [fold(genres.value(r, "name")) for r in range(len(genres))]
        if key not in names:
            raise BadInput(f"unknown genre {where.genre[:40]!r}", argument="genre",
                           suggestions=_suggest(key, names))
        in_genre = np.zeros(catalog.n_movies, dtype=bool)
        in_genre[catalog.entity_movies["genres"].of(names.index(key))] = True
        mask &= in_genre
    if where.has_credits is not None:
        mask &= catalog.has_credits == where.has_credits
    return order[mask[order]]


# --- recommendations -----------------------------------------------------------------------

MAX_RECOMMENDATIONS = 50


class ReasonKind(Enum):
    COLLECTION = "collection"
    DIRECTOR = "director"
    GENRE = "genre"
    KEYWORD = "keyword"
    CAST = "cast"
    TITLE = "title"
    CO_LIKED = "co_liked"


@dataclass(frozen=True)
class Reason:
    kind: ReasonKind
    names: list[str]


@dataclass(frozen=True)
class Recommendation:
    row: int
    score: float
    reasons: list[Reason]


def check_n(n: int) -> int:
    if not 1 <= n <= MAX_RECOMMENDATIONS:
        raise BadInput(f"n must be between 1 and {MAX_RECOMMENDATIONS}", argument="n")
    return n


def _index(catalog: Catalog):
    if catalog.index is None:
        raise NotFound("this build has no recommender index; run `movies etl`")
    return catalog.index


@dataclass(frozen=True)
class _Shareable:
    """What a movie can have in common with another, read once per movie."""

    collection: int | None
    directors: list[int]
    cast: list[int]  # in billing order, distinct
    genres: list[int]  # in credit order
    keywords: list[int]
    title_words: list[str]


def _shareable(catalog: Catalog, movie: int, stop_words: frozenset[str]) -> _Shareable:
    cast = catalog.cast.numbers("person")[catalog.movie_cast.of(movie)].tolist()
    return _Shareable(
        collection=catalog.collection_of(movie),
        directors=catalog.movie_directors.of(movie).tolist(),
        cast=list(dict.fromkeys(cast)),
        genres=catalog.movie_entities["genres"].of(movie).tolist(),
        keywords=catalog.movie_entities["keywords"].of(movie).tolist(),
        title_words=list(dict.fromkeys(
            title_terms(str(catalog.movies.value(movie, "title")), stop_words))),
    )


def _common(mine: list[Any], theirs: list[Any]) -> list[Any]:
    """``mine`` that ``theirs`` has too, in ``mine``'s order."""
    if not theirs:
        return []
    other = set(theirs)
    return [x for x in mine if x in other]


def _reasons(catalog: Catalog, mine: _Shareable, theirs: _Shareable, found: rerank.Ranked
             ) -> list[Reason]:
    """What the query and the recommended movie share, ordered by how much each adds to the
    score; equal contributions keep the order collection, directors, cast, genres, keywords,
    title words. A shared title word shows only where the title field adds to the match; a
    co-liked neighbour says by how many viewers."""
    fields, share = found.fields, found.content_share
    weighed: list[tuple[float, Reason]] = []
    if mine.collection is not None and mine.collection == theirs.collection:
        name = catalog.entities["collections"].value(mine.collection, "name")
        weighed.append((share * fields.get("collection", 0.0),
                        Reason(ReasonKind.COLLECTION, [name])))
    if directors := _common(mine.directors, theirs.directors)[:5]:
        weighed.append((share * fields.get("director", 0.0),
                        Reason(ReasonKind.DIRECTOR, catalog.people.take(directors, "name"))))
    if cast := _common(mine.cast, theirs.cast)[:10]:
        weighed.append((share * fields.get("cast", 0.0),
                        Reason(ReasonKind.CAST, catalog.people.take(cast, "name"))))
    for kind, entity in ((ReasonKind.GENRE, "genres"), (ReasonKind.KEYWORD, "keywords")):
        if common := _common(getattr(mine, entity), getattr(theirs, entity)):
            weighed.append((share * fields.get(entity, 0.0),
                            Reason(kind, catalog.entities[entity].take(common, "name"))))
    if fields.get("title", 0.0) > 0 and (words := _common(mine.title_words, theirs.title_words)):
        weighed.append((share * fields["title"], Reason(ReasonKind.TITLE, words)))
    if found.support > 0:
        viewers = "viewer" if found.support == 1 else "viewers"
        weighed.append((found.coliked, Reason(
            ReasonKind.CO_LIKED, [f"liked by {found.support} {viewers} who liked this"])))
    weighed.sort(key=lambda pair: -pair[0])  # stable
    return [reason for _weight, reason in weighed]


def recommend(catalog: Catalog, row: int, n: int) -> list[Recommendation]:
    """The ``n`` movies most similar to ``row``; never the movie itself or a duplicate row of
    it (same title and year under another id)."""
    deadline.check()
    index = _index(catalog)
    check_n(n)
    movie = catalog.movies.get([row], ("title_key", "release_year"))[0]
    years = catalog.movies.numbers("release_year")
    same_title = catalog.titles.find(movie["title_key"])
    twins = [] if same_title is None else [
        r for r in same_title.tolist() if years[r] == movie["release_year"]]
    found = rerank.recommend(index, row, n, np.asarray(twins, dtype=np.int64))
    stop_words = index.encoder.stop_words if index.encoder is not None else frozenset()
    mine = _shareable(catalog, row, stop_words)
    return [Recommendation(r.row, r.score, _reasons(
        catalog, mine, _shareable(catalog, r.row, stop_words), r)) for r in found]


def movies_like(catalog: Catalog, text: str, n: int) -> list[Recommendation]:
    """Movies whose documents best match free ``text`` through the same vectorizer."""
    deadline.check()
    index = _index(catalog)
    check_n(n)
    if len(text) > MAX_TEXT * 5:
        raise BadInput(f"text is longer than {MAX_TEXT * 5} characters", argument="text")
    folded = fold(text)
    if len(folded) > MAX_TEXT * 5:
        raise BadInput(f"text is longer than {MAX_TEXT * 5} characters once normalised",
                       argument="text")
    if not folded:
        raise BadInput("text must not be empty", argument="text")
    return [Recommendation(nb.row, nb.score, []) for nb in index.like_text(text, n)]
