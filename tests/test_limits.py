"""Pre-execution limits: linear checks, coded errors raised where they happen, and a cost that
prices what will execute, with one budget per HTTP request.

Work is asserted by counting the checks' visits, never by timing. Every query text here is
new to the shared client, so its response cache cannot answer in place of a real run.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLError, GraphQLSyntaxError, OperationDefinitionNode, Source, parse
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

import schema as graphql_schema
from data.errors import GRAPHQL_CODES, TRANSPORT_CODES, Code
from schema import errors as schema_errors
from server import endpoint, limits
from server.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"
SCHEMA = graphql_schema.build_schema()._schema


def _post(client: TestClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text[:300]
    return response.json()


def _codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


def _unique() -> str:
    return "q" + uuid.uuid4().hex[:12]


def _doubling(levels: int) -> str:
    """F_i spreads F_{i-1} twice: 2**levels paths through 1 + levels fragments."""
    parts = ["fragment F0 on Query { genres { name } }"]
    parts += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}"
              for i in range(1, levels + 1)]
    return f"query {_unique()} {{ ...F{levels} }} " + " ".join(parts)


def _aliased_doubling(levels: int) -> str:
    """Like ``_doubling`` but through two aliased fields, so execution would double too."""
    parts = ["fragment F0 on Movie { title }"]
    parts += [f"fragment F{i} on Movie {{ a: similar(n: 1) {{ movie {{ ...F{i - 1} }} }} "
              f"b: similar(n: 1) {{ movie {{ ...F{i - 1} }} }} }}" for i in range(1, levels + 1)]
    return f"query {_unique()} {{ movie(id: 862) {{ ...F{levels} }} }} " + " ".join(parts)


def _count_calls(monkeypatch: pytest.MonkeyPatch, cls: type, name: str) -> list[int]:
    calls: list[int] = []
    original = getattr(cls, name)

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, counting)
    return calls


# --- A. linear checks ------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [30, 60])
def test_doubling_fragments_answer_a_coded_error_in_linear_work(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, levels: int
) -> None:
    visits = _count_calls(monkeypatch, limits.ShapeWalker, "selection_set")
    costed = _count_calls(monkeypatch, limits.CostWalker, "selection_set")
    body = _post(client, _doubling(levels))
    assert body["data"] is None
    # Expanded, its one field would also be 2**levels selections in one set.
    assert _codes(body) == ["TOO_MANY_FRAGMENT_SPREADS", "QUERY_TOO_COMPLEX"]
    assert body["errors"][0]["extensions"]["maxSpreads"] == limits.MAX_SPREADS
    # The operation, each fragment once, and genres' selection: not 2**levels.
    assert len(visits) == levels + 3
    assert costed == []  # refused before pricing, and before the standard rules


@pytest.mark.parametrize("levels", [30, 60])
def test_aliased_doubling_fragments_are_refused_in_linear_work(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, levels: int
) -> None:
    visits = _count_calls(monkeypatch, limits.ShapeWalker, "selection_set")
    body = _post(client, _aliased_doubling(levels))
    assert _codes(body) == ["TOO_MANY_FRAGMENT_SPREADS", "QUERY_TOO_DEEP", "TOO_MANY_ALIASES"]
    # Per fragment: its own set and the two similar { movie { } } pairs.
    assert len(visits) == 5 * levels + 3


def test_cost_of_doubling_fragments_is_priced_once_per_fragment() -> None:
    levels = 60
    document = parse(_aliased_doubling(levels))
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    walker = limits.CostWalker(SCHEMA, document, operation, {})
    fixed, _ = walker.selection_set(SCHEMA.query_type, operation.selection_set)
    assert fixed == limits.COST_CEILING  # 2**60 paths of similar(n: 1), saturated
    assert walker.visits == 5 * levels + 3


def test_a_fragment_spread_twice_in_one_set_is_priced_once(client: TestClient) -> None:
    # Execution collects a fragment once per selection set: so does the price.
    single = _post(client, f"query {_unique()} {{ genres {{ name }} }}")
    document = parse(_doubling(60))
    assert limits.query_cost(SCHEMA, document, None, {}) == single["extensions"]["cost"] == 11


def test_wide_selection_sets_are_refused_before_the_quadratic_overlap_rule(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from graphql.validation import OverlappingFieldsCanBeMergedRule

    entered = _count_calls(monkeypatch, OverlappingFieldsCanBeMergedRule, "__init__")
    fragments = " ".join(f"fragment G{i} on Query {{ genres {{ name }} }}" for i in range(150))
    spreads = " ".join(f"...G{i}" for i in range(150))
    for query in ("{ " + " ".join(["genres { name }"] * 400) + " }",
                  f"query {_unique()} {{ {spreads} }} {fragments}"):
        body = _post(client, query)
        assert _codes(body) == ["QUERY_TOO_COMPLEX"]
        assert body["errors"][0]["extensions"]["maxSelections"] == limits.MAX_WIDTH
    assert entered == []
    ok = _post(client, "{ " + " ".join(["genres { name }"] * 20) + f" {_unique()}: __typename }}")
    assert "errors" not in ok


def test_depth_counts_through_fragments(client: TestClient) -> None:
    levels = Settings().max_depth + 1
    parts = ["fragment C0 on Collection { name }"]
    parts += [f"fragment C{i} on Collection {{ movies {{ collection {{ ...C{i - 1} }} }} }}"
              for i in range(1, levels // 2 + 1)]
    query = f"query {_unique()} {{ movie(id: 862) {{ collection {{ ...C{levels // 2} }} }} }} "
    body = _post(client, query + " ".join(parts))
    assert _codes(body) == ["QUERY_TOO_DEEP"]


# A random fragment DAG: fragment i holds fields (aliased or not, with or without a nested
# selection) and spreads of fragments j < i. The memoised shape must equal the naive expansion.
_ITEM = st.one_of(
    st.tuples(st.just("field"), st.booleans(), st.booleans()),
    st.tuples(st.just("spread"), st.integers(0, 5)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_ITEM, min_size=1, max_size=5), min_size=1, max_size=6))
def test_memoised_shape_equals_naive_expansion(fragments: list[list[tuple]]) -> None:
    def text(i: int, items: list[tuple]) -> str:
        body = []
        for n, item in enumerate(items):
            if item[0] == "spread":
                if i > 0:
                    body.append(f"...F{item[1] % i}")
                continue
            _kind, aliased, nested = item
            name = f"x{n}: genres" if aliased else "genres"
            body.append(name + (" { name }" if nested else " { tmdbId }"))
        return f"fragment F{i} on Query {{ {' '.join(body) or '__typename'} }}"

    def naive(i: int) -> tuple[int, int, int]:
        depth = aliases = spreads = 0
        for item in fragments[i]:
            if item[0] == "spread":
                if i > 0:
                    d, a, s = naive(item[1] % i)
                    depth, aliases, spreads = max(depth, d), aliases + a, spreads + s + 1
            else:
                aliases += item[1]
                depth = max(depth, 1)
        return depth, aliases, spreads

    last = len(fragments) - 1
    document = f"query {{ ...F{last} }} " + " ".join(
        text(i, items) for i, items in enumerate(fragments))
    _walker, [(_op, shape)] = limits.operation_shapes(parse(document))
    depth, aliases, spreads = naive(last)
    assert (shape.depth, shape.aliases, shape.spreads) == (depth, aliases, spreads + 1)


# --- B. codes raised where they happen, one registry ----------------------------------------


def test_one_registry_of_codes() -> None:
    assert endpoint.BAD_REQUEST is Code.BAD_REQUEST
    assert endpoint.PERSISTED_QUERY_NOT_FOUND is Code.PERSISTED_QUERY_NOT_FOUND
    assert {Code.INTERNAL_SERVER_ERROR, Code.TIMEOUT} <= endpoint.UNCACHEABLE
    assert set(schema_errors.CODES) == GRAPHQL_CODES
    assert set(Code) == GRAPHQL_CODES | TRANSPORT_CODES
    # The README documents exactly the registry.
    section = README.read_text().split("### Error codes", 1)[1].split("###", 1)[0]
    assert set(re.findall(r"`([A-Z_]{4,})`", section)) == {c.value for c in Code}


@pytest.mark.parametrize(("error", "code"), [
    # Whatever the words, a syntax error is a parse failure ...
    (GraphQLSyntaxError(Source("{"), 1, "reworded by a future graphql-core"),
     Code.GRAPHQL_PARSE_FAILED),
    # ... and an error at a variable's definition before execution is a bad value.
    (GraphQLError("reworded", nodes=[parse("query($n: Int) { a }").definitions[0]
                                     .variable_definitions[0]]), Code.BAD_USER_INPUT),
    # graphql-core coercing an argument while running a field: located at the argument.
    (GraphQLError("reworded", path=["movies"], original_error=GraphQLError(
        "reworded", nodes=[parse("{ a(b: null) }").definitions[0].selection_set
                           .selections[0].arguments[0].value])), Code.BAD_USER_INPUT),
    # A bare error outside any field is graphql-core objecting to the request.
    (GraphQLError("Variable '$x' got invalid value, said a resolver"),
     Code.GRAPHQL_VALIDATION_FAILED),
    # One from inside a field with no code of ours is a bug, masked.
    (GraphQLError("maximum operation depth", path=["movie"]), Code.INTERNAL_SERVER_ERROR),
])
def test_codes_follow_the_error_not_its_message(error: GraphQLError, code: Code) -> None:
    coded, got = schema_errors._code_for(error)
    assert got == code and coded.extensions["code"] == code


def test_unused_variable_is_a_validation_error(client: TestClient) -> None:
    # Regression: "Variable '$x' is never used" once read as a bad variable value.
    body = _post(client, f"query {_unique()}($x: Int) {{ genres {{ name }} }}")
    assert _codes(body) == ["GRAPHQL_VALIDATION_FAILED"]


@pytest.mark.parametrize(("query", "code"), [
    ("# padding\n" * 3001 + "{ genres { name } }", "TOO_MANY_TOKENS"),
    ("{ " + "genres { name } " * 800 + "}", "TOO_MANY_TOKENS"),
    # More than the limit, but the parser stopped at an early syntax error first.
    ("{ genres ( } " + " a" * 4000, "GRAPHQL_PARSE_FAILED"),
    ("{ genres { name } ", "GRAPHQL_PARSE_FAILED"),
])
def test_token_limit_and_syntax_errors(client: TestClient, query: str, code: str) -> None:
    body = _post(client, query)
    assert _codes(body) == [code]


def _parsed(query: str, parser: Any = parse) -> tuple[str, Any]:
    from graphql import print_ast

    try:
        return "ok", print_ast(parser(query))
    except GraphQLSyntaxError as error:
        return "error", (error.message, error.locations)


# Documents from GraphQL's lexically interesting characters: strings, block strings,
# escapes, comments and line ends in any mix (mostly invalid, which is the point).
_LEXICAL = st.lists(st.sampled_from([*'{}()"#\\\n\r ab:$!.', '"""', '\\"""', "# c"]),
                    max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_LEXICAL, st.sampled_from(
    ["{ a }", '{ a(s: "#x") }', '{ a(s: """ # \n """) }', "# x\n", "query q { a }"])),
    max_size=6).map("".join))
