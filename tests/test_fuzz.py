"""Property-based fuzzing of /graphql with queries generated from the real schema.

hypothesis-graphql builds queries from the committed SDL (``schema.sdl()``): valid ones
(``Mode.POSITIVE``, random arguments and selections) and ones with exactly one schema violation
(``Mode.NEGATIVE``). They go through the real app (Starlette's TestClient, in-process) over the
sample build. Two smaller properties add what the generator never produces: arbitrary JSON
variables for the size and text arguments, and arbitrary text as the query.

The property: never a 5xx, always a JSON body, and every error carries an ``extensions.code``
from the documented set (``schema.errors.CODES`` plus the transport codes of
``server.endpoint``), never ``INTERNAL_SERVER_ERROR``.

Each query is generated for one root field at a time: a query over the whole root type is about
twice as slow to generate and no more varied below the root. The default run sends 1,000
generated schema queries, 62 variable sets for each of 7 queries and 200 arbitrary texts,
about 40 s in all; ``MOVIES_FUZZ_EXAMPLES`` scales every part (the schema queries take that
many examples, the others 1/16 and 1/5 of it), e.g.::

    MOVIES_FUZZ_EXAMPLES=20000 uv run pytest tests/test_fuzz.py -q
"""

from __future__ import annotations

import os
from typing import Any

import graphql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, queries

import schema
from schema.errors import CODES, INTERNAL
from server import endpoint

EXAMPLES = int(os.environ.get("MOVIES_FUZZ_EXAMPLES", "1000"))
TRANSPORT_CODES = {
    endpoint.BAD_REQUEST, endpoint.PAYLOAD_TOO_LARGE, endpoint.UNSUPPORTED_MEDIA_TYPE,
    endpoint.METHOD_NOT_ALLOWED, endpoint.BATCH_TOO_LARGE, endpoint.PERSISTED_QUERY_NOT_FOUND,
}
DOCUMENTED = set(CODES) | TRANSPORT_CODES

SCHEMA = graphql.build_schema(schema.sdl())
ROOTS = sorted(SCHEMA.query_type.fields)
ROOTS_WITH_ARGUMENTS = [name for name in ROOTS if SCHEMA.query_type.fields[name].args]

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large],
)
SMALL = settings(FUZZ, max_examples=max(EXAMPLES // 5, 50))

# Valid queries rooted at one field, and queries with one violation (wrong argument type,
# missing required argument, unknown enum value, ...) for the fields that take arguments.
schema_queries = st.one_of(
    st.sampled_from(ROOTS).flatmap(lambda root: queries(SCHEMA, fields=[root])),
    st.sampled_from(ROOTS_WITH_ARGUMENTS).flatmap(
        lambda root: queries(SCHEMA, fields=[root], mode=Mode.NEGATIVE)),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.text(max_size=30) | st.integers(min_value=-(2**64),
                                                                   max_value=2**64)
    | st.integers(min_value=-1, max_value=200) | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=8,
)
# Small sizes, any 65-bit integer, and the edges of Int32, JavaScript's exact range, i64, u64.
ints = st.one_of(
    st.integers(min_value=-1, max_value=200),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from([2**31 - 1, 2**31, 2**53, 2**62, 2**63 - 1, 2**63, 2**64 - 1, 2**64,
                     -(2**63), -(2**63) - 1]),
)
# Values by declared type: mostly the right JSON type at its extremes, sometimes anything.
TYPED = {"int": st.one_of(ints, ints, ints, json_values),
         "str": st.one_of(st.text(max_size=300), json_values), "any": json_values}

# Queries whose size and text arguments come from variables: the cost limit and the resolvers
# see values no literal in a generated query can carry (huge ints, floats, lists, objects).
VARIABLE_QUERIES = [  # (id, query, declared variables)
    ("recommendations", "query($t: String!, $n: Int, $y: Int) { recommendations(title: $t, "
     "n: $n, year: $y) { score movie { title } } }", "t:str n:int y:int"),
    ("movies-cast", "query($a: Int, $b: Int, $c: String) { movies(first: $a, after: $c) { "
     "totalCount nodes { cast(first: $b) { nodes { order } } } } }", "a:int b:int c:str"),
    ("searchPeople", "query($q: String!, $f: Int, $r: Role) { searchPeople(query: $q, "
     "first: $f, role: $r) { score person { name } } }", "q:str f:int r:any"),
    ("releases", "query($m: String!, $d: String!) { releasesInMonth(month: $m) { count } "
     "releasesOnWeekday(day: $d) { count } }", "m:str d:str"),
    ("movies-filter", "query($f: MovieFilter, $s: MovieSort, $desc: Boolean) { movies("
     "filter: $f, sort: $s, descending: $desc) { totalCount } }", "f:any s:any desc:any"),
    ("node", "query($id: ID!) { node(id: $id) { id } }", "id:str"),
    ("moviesLike", "query($text: String!, $n: Int) { moviesLike(text: $text, n: $n) "
     "{ score } }", "text:str n:int"),
]


def _variables(spec: str) -> st.SearchStrategy[dict[str, Any]]:
    """All declared variables (half the time) or any subset, plus maybe an undeclared one."""
    typed = {name: TYPED[kind] for name, kind in (item.split(":") for item in spec.split())}
    extra = {"unused": json_values}
    return st.one_of(st.fixed_dictionaries(typed, optional=extra),
                     st.fixed_dictionaries({}, optional=typed | extra))


def _check(response: Any) -> dict[str, Any] | list[Any]:
    assert response.status_code < 500, response.text[:1000]
    body = response.json()  # raises on a body that is not JSON
    for item in body if isinstance(body, list) else [body]:
        assert isinstance(item, dict)
        for error in item.get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            assert code in DOCUMENTED, error
            assert code != INTERNAL, error
        if "data" in item:
            assert "cost" in item["extensions"]
    return body


def test_schema_has_roots_to_fuzz() -> None:
    assert {"movie", "movies", "recommendations", "node"} <= set(ROOTS)
    assert INTERNAL in CODES


@FUZZ
@given(query=schema_queries)
def test_generated_queries(client, query: str) -> None:
    _check(client.post("/graphql", json={"query": query}))


@pytest.mark.parametrize(("query", "spec"), [pytest.param(q, spec, id=name)
                                           for name, q, spec in VARIABLE_QUERIES])
def test_arbitrary_variables(client, query: str, spec: str) -> None:
    @settings(FUZZ, max_examples=max(EXAMPLES // 16, 20))
    @given(variables=_variables(spec))
    def run(variables: dict[str, Any]) -> None:
        _check(client.post("/graphql", json={"query": query, "variables": variables}))

    run()


@SMALL
@given(text=st.text(max_size=300))
def test_arbitrary_text_as_query(client, text: str) -> None:
    body = _check(client.post("/graphql", json={"query": text}))
    if not text:
        assert body["errors"][0]["extensions"]["code"] == endpoint.BAD_REQUEST
