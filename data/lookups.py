"""The assignment's lookups and the catalog's search/filter, as plain functions over a Catalog.

Resolvers in ``schema/`` call these and only shape the answers; every rule (how a month is
named, which of several same-titled movies is meant, what counts as an actor's film) lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
from rapidfuzz import fuzz, process

from data import rerank
from data.catalog import Catalog
from data.errors import BadInput, NotFound
from data.recommender import title_terms
from data.text import fold

MAX_TEXT = 200  # longest title, name or search text accepted
MIN_VOTES_FOR_RATING = 2000  # the assignment's rule: "at least 2000 votes"

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


def parse_month(value: str) -> int:
    key = fold(value)
    if key.isdigit() and 1 <= int(key) <= 12:
        return int(key)
    if key in _MONTH_NAMES:
        return _MONTH_NAMES[key]
    raise BadInput(
        f"unknown month {value[:40]!r}: use a Spanish or English month name or 1-12",
        argument="month",
        suggestions=_suggest(key, list(_MONTH_NAMES)),
    )


def parse_weekday(value: str) -> int:
    key = fold(value)
    if key.isdigit() and 1 <= int(key) <= 7:
        return int(key)
    if key in _WEEKDAY_NAMES:
        return _WEEKDAY_NAMES[key]
    raise BadInput(
        f"unknown weekday {value[:40]!r}: use a Spanish or English day name or ISO 1-7",
        argument="day",
        suggestions=_suggest(key, list(_WEEKDAY_NAMES)),
    )


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
    return f"{catalog.m['title'][row]} ({catalog.m['release_year'][row]})"


def resolve_title(catalog: Catalog, title: str, year: int | None = None) -> TitleMatch:
    """The movie called ``title`` (case- and accent-insensitive); of several, the one from
    ``year`` if given, else the most voted."""
    key = _text(title, "title")
    rows = catalog.title_rows.get(key)
    if rows is None:
        suggestions = [
            _movie_label(catalog, catalog.title_rows[k][0])
            for k in _suggest(key, catalog.title_keys)
        ]
        raise NotFound(f"no movie titled {title[:80]!r}", suggestions=suggestions)
    if year is not None:
        dated = [r for r in rows if catalog.m["release_year"][r] == year]
        if not dated:
            raise NotFound(
                f"no movie titled {title[:80]!r} from {year}",
                suggestions=[_movie_label(catalog, r) for r in rows[:5]],
            )
        rows = dated + [r for r in rows if r not in dated]
    return TitleMatch(row=rows[0], candidates=list(rows))


def movie_by_id(catalog: Catalog, movie_id: int) -> int:
    row = catalog.movie_row.get(movie_id)
    if row is None:
        raise NotFound(f"no movie with id {movie_id}")
    return row


def score_sentence(catalog: Catalog, row: int) -> str:
    m = catalog.m
    return (
        f"La película {m['title'][row]} fue estrenada en el año {m['release_year'][row]} "
        f"con un score/popularidad de {m['popularity'][row] or 0:.2f}"
    )


def votes_sentence(catalog: Catalog, row: int) -> tuple[bool, str]:
    m = catalog.m
    title, year, votes = m["title"][row], m["release_year"][row], m["vote_count"][row]
    if votes >= MIN_VOTES_FOR_RATING:
        return True, (
            f"La película {title} fue estrenada en el año {year}. La misma cuenta con un "
            f"total de {votes} valoraciones, con un promedio de {m['vote_average'][row]}"
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
        row = catalog.person_row.get(person_id)
        if row is None or counts[row] == 0:
            raise NotFound(f"no {role.value} with id {person_id}")
        return PersonMatch(row=row, candidates=[row])
    assert name is not None
    key = _text(name, "name")
    index = catalog.actor_names if role is Role.ACTOR else catalog.director_names
    rows = index.get(key)
    if rows is None:
        keys = catalog.actor_keys if role is Role.ACTOR else catalog.director_keys
        suggestions = [catalog.p["name"][index[k][0]] for k in _suggest(key, keys)]
        raise NotFound(f"no {role.value} named {name[:80]!r}", suggestions=suggestions)
    return PersonMatch(row=rows[0], candidates=list(rows))


@dataclass(frozen=True)
class Filmography:
    movies: np.ndarray  # distinct movie rows, by release date
    total_return: float
    average_return: float


def _filmography(catalog: Catalog, movie_rows: np.ndarray) -> Filmography:
    # A person credited twice in one movie (two characters) made one film.
    _, first = np.unique(movie_rows, return_index=True)
    movies = movie_rows[np.sort(first)]
    total = float(catalog.returns[movies].sum()) if movies.size else 0.0
    return Filmography(movies, total, total / movies.size if movies.size else 0.0)


def actor_films(catalog: Catalog, person_row: int) -> Filmography:
    """Films the person acted in (cast credits only, never directing credits)."""
    return _filmography(catalog, catalog.cast_movie[catalog.cast_by_person.of(person_row)])


def director_films(catalog: Catalog, person_row: int) -> Filmography:
    return _filmography(catalog, catalog.directed_movie[catalog.directed.of(person_row)])


def actor_sentence(catalog: Catalog, person_row: int, films: Filmography) -> str:
    return (
        f"El actor {catalog.p['name'][person_row]} ha participado de {films.movies.size} "
        f"cantidad de filmaciones, el mismo ha conseguido un retorno de "
        f"{films.total_return:.2f} con un promedio de {films.average_return:.2f} por filmación"
    )


def director_sentence(catalog: Catalog, person_row: int, films: Filmography) -> str:
    return (
        f"El director {catalog.p['name'][person_row]} ha dirigido {films.movies.size} "
        f"películas con un retorno total de {films.total_return:.2f}"
    )


# --- search and browse ---------------------------------------------------------------------


def search_movies(catalog: Catalog, query: str, limit: int) -> list[tuple[int, float]]:
    """Fuzzy, accent-insensitive title search: (movie row, score 0-100), best first; among
    equal scores the more voted movie first."""
    key = _text(query, "query")
    found = process.extract(
        key, catalog.title_keys, scorer=fuzz.WRatio, limit=limit, score_cutoff=50
    )
    hits: list[tuple[int, float]] = []
    for choice, score, _ix in found:
        # A title that starts with what was typed ranks above a mid-word match.
        bonus = 1.0 if choice.startswith(key) else 0.0
        hits.extend((row, min(100.0, float(score) + bonus)) for row in catalog.title_rows[choice])
    votes = catalog.m["vote_count"]
    hits.sort(key=lambda hit: (-hit[1], -votes[hit[0]], hit[0]))
    return hits[:limit]


def search_people(
    catalog: Catalog, query: str, role: Role | None, limit: int
) -> list[tuple[int, float]]:
    key = _text(query, "query")
    actors = (catalog.actor_names, catalog.actor_keys)
    directors = (catalog.director_names, catalog.director_keys)
    indexes = [actors, directors] if role is None else [
        actors if role is Role.ACTOR else directors]
    best: dict[int, float] = {}
    for index, keys in indexes:
        # The prebuilt key lists: listing a 300k-key dict per request costs milliseconds.
        for choice, score, _ix in process.extract(
            key, keys, scorer=fuzz.WRatio, limit=limit, score_cutoff=50
        ):
            for row in index[choice]:
                best[row] = max(best.get(row, 0.0), float(score))
    credits = catalog.cast_counts + catalog.directed_counts
    ranked = sorted(best.items(), key=lambda hit: (-hit[1], -credits[hit[0]], hit[0]))
    return ranked[:limit]


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


def filter_movies(
    catalog: Catalog, where: MovieFilter, sort: SortKey, descending: bool
) -> np.ndarray:
    """Movie rows matching ``where``, ordered by ``sort`` (ties by id)."""
    order = catalog.sorted_rows(sort.value, descending)
    mask = np.ones(catalog.n_movies, dtype=bool)
    years = catalog.years
    if where.year_from is not None:
        mask &= years >= where.year_from
    if where.year_to is not None:
        mask &= years <= where.year_to
    if where.min_votes is not None:
        mask &= catalog.vote_counts >= where.min_votes
    if where.language is not None:
        mask &= catalog.languages == fold(where.language)
    if where.genre is not None:
        key = fold(where.genre)
        names = [fold(n) for n in catalog.entities["genres"]["name"]]
        if key not in names:
            raise BadInput(f"unknown genre {where.genre[:40]!r}", argument="genre",
                           suggestions=_suggest(key, names))
        in_genre = np.zeros(catalog.n_movies, dtype=bool)
        in_genre[catalog.movie_rows_of_entity("genres", names.index(key))] = True
        mask &= in_genre
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


def _unique(values: list[int]) -> list[int]:
    return list(dict.fromkeys(values))


def _shared(catalog: Catalog, a: int, b: int) -> list[Reason]:
    """What movies ``a`` and ``b`` have in common, most telling first."""
    m = catalog.m
    reasons: list[Reason] = []
    collection = m["collection_id"][a]
    if collection is not None and collection == m["collection_id"][b]:
        row = catalog.entity_row["collections"][collection]
        name = catalog.entities["collections"]["name"][row]
        reasons.append(Reason(ReasonKind.COLLECTION, [name]))

    def directors(movie: int) -> list[int]:
        return catalog.directed_person[catalog.directors_of.of(movie)].tolist()

    def cast(movie: int) -> list[int]:
        return catalog.cast_person[catalog.cast_by_movie.of(movie)].tolist()

    names = catalog.p["name"]
    for kind, people, limit in ((ReasonKind.DIRECTOR, directors, 5), (ReasonKind.CAST, cast, 10)):
        theirs = set(people(b))
        if common := [names[p] for p in _unique(people(a)) if p in theirs]:
            reasons.append(Reason(kind, common[:limit]))
    for kind, entity in ((ReasonKind.GENRE, "genres"), (ReasonKind.KEYWORD, "keywords")):
        theirs = set(catalog.entity_rows_of_movie(entity, b).tolist())
        mine = catalog.entity_rows_of_movie(entity, a).tolist()
        if common := [catalog.entities[entity]["name"][e] for e in mine if e in theirs]:
            reasons.append(Reason(kind, common))
    return reasons


def recommend(catalog: Catalog, row: int, n: int) -> list[Recommendation]:
    """The ``n`` movies most similar to ``row``; never the movie itself or a duplicate row of
    it (same title and year under another id)."""
    index = _index(catalog)
    check_n(n)
    key, year = catalog.m["title_key"][row], catalog.m["release_year"][row]
    twins = [r for r in catalog.title_rows[key] if catalog.m["release_year"][r] == year]
    found = rerank.recommend(index, row, n, np.asarray(twins, dtype=np.int64))
    return [Recommendation(r.row, r.score, _reasons(catalog, row, r)) for r in found]


# The content field behind each reason kind (CO_LIKED is the co-liked term of the score).
_REASON_FIELDS = {ReasonKind.COLLECTION: "collection", ReasonKind.DIRECTOR: "director",
                  ReasonKind.CAST: "cast", ReasonKind.GENRE: "genres",
                  ReasonKind.KEYWORD: "keywords", ReasonKind.TITLE: "title"}


def _reasons(catalog: Catalog, a: int, found: rerank.Ranked) -> list[Reason]:
    """What ``a`` and the recommended movie share, ordered by how much each adds to the
    score (a shared title word that drives the match shows; a co-liked neighbour says by how
    many viewers)."""
    reasons = _shared(catalog, a, found.row)
    fields = found.fields
    words = set(title_terms(catalog.m["title"][found.row]))
    shared_words = [w for w in dict.fromkeys(title_terms(catalog.m["title"][a])) if w in words]
    if shared_words and fields.get("title", 0.0) > 0:
        reasons.append(Reason(ReasonKind.TITLE, shared_words))
    weight = {kind: found.content_share * fields.get(name, 0.0)
              for kind, name in _REASON_FIELDS.items()}
    if found.support > 0:
        viewers = "viewer" if found.support == 1 else "viewers"
        reasons.append(Reason(ReasonKind.CO_LIKED,
                              [f"liked by {found.support} {viewers} who liked this"]))
        weight[ReasonKind.CO_LIKED] = found.coliked
    # Stable: equal contributions keep the order above (collection, people, genres, ...).
    return sorted(reasons, key=lambda r: -weight.get(r.kind, 0.0))


def movies_like(catalog: Catalog, text: str, n: int) -> list[Recommendation]:
    """Movies whose documents best match free ``text`` through the same vectorizer."""
    index = _index(catalog)
    check_n(n)
    if len(text) > MAX_TEXT * 5:
        raise BadInput(f"text is longer than {MAX_TEXT * 5} characters", argument="text")
    if not fold(text):
        raise BadInput("text must not be empty", argument="text")
    return [Recommendation(nb.row, nb.score, []) for nb in index.like_text(text, n)]