def test_hollowed_comments_parse_to_the_same_document_and_errors(query: str) -> None:
    """A comment's text is dropped before parsing (the parser reads comments a character
    at a time in Python): the same document, or the same error at the same place."""
    assert len(limits.hollow_comments(query)) <= len(query)
    assert _parsed(query, lambda q: limits._parse(q, 10**6)) == _parsed(query)


def test_a_long_comment_costs_one_regular_expression_pass(client: TestClient) -> None:
    """Regression: 200 KB of one comment kept an execution thread in the parser for 215 ms
    (cost 1); the comment is one token either way."""
    query = "#" + "x" * 200_000 + "\n{ genres { name } }"
    assert limits.hollow_comments(query) == "#\n{ genres { name } }"
    body = _post(client, query)
    assert "errors" not in body and body["data"]["genres"]


# --- C. a cost that matches the work ---------------------------------------------------------


def _cost(client: TestClient, query: str, variables: dict[str, Any] | None = None) -> int:
    body = _post(client, query, variables)
    return body["extensions"]["cost"]


CAST = "movies(first: {n}) {{ nodes {{ cast(first: {n}) {{ nodes {{ order }} }} }} }}"


def test_variable_defaults_are_priced_as_executed(client: TestClient) -> None:
    literal = _cost(client, f"query {_unique()} {{ {CAST.format(n=100)} }}")
    default = _cost(client, f"query {_unique()}($n: Int = 100) {{ {CAST.format(n='$n')} }}")
    assert default == literal == 1 + 100 * (1 + 100)
    deep = (f"query {_unique()}($n: Int = 100) {{ movies(first: $n) {{ nodes {{ "
            "cast(first: $n) { nodes { actor { movies(first: $n) { nodes { title } } } } } } } }")
    body = _post(client, deep)
    assert _codes(body) == ["QUERY_TOO_COMPLEX"]


