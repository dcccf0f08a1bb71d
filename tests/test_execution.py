"""The short path for plain leaf fields (``schema.execution``) answers exactly as the library.

Every query runs twice over the real sample: through the project's schema and through the
same schema with Strawberry's own execution context; data and errors must be identical.
The queries are hand-picked shapes (nulls, enums, aliases, fragments, errors) and ones
hypothesis-graphql generates from the schema. A toy schema covers what the sample cannot
provoke on demand: an attribute that raises, a null in a non-null field, a value the scalar
refuses.
"""

from __future__ import annotations

from typing import Any

import graphql
import pytest
import strawberry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

import schema
from data.catalog import Catalog
from schema import execution
from schema.query import Query

SDL = graphql.build_schema(schema.sdl())
ROOTS = sorted(SDL.query_type.fields)

SHAPES = [
    '{ movie(title: "Toy Story") { title tagline overview releaseDate releaseYear budget '
    "return voteAverage voteCount status originalLanguage collection { name } } }",
    '{ actor(name: "Tom Hanks") { name movies(first: 30) { nodes { title cast(first: 10) '
    "{ nodes { character order actor { name gender profilePath } } } } } } }",
    '{ a: movie(title: "Toy Story") { t: title, title } b: movie(title: "Jumanji") '
    "{ ...M } } fragment M on Movie { __typename title ... on Movie { releaseYear } }",
    '{ recommendations(title: "Toy Story", n: 5) { score movie { title } '
    "reasons { kind names } } }",
    '{ movie(title: "Toy Story") { crew(first: 20) { nodes { job department '
    "person { name } } } directors { name filmCount } } }",
    '{ movie(title: "no such film at all") { title } }',
    '{ searchMovies(query: "godfater") { score matched movie { title } } }',
]


def _answer(result: Any) -> tuple[Any, list[dict[str, Any]]]:
    return result.data, [e.formatted for e in (result.errors or [])]


@pytest.fixture(scope="module")
def both() -> tuple[strawberry.Schema, strawberry.Schema]:
    ours = schema.build_schema()
    library = schema.MovieSchema(
        query=Query, extensions=[schema.ErrorCodes],
        execution_context_class=StrawberryGraphQLCoreExecutionContext)
    return ours, library


def test_project_schema_uses_the_short_path() -> None:
    assert schema.build_schema().execution_context_class is execution.PlainLeafExecution


@pytest.mark.parametrize("query", SHAPES)
def test_same_answers_as_the_library(both: tuple[strawberry.Schema, strawberry.Schema],
                                     catalog: Catalog, query: str) -> None:
    ours, library = both
    got = _answer(ours.execute_sync(query, context_value={"catalog": catalog}))
    assert got == _answer(library.execute_sync(query, context_value={"catalog": catalog}))
    assert got[0] is not None or got[1]


def test_real_facts_through_the_short_path(both: tuple[strawberry.Schema, strawberry.Schema],
                                           catalog: Catalog,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Toy Story's facts, with the library's field execution counted: the leaves must not
    reach it (a short path that silently fell back would still answer right)."""
    calls: list[str] = []
    base = StrawberryGraphQLCoreExecutionContext.execute_field

    def counted(self: Any, parent_type: Any, source: Any, details: Any, *rest: Any) -> Any:
        calls.append(f"{parent_type.name}.{details[0].node.name.value}")
        return base(self, parent_type, source, details, *rest)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_field", counted)
    ours, _ = both
    result = ours.execute_sync(
        '{ movie(title: "Toy Story") { tmdbId title releaseDate '
        "cast(first: 1) { nodes { character actor { name } } } } }",
        context_value={"catalog": catalog})
    assert result.errors is None
    movie = result.data["movie"]
    assert (movie["tmdbId"], movie["title"], movie["releaseDate"]) == (862, "Toy Story",
                                                                       "1995-10-30")
    assert movie["cast"]["nodes"][0]["actor"]["name"] == "Tom Hanks"
    leaves = {"Movie.tmdbId", "Movie.title", "Movie.releaseDate", "CastCredit.character",
              "Actor.name"}
    assert calls and not leaves & set(calls), calls


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.filter_too_much])
@given(data=st.data())
def test_generated_queries_answer_as_the_library(
        both: tuple[strawberry.Schema, strawberry.Schema], catalog: Catalog,
        data: st.DataObject) -> None:
    root = data.draw(st.sampled_from(ROOTS))
    query = data.draw(queries(SDL, fields=[root]))
    ours, library = both
    assert _answer(ours.execute_sync(query, context_value={"catalog": catalog})) == _answer(
        library.execute_sync(query, context_value={"catalog": catalog}))


# --- what the sample cannot provoke -------------------------------------------------------


class Odd:
    """Attributes that misbehave the ways a plain field can."""

    name = "fine"
    nothing: str | None = None

    @property
    def broken(self) -> str:
        raise RuntimeError("the attribute itself failed")

    @property
    def missing(self) -> str:
        return None  # type: ignore[return-value]

    @property
    def not_a_number(self) -> int:
        return "seven"  # type: ignore[return-value]


@strawberry.type
class Item:
    name: str
    nothing: str | None
    broken: str
    missing: str
    not_a_number: int


@strawberry.type
class ToyQuery:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return [Odd(), Odd()]  # type: ignore[list-item]


@pytest.mark.parametrize("fields", ["name nothing", "name broken", "missing", "notANumber",
                                    "name nothing broken missing notANumber"])
def test_misbehaving_attributes_fail_as_in_the_library(fields: str) -> None:
    ours = strawberry.Schema(query=ToyQuery,
                             execution_context_class=execution.PlainLeafExecution)
    library = strawberry.Schema(query=ToyQuery)
    query = f"{{ items {{ {fields} }} }}"
    got = _answer(ours.execute_sync(query))
    assert got == _answer(library.execute_sync(query))
    if fields != "name nothing":
        assert got[1], "each of these fields is an error in GraphQL"


def test_field_middleware_still_sees_every_field() -> None:
    """An extension with a ``resolve`` hook wraps every field; the short path must not skip
    it."""
    from strawberry.extensions import SchemaExtension

    seen: list[str] = []

    class Seen(SchemaExtension):
        def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(info.field_name)
            return _next(root, info, *args, **kwargs)

    ours = strawberry.Schema(query=ToyQuery, extensions=[Seen],
                             execution_context_class=execution.PlainLeafExecution)
    result = ours.execute_sync("{ items { name nothing } }")
    assert result.errors is None
    assert seen == ["items", "name", "nothing", "name", "nothing"]
