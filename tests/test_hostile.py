"""Hostile and malformed requests: each gets its documented status and ``extensions.code``,
and the server keeps serving afterwards.

The table below is the contract for abuse of the /graphql endpoint (transport checks, query
limits, odd input); after every case ``/healthz`` still answers and a real query still runs.
The rest covers the production profile (no introspection, no GraphiQL, no "Did you mean"),
CORS, ETags, the response cache, persisted queries, request ids and error masking.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from starlette.testclient import TestClient

from server import limits
from server.app import create_app
from server.settings import Settings

JSON = {"content-type": "application/json"}
TOY = 'titleScore(title: "Toy Story") { releaseYear }'
COSTLY = ("{ movies(first: 100) { nodes { cast(first: 100) { nodes { actor { "
          "movies(first: 100) { nodes { title } } } } } } } }")
RECOMMEND_N = 'query($n: Int!) { recommendations(title: "Toy Story", n: $n) { score } }'


def _post(payload: Any) -> Callable[[TestClient], Any]:
    return lambda c: c.post("/graphql", json=payload)


def _query(query: str, **extra: Any) -> Callable[[TestClient], Any]:
    return _post({"query": query, **extra})


def _raw(body: bytes | str, headers: dict[str, str] | None = None) -> Callable[[TestClient], Any]:
    return lambda c: c.post("/graphql", content=body, headers=JSON if headers is None else headers)


def _title(title: str, field: str = "titleScore") -> Callable[[TestClient], Any]:
    return _post({"query": f"query($t: String!) {{ {field}(title: $t) {{ title }} }}",
                  "variables": {"t": title}})


def _deep_braces(depth: int) -> str:
    return "{" + "a {" * depth + " b " + "}" * depth + "}"


def _nested_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@dataclass(frozen=True)
class Case:
    send: Callable[[TestClient], Any]
    status: int
    code: str | None  # errors[0].extensions.code, None when the request succeeds
    check: Callable[[Any], None] | None = None  # further assertions on the parsed body


def _cost_is(expected: int) -> Callable[[Any], None]:
    def check(body: Any) -> None:
        assert body["errors"][0]["extensions"]["cost"] == expected
        assert body["extensions"]["cost"] == expected
    return check


def _cost_over_max(body: Any) -> None:
    ext = body["errors"][0]["extensions"]
    assert ext["cost"] > ext["maxCost"] == Settings().max_cost
    assert body["extensions"]["cost"] == ext["cost"]


def _message_has(*parts: str) -> Callable[[Any], None]:
    def check(body: Any) -> None:
        message = body["errors"][0]["message"]
        for part in parts:
            assert part in message
    return check


def _batch_of_two(body: Any) -> None:
    assert isinstance(body, list) and len(body) == 2
    assert body[0]["data"]["buildInfo"]["movies"] > 0
    assert body[1]["data"]["genres"]
    assert all(item["extensions"]["cost"] >= 1 for item in body)


def _no_errors(body: Any) -> None:
    assert "errors" not in body and body["data"]


def _not_echoing_evaluated(body: Any) -> None:
    # The text is only quoted back, never evaluated (a template engine would say 49).
    assert "49" not in body["errors"][0]["message"]


HOSTILE = [
    # --- transport -----------------------------------------------------------------------
    pytest.param(Case(_raw(b'{"query": "{ genres { name } }"'), 400, "BAD_REQUEST"),
                 id="malformed-json"),
    pytest.param(Case(_raw(b'"{ genres { name } }"'), 400, "BAD_REQUEST"), id="json-string"),
    pytest.param(Case(_raw(b"42"), 400, "BAD_REQUEST"), id="json-number"),
    pytest.param(Case(_raw(b"null"), 400, "BAD_REQUEST"), id="json-null"),
    pytest.param(Case(_raw(b""), 400, "BAD_REQUEST"), id="empty-body"),
    pytest.param(Case(_raw(_nested_json(100_000)), 400, "BAD_REQUEST"), id="json-nested-100k"),
    pytest.param(Case(_raw(b'{"query": "\xff\xfe"}'), 400, "BAD_REQUEST"), id="body-not-utf8"),
    pytest.param(Case(_raw("{ genres { name } }", {"content-type": "text/plain"}), 415,
                      "UNSUPPORTED_MEDIA_TYPE"), id="content-type-text-plain"),
    pytest.param(Case(lambda c: c.post("/graphql", data={"query": "{ genres { name } }"}), 415,
                      "UNSUPPORTED_MEDIA_TYPE"), id="content-type-form"),
    pytest.param(Case(_raw(b'{"query": "{ genres { name } }"}', {}), 415,
                      "UNSUPPORTED_MEDIA_TYPE"), id="content-type-missing"),
    pytest.param(Case(lambda c: c.get("/graphql"), 400, "BAD_REQUEST"), id="get-without-query"),
    pytest.param(Case(lambda c: c.get("/graphql", params={"query": "{ genres { name } }",
                                                          "variables": "{"}),
                      400, "BAD_REQUEST"), id="get-variables-not-json"),
    pytest.param(Case(lambda c: c.put("/graphql", json={"query": "{ genres { name } }"}), 405,
                      "METHOD_NOT_ALLOWED"), id="put"),
    pytest.param(Case(lambda c: c.delete("/graphql"), 405, "METHOD_NOT_ALLOWED"), id="delete"),
    pytest.param(Case(lambda c: c.patch("/graphql", json={}), 405, "METHOD_NOT_ALLOWED"),
                 id="patch"),
    pytest.param(Case(_query("{ genres { name } }" + " " * (1 << 20)), 413,
                      "PAYLOAD_TOO_LARGE"), id="query-1mb"),
    pytest.param(Case(_raw(b"{}", {**JSON, "content-length": "99999999999"}), 413,
                      "PAYLOAD_TOO_LARGE"), id="content-length-lie"),
    pytest.param(Case(_post({"query": None}), 400, "BAD_REQUEST"), id="query-null"),
    pytest.param(Case(_post({"query": ""}), 400, "BAD_REQUEST"), id="query-empty-string"),
    pytest.param(Case(_post({"query": 123}), 400, "BAD_REQUEST"), id="query-not-string"),
    pytest.param(Case(_post({}), 400, "BAD_REQUEST"), id="no-query-key"),
    pytest.param(Case(_query("{ genres { name } }", variables="{}"), 400, "BAD_REQUEST"),
                 id="variables-not-object"),
    pytest.param(Case(_query("{ genres { name } }", operationName=["x"]), 400, "BAD_REQUEST"),
                 id="operation-name-not-string"),
    pytest.param(Case(_query("query A { genres { name } }", operationName="Nope"), 400,
                      "BAD_REQUEST", _message_has("Nope")), id="operation-name-unknown"),
    pytest.param(Case(_query("fragment F on Query { genres { name } }"), 400, "BAD_REQUEST",
                      _message_has("operation")), id="only-a-fragment"),
    # --- batches -------------------------------------------------------------------------
    pytest.param(Case(_post([{"query": "{ buildInfo { movies } }"}] * 1000), 400,
                      "BATCH_TOO_LARGE"), id="batch-1000"),
    pytest.param(Case(_post([]), 400, "BATCH_TOO_LARGE"), id="batch-empty"),
    pytest.param(Case(_post([{"query": "{ buildInfo { movies } }"},
                             {"query": "{ genres { name } }"}]), 200, None, _batch_of_two),
                 id="batch-of-2"),
    pytest.param(Case(_post([{"query": "{ buildInfo { movies } }"}, "x"]), 400, "BAD_REQUEST"),
                 id="batch-item-not-object"),
    # --- variables and arguments -----------------------------------------------------------
    pytest.param(Case(_query(RECOMMEND_N, variables={"n": "x"}), 200, "BAD_USER_INPUT",
                      _message_has("$n")), id="variable-wrong-type"),
    pytest.param(Case(_query(RECOMMEND_N), 200, "BAD_USER_INPUT"), id="variable-missing"),
    pytest.param(Case(_query(RECOMMEND_N, variables={"n": 10**30}), 200, "BAD_USER_INPUT"),
                 id="variable-int-beyond-64-bit"),
    pytest.param(Case(_query("query($s: MovieSort) { movies(sort: $s) { totalCount } }",
                             variables={"s": "SIDEWAYS"}), 200, "BAD_USER_INPUT"),
                 id="variable-bad-enum"),
    pytest.param(Case(_query("{ buildInfo { movies } }",
                             variables={f"v{i}": "x" * 10 for i in range(10_000)}), 200, None,
                      _no_errors), id="variables-10k-unused"),
    pytest.param(Case(_query("{ movies(first: 1000000) { totalCount } }"), 200,
                      "QUERY_TOO_COMPLEX", _cost_is(1_000_001)), id="first-10e6"),
    pytest.param(Case(_query("{ movies(first: -1) { totalCount } }"), 200, "BAD_USER_INPUT"),
                 id="first-negative"),
    pytest.param(Case(_query("{ movies(first: 101) { totalCount } }"), 200, "BAD_USER_INPUT"),
                 id="first-over-page-max"),
    pytest.param(Case(_query("{ movies(first: 99999999999999999999) { totalCount } }"), 200,
                      "GRAPHQL_VALIDATION_FAILED"), id="first-beyond-int32"),
    pytest.param(Case(_query('{ recommendations(title: "Toy Story", n: 1000000) { score } }'),
                      200, "QUERY_TOO_COMPLEX", _cost_over_max), id="n-10e6"),
    # Regression: (2**62)**2 nodes once overflowed the JSON encoder into a 500.
    pytest.param(Case(_query("query($a: Int, $b: Int) { movies(first: $a) { nodes { "
                             "cast(first: $b) { nodes { order } } } } }",
                             variables={"a": 2**62, "b": 2**62}), 200, "QUERY_TOO_COMPLEX",
                      _cost_is(limits.COST_CEILING)), id="cost-overflows-64-bit"),
    # --- query shape ---------------------------------------------------------------------
    pytest.param(Case(_query(_deep_braces(10_000)), 200, "GRAPHQL_PARSE_FAILED",
                      _message_has("nested too deeply")), id="nesting-10000"),
    pytest.param(Case(_query("{ movie(id: 862) { " + "collection { movies { " * 8 + "title"
                             + " } }" * 8 + " } }"), 200, "QUERY_TOO_DEEP"), id="depth-17"),
    pytest.param(Case(_query("{ " + " ".join(f"a{i}: genres {{ name }}" for i in range(1000))
                             + " }"), 200, "TOO_MANY_TOKENS"), id="aliases-1000"),
    pytest.param(Case(_query("{ " + " ".join(f"a{i}: __typename" for i in range(100)) + " }"),
                      200, "TOO_MANY_ALIASES"), id="aliases-100"),
    pytest.param(Case(_query("{ genres { name name name } genres { name } buildInfo { movies }"
                             " buildInfo { movies } }"), 200, None, _no_errors),
                 id="duplicated-fields"),
    pytest.param(Case(_query("{ genres { ...A } } fragment A on Genre { name ...B } "
                             "fragment B on Genre { tmdbId ...A }"), 200,
                      "GRAPHQL_VALIDATION_FAILED"), id="circular-fragments"),
    pytest.param(Case(_query("{ genres { name }"), 200, "GRAPHQL_PARSE_FAILED"),
                 id="syntax-error"),
    pytest.param(Case(_query("   "), 200, "GRAPHQL_PARSE_FAILED"), id="query-whitespace"),
    pytest.param(Case(_query("{ nope }"), 200, "GRAPHQL_VALIDATION_FAILED"),
                 id="unknown-field"),
    pytest.param(Case(_query(COSTLY), 200, "QUERY_TOO_COMPLEX", _cost_over_max),
                 id="cost-three-connections-of-100"),
    pytest.param(Case(_query("{ __schema { types { name } } }"), 200, None, _no_errors),
                 id="introspection-in-development"),
    pytest.param(Case(_query("subscription { genres { name } }"), 200,
                      "GRAPHQL_VALIDATION_FAILED"), id="subscription"),
    pytest.param(Case(_query("mutation { genres { name } }"), 200,
                      "GRAPHQL_VALIDATION_FAILED"), id="mutation"),
    # GraphQL over HTTP: a mutation is never run by GET, whatever the schema (405, Allow).
    pytest.param(Case(lambda c: c.get("/graphql", params={"query": "mutation { x }"}), 405,
                      "METHOD_NOT_ALLOWED"), id="get-mutation"),
    pytest.param(Case(_query('{ node(id: "!!!not-base64") { id } }'), 200, "BAD_USER_INPUT"),
                 id="node-bad-global-id"),
    pytest.param(Case(_query('{ node(id: "U3BhY2VzaGlwOjE=") { id } }'), 200, "NOT_FOUND"),
                 id="node-unknown-type"),
    # --- strange text --------------------------------------------------------------------
    pytest.param(Case(_title(""), 200, "BAD_USER_INPUT"), id="title-empty"),
    pytest.param(Case(_title("\u202e\u0000\ufffe\U0010ffff\u200b"), 200, "NOT_FOUND"),
                 id="title-only-invisible-garbage"),
    pytest.param(Case(_title("\u00a0\u3000\t\n"), 200, "BAD_USER_INPUT"),
                 id="title-only-whitespace"),
    # A lone surrogate cannot become a Python str: the JSON decoder rejects it ...
    pytest.param(Case(_raw(b'{"query": "query($t: String!) { titleScore(title: $t) { title } }",'
                           b' "variables": {"t": "\\u202e\\udc80"}}'), 400, "BAD_REQUEST"),
                 id="title-lone-surrogate-json"),
    # ... and the GraphQL lexer rejects it in a string literal.
    pytest.param(Case(_query('{ titleScore(title: "\\udc80") { title } }'), 200,
                      "GRAPHQL_PARSE_FAILED"), id="title-lone-surrogate-literal"),
    pytest.param(Case(_title("Toy \u202eyrotS\u202c \x00\x1b[31m"), 200, "NOT_FOUND"),
                 id="title-rtl-nul-ansi"),
    pytest.param(Case(_title("🎬🍿 שלום עולם 🦄"), 200, "NOT_FOUND"), id="title-emoji-rtl"),
    pytest.param(Case(_title("'; DROP TABLE movies; --"), 200, "NOT_FOUND"),
                 id="title-sql-injection"),
    pytest.param(Case(_title("{{7*7}}${7*7}<%= 7*7 %>"), 200, "NOT_FOUND",
                      _not_echoing_evaluated), id="title-template-injection"),
    pytest.param(Case(_title("<script>alert(1)</script>"), 200, "NOT_FOUND"),
                 id="title-script-tag"),
    pytest.param(Case(_title("x" * 100_000), 200, "BAD_USER_INPUT"), id="title-100k-chars"),
    pytest.param(Case(_post({"query": 'query($q: String!) { searchMovies(query: $q) '
                             '{ score } }', "variables": {"q": "%00../../etc/passwd"}}),
                      200, None), id="search-path-traversal"),
    # --- persisted queries ---------------------------------------------------------------
    pytest.param(Case(_post({"extensions": {"persistedQuery": {
        "version": 1, "sha256Hash": hashlib.sha256(b"never registered").hexdigest()}}}),
        200, "PERSISTED_QUERY_NOT_FOUND"), id="apq-unknown-hash"),
    pytest.param(Case(_post({"query": "{ genres { name } }", "extensions": {"persistedQuery": {
        "version": 1, "sha256Hash": "0" * 64}}}), 400, "BAD_REQUEST"), id="apq-hash-mismatch"),
    pytest.param(Case(_post({"query": "{ genres { name } }",
                             "extensions": {"persistedQuery": "yes"}}), 400, "BAD_REQUEST"),
                 id="apq-malformed"),
    pytest.param(Case(_post({"extensions": {"persistedQuery": {"version": 2,
                                                               "sha256Hash": "0" * 64}}}),
                      400, "BAD_REQUEST"), id="apq-wrong-version"),
]


def _first_code(body: Any) -> str | None:
    if isinstance(body, list):
        return None
    errors = body.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


def _assert_cost_reported(body: Any) -> None:
    """Every executed operation reports extensions.cost (null only when it never ran)."""
    for item in body if isinstance(body, list) else [body]:
        if "data" in item:
            assert "cost" in item["extensions"], item
            if not item.get("errors"):
                assert isinstance(item["extensions"]["cost"], int)


def _still_serving(client: TestClient, tag: str) -> None:
    assert client.get("/healthz").status_code == 200
    alias = "ok_" + re.sub(r"\W", "_", tag)  # a new text each time, so it really executes
    response = client.post("/graphql", json={"query": f"{{ {alias}: {TOY} }}"})
    assert response.status_code == 200
    assert response.json() == {"data": {alias: {"releaseYear": 1995}},
                               "extensions": {"cost": 2}}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_request(client: TestClient, case: Case, request: pytest.FixtureRequest) -> None:
    response = case.send(client)
    assert response.status_code == case.status, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert _first_code(body) == case.code, json.dumps(body)[:500]
    if isinstance(body, dict) and body.get("errors"):
        assert "Traceback" not in response.text
    _assert_cost_reported(body)
    if case.check is not None:
        case.check(body)
    _still_serving(client, request.node.callspec.id)


def test_hostile_table_is_large_enough() -> None:
    assert len(HOSTILE) >= 30
    assert len({p.id for p in HOSTILE}) == len(HOSTILE)


# --- production profile ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def production(settings: Settings, catalog) -> Iterator[TestClient]:
    prod = replace(Settings.for_profile("production"), data=settings.data)
    assert (prod.graphiql, prod.introspection, prod.field_suggestions) == (False, False, False)
    with TestClient(create_app(prod, catalog)) as test_client:
        yield test_client


@pytest.mark.parametrize("query", ["{ __schema { types { name } } }",
                                   '{ __type(name: "Movie") { fields { name } } }',
                                   "{ movie(id: 862) { title } __schema { queryType { name } } }"])
def test_production_rejects_introspection(production: TestClient, query: str) -> None:
    response = production.post("/graphql", json={"query": query})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert _first_code(body) == "GRAPHQL_VALIDATION_FAILED"


def test_production_has_no_graphiql(production: TestClient) -> None:
    response = production.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert "<html" not in response.text.lower()
    assert _first_code(response.json()) == "NOT_FOUND"


def test_production_still_answers(production: TestClient) -> None:
    response = production.post("/graphql", json={"query": f"{{ {TOY} __typename }}"})
    assert response.json()["data"] == {"titleScore": {"releaseYear": 1995},
                                       "__typename": "Query"}


TYPOS = [
    pytest.param({"query": "{ movi { title } }"}, id="field"),
    pytest.param({"query": "{ genres { nam } }"}, id="nested-field"),
    pytest.param({"query": "{ movies(sort: POPULARIT) { totalCount } }"}, id="enum-value"),
    pytest.param({"query": "{ movie(idd: 862) { title } }"}, id="argument"),
    pytest.param({"query": "query($f: MovieFiltr) { movies(filter: $f) { totalCount } }"},
                 id="type-name"),
    pytest.param({"query": "{ movies(filter: { yearFrm: 1990 }) { totalCount } }"},
                 id="input-field"),
    pytest.param({"query": '{ node(id: "x") { ... on Movi { title } } }'}, id="fragment-type"),
    pytest.param({"query": "query($s: MovieSort) { movies(sort: $s) { totalCount } }",
                  "variables": {"s": "POPULARIT"}}, id="enum-variable"),
    pytest.param({"query": "query($f: MovieFilter) { movies(filter: $f) { totalCount } }",
                  "variables": {"f": {"yearFrm": 1990}}}, id="input-field-variable"),
]


@pytest.mark.parametrize("payload", TYPOS)
def test_production_never_suggests(production: TestClient, client: TestClient,
                                   payload: dict[str, Any]) -> None:
    # Development helps with a suggestion (so the probe is a real one) ...
    assert "Did you mean" in client.post("/graphql", json=payload).text
    # ... production must not: suggestions spell out the schema introspection hides.
    response = production.post("/graphql", json=payload)
    body = response.json()
    assert body["errors"], body
    assert "did you mean" not in response.text.lower()
    assert _first_code(body) in ("GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT")


# --- CORS, ETag, cache, persisted queries, request ids, masking ------------------------------

ALLOWED = "https://app.example.com"


@pytest.fixture(scope="module")
def cors_client(settings: Settings, catalog) -> Iterator[TestClient]:
    with TestClient(create_app(replace(settings, cors_origins=(ALLOWED,)), catalog)) as c:
        yield c


def _preflight(client: TestClient, origin: str) -> Any:
    return client.options("/graphql", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})


def test_cors_preflight_from_allowed_origin(cors_client: TestClient) -> None:
    response = _preflight(cors_client, ALLOWED)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in response.headers["access-control-allow-methods"]
    simple = cors_client.post("/graphql", json={"query": f"{{ {TOY} }}"},
                              headers={"Origin": ALLOWED})
    assert simple.headers["access-control-allow-origin"] == ALLOWED


def test_cors_preflight_from_other_origin(cors_client: TestClient) -> None:
    response = _preflight(cors_client, "https://evil.example.net")
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    simple = cors_client.post("/graphql", json={"query": f"{{ {TOY} }}"},
                              headers={"Origin": "https://evil.example.net"})
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers


def test_no_cors_headers_without_configured_origins(client: TestClient) -> None:
    response = client.post("/graphql", json={"query": f"{{ {TOY} }}"},
                           headers={"Origin": ALLOWED})
    assert "access-control-allow-origin" not in response.headers


def test_etag_and_not_modified(client: TestClient) -> None:
    params = {"query": "query EtagProbe { genres { name } }"}
    first = client.get("/graphql", params=params)
    second = client.get("/graphql", params=params)
    assert first.status_code == second.status_code == 200
    assert first.headers["etag"] == second.headers["etag"]
    assert first.content == second.content
    assert "max-age" in first.headers["cache-control"]
    cached = client.get("/graphql", params=params,
                        headers={"If-None-Match": first.headers["etag"]})
    assert cached.status_code == 304
    assert cached.content == b""
    stale = client.get("/graphql", params=params, headers={"If-None-Match": '"not-it"'})
    assert stale.status_code == 200


def _metric(client: TestClient, name: str, labels: str) -> float:
    text = client.get("/metrics").text
    match = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def test_second_identical_query_is_served_from_cache(cached_client: TestClient) -> None:
    client = cached_client
    payload = {"query": "query CacheProbe($t: String!) { titleScore(title: $t) { popularity } }",
               "variables": {"t": "Jumanji"}}
    hits = _metric(client, "movies_graphql_cache_total", 'result="hit"')
    misses = _metric(client, "movies_graphql_cache_total", 'result="miss"')
    first = client.post("/graphql", json=payload)
    assert _metric(client, "movies_graphql_cache_total", 'result="miss"') == misses + 1
    second = client.post("/graphql", json=payload)
    assert _metric(client, "movies_graphql_cache_total", 'result="hit"') == hits + 1
    assert first.content == second.content
    assert second.json()["extensions"]["cost"] == 2
    # Other variables are another request, not a hit.
    client.post("/graphql", json={**payload, "variables": {"t": "Heat"}})
    assert _metric(client, "movies_graphql_cache_total", 'result="hit"') == hits + 1


def test_apq_register_then_hash_only(client: TestClient) -> None:
    query = "query ApqProbe { titleVotes(title: \"Toy Story\") { voteCount } }"
    ext = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(query.encode())
                              .hexdigest()}}
    miss = client.post("/graphql", json={"extensions": ext})
    assert miss.status_code == 200
    assert _first_code(miss.json()) == "PERSISTED_QUERY_NOT_FOUND"
    registered = client.post("/graphql", json={"query": query, "extensions": ext})
    assert registered.json()["data"]["titleVotes"]["voteCount"] > 2000
    by_hash = client.post("/graphql", json={"extensions": ext})
    assert by_hash.json() == registered.json()
    upper = {"persistedQuery": {**ext["persistedQuery"],
                                "sha256Hash": ext["persistedQuery"]["sha256Hash"].upper()}}
    assert client.post("/graphql", json={"extensions": upper}).json() == registered.json()
    via_get = client.get("/graphql", params={"extensions": json.dumps(ext)})
    assert via_get.json() == registered.json()
    assert via_get.headers["etag"]


def test_request_id_is_echoed(client: TestClient) -> None:
    response = client.post("/graphql", json={"query": f"{{ {TOY} }}"},
                           headers={"X-Request-ID": "hostile-req-42"})
    assert response.headers["x-request-id"] == "hostile-req-42"
    rejected = client.put("/graphql", headers={"X-Request-ID": "rejected-req-7"})
    assert rejected.status_code == 405
    assert rejected.headers["x-request-id"] == "rejected-req-7"
    generated = client.post("/graphql", json={"query": f"{{ {TOY} }}"})
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    long = client.post("/graphql", json={"query": f"{{ {TOY} }}"},
                       headers={"X-Request-ID": "r" * 500})
    assert long.headers["x-request-id"] == "r" * 64


def test_internal_error_is_masked(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from data import lookups

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ZeroDivisionError("leaked: /srv/secret.key password=hunter2")

    monkeypatch.setattr(lookups, "releases_on_weekday", broken)
    query = 'query HostileMasked { releasesOnWeekday(day: "viernes") { count } }'
    response = client.post("/graphql", json={"query": query})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert error["message"] == "Internal server error"
    for leak in ("hunter2", "secret.key", "ZeroDivisionError", "leaked", "Traceback"):
        assert leak not in response.text
    monkeypatch.undo()
    again = client.post("/graphql", json={"query": query}).json()
    assert again["data"]["releasesOnWeekday"]["count"] > 0  # the failure was not cached