def test_integral_float_sizes_are_priced_as_executed(client: TestClient) -> None:
    query = f"query {_unique()}($n: Int) {{ movies(first: $n) {{ nodes {{ tmdbId }} }} }}"
    as_float = _post(client, query, {"n": 100.0})
    assert len(as_float["data"]["movies"]["nodes"]) == 100  # executed with 100 ...
    assert as_float["extensions"]["cost"] == 1 + 100  # ... and priced so


def test_fragments_inside_edges_are_priced(client: TestClient) -> None:
    nodes = _cost(client, f"query {_unique()} {{ {CAST.format(n=100)} }}")
    spread = _cost(client, f"query {_unique()} {{ movies(first: 100) {{ edges {{ ...E }} }} }} "
                           "fragment E on MovieEdge { cursor node { cast(first: 100) { nodes "
                           "{ order } } } }")
    inline = _cost(client, f"query {_unique()} {{ movies(first: 100) {{ ... on MovieConnection "
                           "{ edges { ... on MovieEdge { node { cast(first: 100) { nodes "
                           "{ order } } } } } } } }")
    assert spread == inline == nodes


def test_a_batch_shares_one_budget(client: TestClient) -> None:
    each = 1 + 100 * (1 + 60)
    fits = Settings().max_cost // each
    batch = [{"query": f"{{ {_unique()}: movies(first: 100) {{ nodes {{ cast(first: 60) "
                       "{ nodes { order } } } } }"} for _ in range(10)]
    answers = client.post("/graphql", json=batch).json()
    assert [a["extensions"]["cost"] for a in answers] == [each] * 10
    assert [_codes(a) for a in answers] == [[]] * fits + [["BATCH_TOO_COMPLEX"]] * (10 - fits)
    refused = answers[fits]["errors"][0]["extensions"]
    assert refused["maxCost"] == Settings().max_cost and refused["left"] < each
    # Alone, the same operation runs: the refusal depended on its batch and was not cached.
    alone = client.post("/graphql", json=batch[fits]).json()
    assert "errors" not in alone and len(alone["data"]) == 1


def test_searches_are_priced_by_their_work(client: TestClient) -> None:
    weight = limits.FIELD_WEIGHTS[("Query", "searchPeople")]
    one = _post(client, f'query {_unique()} {{ searchPeople(query: "hanks", first: 1) '
                        "{ person { name } } }")
    assert one["data"]["searchPeople"][0]["person"]["name"] == "Tom Hanks"
    assert one["extensions"]["cost"] == 1 + weight + 1 * (1 + 1)
    thirty = " ".join(f'p{i}: searchPeople(query: "han{i}") {{ score }}' for i in range(30))
    body = _post(client, f"query {_unique()} {{ {thirty} }}")
    assert _codes(body) == ["QUERY_TOO_COMPLEX"]
    assert body["extensions"]["cost"] > 30 * weight
    # A nearest-neighbour query per movie: its weight once per item of the list above it.
    similar = _post(client, f"query {_unique()} {{ movies(first: 40) {{ nodes {{ "
                            "similar(n: 5) { score } } } }")
    weight = limits.FIELD_WEIGHTS[("Movie", "similar")]
    assert similar["extensions"]["cost"] == 1 + 40 * (1 + weight + 5)
    assert len(similar["data"]["movies"]["nodes"]) == 40


@pytest.mark.parametrize(("field", "text", "code"), [
    ("searchMovies(query: $t)", "\ufdfa" * 200, "BAD_USER_INPUT"),  # folds to 3,600
    ("titleScore(title: $t)", "\ufdfa" * 12, "BAD_USER_INPUT"),  # 216 once folded
    ("titleScore(title: $t)", "\ufdfa" * 11, "NOT_FOUND"),  # 198: measured, then looked up
    ("moviesLike(text: $t)", "\ufdfa" * 60, "BAD_USER_INPUT"),  # 1,080 once folded
])
def test_text_is_measured_after_folding(client: TestClient, field: str, text: str,
                                        code: str) -> None:
    body = _post(client, f"query {_unique()}($t: String!) {{ x: {field} {{ __typename }} }}",
                 {"t": text})
    assert _codes(body) == [code]


def test_cost_benchmark_measures_every_weighted_field(sample_build: Path) -> None:
    from bench import cost

    results = cost.measure(sample_build, repeats=1)
    weighted = {field for (_type, field) in limits.FIELD_WEIGHTS}
    assert {r.field for r in results} == weighted | {None}
    for r in results:
        assert r.cost > 1 and r.median_ms > 0 and r.us_per_unit > 0
    assert "spread (max / min seconds per unit)" in cost.markdown(results)


def test_null_for_a_non_null_argument_is_bad_input(client: TestClient) -> None:
    # Coerced while the field runs (the argument has a default, so validation allows it).
    body = _post(client, f"query {_unique()}($s: MovieSort) {{ movies(sort: $s) "
                         "{ totalCount } }", {"s": None})
    assert _codes(body) == ["BAD_USER_INPUT"]


def test_heavy_operations_take_turns_and_cheap_ones_never_wait() -> None:
    """The heavy lane: with one place, a second heavy operation waits for the first (up to
    its deadline, then runs to meet it); a cheap one runs at once beside them."""
    import threading
    import time

    from data import deadline
    from server.lanes import heavy_lane

    lane = heavy_lane(heavy_cost=100, slots=1)

    def enter(cost: int) -> Any:
        limits.last_cost.set(cost)
        steps = lane(execution_context=None).on_execute()  # type: ignore[arg-type]
        next(steps)
        return steps

    held = enter(500)  # a heavy operation executing on this thread
    waited: dict[str, float] = {}

    def other(name: str, cost: int) -> None:
        deadline.start(0.3)
        started = time.monotonic()
        steps = enter(cost)
        waited[name] = time.monotonic() - started
        next(steps, None)  # finish: gives the place back if it had one

    threads = [threading.Thread(target=other, args=("heavy", 800)),
               threading.Thread(target=other, args=("cheap", 5))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert waited["cheap"] < 0.05
    assert 0.25 < waited["heavy"] < 1.0  # waited for the place until its deadline
    next(held, None)
    started = time.monotonic()
    enter(900)  # the place is free again
    assert time.monotonic() - started < 0.05


def test_validation_outcomes_are_cached_by_query_text(monkeypatch: pytest.MonkeyPatch,
                                                      catalog: Any) -> None:
    """The shape limits and the standard rules run once per distinct query text (a refused
    document is refused again from the cache, with the same coded error), and the cache
    stays within its bound."""
    walked: list[int] = []
    real = limits.shape_errors

    def counting(document: Any, shape: limits.ShapeLimits) -> list[GraphQLError]:
        walked.append(1)
        return real(document, shape)

    monkeypatch.setattr(limits, "shape_errors", counting)
    checked = limits.CheckedValidation(limits.ShapeLimits(3, 30, 500, 100), maxsize=2)
    schema = graphql_schema.build_schema([lambda: checked])
    fine = "{ movie(id: 862) { title } }"
    deep = "{ movie(id: 862) { cast { nodes { movie { cast { nodes { character } } } } } } }"
    for query in (fine, fine, deep, deep):
        result = schema.execute_sync(query, context_value={"catalog": catalog})
        if query is fine:
            assert not result.errors and result.data == {"movie": {"title": "Toy Story"}}
        else:
            assert result.errors and result.errors[0].extensions["code"] == \
                Code.QUERY_TOO_DEEP.value
    assert len(walked) == 2
    schema.execute_sync("{ movie(id: 863) { title } }", context_value={"catalog": catalog})
    assert len(walked) == 3 and len(checked.outcomes) <= 2
