"""The HTTP layer: media-type negotiation and the spec's status rules, GET rules, execution
off the event loop (deadline, hard stop, bounded admission), memory-bounded caches, bounded
metric labels, security headers, production surface and connection guards.

Timing tests run a real uvicorn server in a thread over the sample catalog and make a query
slow deterministically (a data function that sleeps), never by relying on machine speed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from data import deadline, lookups
from server import endpoint
from server.app import create_app, per_thread
from server.cache import Answer, PersistedQueries, ResponseCache
from server.endpoint import GRAPHQL_RESPONSE_JSON, negotiate
from server.observability import OTHER_OPERATION
from server.settings import Settings
from server.transport import uvicorn_options

SPEC = {"accept": GRAPHQL_RESPONSE_JSON}
MONTH = 'query Month{n} {{ releasesInMonth(month: "marzo") {{ count }} }}'


def _spec_post(client: TestClient, payload: dict[str, Any]) -> httpx.Response:
    return client.post("/graphql", json=payload, headers=SPEC)


# --- negotiation and the spec's status codes --------------------------------------------------


@pytest.mark.parametrize(("accept", "chosen"), [
    (None, "application/json"),
    ("", "application/json"),
    ("*/*", "application/json"),
    ("application/*", "application/json"),
    ("application/json", "application/json"),
    (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
    (f"{GRAPHQL_RESPONSE_JSON},application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
    (f"application/json, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
    (f"{GRAPHQL_RESPONSE_JSON};q=0.5, application/json", "application/json"),
    (f"{GRAPHQL_RESPONSE_JSON};q=0, */*", "application/json"),
    ("text/html,application/xhtml+xml,*/*;q=0.8", "application/json"),
    ("application/json;q=0", None),
    ("text/plain", None),
    ("application/json;q=x", None),
])
def test_negotiate(accept: str | None, chosen: str | None) -> None:
    assert negotiate(accept) == chosen


def test_not_acceptable(client: TestClient) -> None:
    response = client.post("/graphql", json={"query": "{ __typename }"},
                           headers={"accept": "text/plain"})
    assert response.status_code == 406
    assert response.json()["errors"][0]["extensions"]["code"] == endpoint.NOT_ACCEPTABLE


@pytest.mark.parametrize(("payload", "code"), [
    pytest.param({"query": "{ genres { name }"}, "GRAPHQL_PARSE_FAILED", id="parse"),
    pytest.param({"query": "{ nope }"}, "GRAPHQL_VALIDATION_FAILED", id="validation"),
    pytest.param({"query": "query($n: Int!) { recommendations(title: \"Toy Story\", n: $n) "
                           "{ score } }", "variables": {"n": "x"}}, "BAD_USER_INPUT",
                 id="variable-coercion"),
    pytest.param({"query": "{ movies(first: 1000000) { totalCount } }"}, "QUERY_TOO_COMPLEX",
                 id="cost"),
])
def test_request_errors_are_400_without_data(client: TestClient, payload: dict[str, Any],
                                             code: str) -> None:
    spec = _spec_post(client, payload)
    assert spec.status_code == 400
    assert spec.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    body = spec.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == code
    # application/json clients see what they always did: 200 and "data": null.
    legacy = client.post("/graphql", json=payload, headers={"accept": "application/json"})
    assert legacy.status_code == 200
    assert legacy.headers["content-type"].startswith("application/json")
    assert legacy.json()["data"] is None
    assert legacy.json()["errors"] == body["errors"]


def test_success_and_field_errors_are_200(client: TestClient) -> None:
    ok = _spec_post(client, {"query": "{ movie(id: 862) { title } }"})
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    assert ok.json()["data"] == {"movie": {"title": "Toy Story"}}
    # A field error that nulls the whole data is still a response with data: 200.
    missing = _spec_post(client, {"query": "{ movie(id: 1) { title } }"})
    assert missing.status_code == 200
    body = missing.json()
    assert body["data"] is None and body["errors"][0]["path"] == ["movie"]
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_unknown_persisted_query_is_404_under_the_spec(client: TestClient) -> None:
    ext = {"persistedQuery": {"version": 1,
                              "sha256Hash": hashlib.sha256(b"never sent").hexdigest()}}
    spec = _spec_post(client, {"extensions": ext})
    assert spec.status_code == 404
    assert spec.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert client.post("/graphql", json={"extensions": ext}).status_code == 200


def test_get_mutation_is_405_with_allow(client: TestClient) -> None:
    for headers in (SPEC, {"accept": "application/json"}):
        response = client.get("/graphql", params={"query": "mutation { __typename }"},
                              headers=headers)
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert response.headers["cache-control"] == "no-store"
        assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    # Over POST the same document is only a validation error (the schema has no mutations).
    post = client.post("/graphql", json={"query": "mutation { __typename }"})
    assert post.status_code == 200
    assert post.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_other_methods_say_what_is_allowed(client: TestClient) -> None:
    response = client.put("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


@pytest.mark.parametrize("content_type", ["application/json; charset=latin-1", "text/plain",
                                          "application/x-www-form-urlencoded"])
def test_unsupported_content_types(client: TestClient, content_type: str) -> None:
    response = client.post("/graphql", content=b'{"query": "{ __typename }"}',
                           headers={"content-type": content_type})
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_utf8_charset_is_accepted(client: TestClient) -> None:
    response = client.post("/graphql", content=b'{"query": "{ __typename }"}',
                           headers={"content-type": "application/json; charset=UTF-8"})
    assert response.json() == {"data": {"__typename": "Query"}, "extensions": {"cost": 1}}


def test_several_operations_need_an_operation_name(client: TestClient) -> None:
    query = "query A { buildInfo { movies } } query B { genres { name } }"
    for accept in (SPEC, {"accept": "application/json"}):
        response = client.post("/graphql", json={"query": query}, headers=accept)
        assert response.status_code == 400
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_REQUEST"
        assert "operationName" in error["message"]
    chosen = client.post("/graphql", json={"query": query, "operationName": "B"}).json()
    assert chosen["data"]["genres"] and "buildInfo" not in chosen["data"]


@pytest.mark.parametrize("depth", [300, 1000])
def test_deeply_nested_variables_are_a_coded_400(client: TestClient, depth: int) -> None:
    query = "query($f: MovieFilter) { movies(filter: $f) { totalCount } }"
    variables = '{"f": ' + "[" * depth + "1" + "]" * depth + "}"
    body = '{"query": "' + query.replace('"', '\\"') + '", "variables": ' + variables + "}"
    post = client.post("/graphql", content=body, headers={"content-type": "application/json"})
    get = client.get("/graphql", params={"query": query, "variables": variables})
    for response in (post, get):
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert get.headers["cache-control"] == "no-store"


# --- GET caching rules -------------------------------------------------------------------------


def test_get_errors_are_not_stored(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    ext = {"persistedQuery": {"version": 1,
                              "sha256Hash": hashlib.sha256(b"not registered").hexdigest()}}
    apq = client.get("/graphql", params={"extensions": json.dumps(ext)})
    invalid = client.get("/graphql", params={"query": "{ nope }"})

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(lookups, "releases_in_month", broken)
    internal = client.get("/graphql", params={"query": MONTH.format(n="NoStore")})
    monkeypatch.undo()
    codes = []
    for response in (apq, invalid, internal):
        assert response.headers["cache-control"] == "no-store"
        assert "etag" not in response.headers
        codes.append(response.json()["errors"][0]["extensions"]["code"])
    assert codes == ["PERSISTED_QUERY_NOT_FOUND", "GRAPHQL_VALIDATION_FAILED",
                     "INTERNAL_SERVER_ERROR"]
    ok = client.get("/graphql", params={"query": MONTH.format(n="Stored")})
    assert ok.headers["cache-control"].startswith("public, max-age=")
    assert ok.headers["vary"] == "accept"


def test_etag_is_per_media_type(client: TestClient) -> None:
    params = {"query": "query EtagMedia { genres { name } }"}
    legacy = client.get("/graphql", params=params)
    spec = client.get("/graphql", params=params, headers=SPEC)
    assert legacy.content == spec.content
    assert legacy.headers["etag"] != spec.headers["etag"]
    assert spec.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    again = client.get("/graphql", params=params,
                       headers={**SPEC, "if-none-match": f'W/{spec.headers["etag"]}, "x"'})
    assert again.status_code == 304


# --- memory-bounded caches ------------------------------------------------------------------


def _traced(fill: Callable[[], object]) -> tuple[int, object]:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = fill()
        return tracemalloc.get_traced_memory()[0] - before, kept
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("body_bytes", [20, 200, 5000])
def test_response_cache_counts_the_memory_it_holds(body_bytes: int) -> None:
    n = 4000

    def fill() -> ResponseCache:
        cache = ResponseCache(1 << 30, 10**6)
        for i in range(n):
            cache.put(hashlib.blake2b(str(i).encode(), digest_size=16).digest(),
                      Answer(os.urandom(body_bytes)))
        return cache

    traced, cache = _traced(fill)
    assert isinstance(cache, ResponseCache) and len(cache) == n
    # What it says it holds covers what it really holds, and is not wildly more.
    assert traced <= cache.size <= 2 * traced, (traced, cache.size)


def test_response_cache_bound_holds_for_small_bodies() -> None:
    cache = ResponseCache(max_bytes=256 * 1024, max_entries=10**6)
    for i in range(20_000):
        cache.put(i.to_bytes(16, "big"), Answer(b'{"data":{"a":1}}'))
    assert cache.size <= 256 * 1024
    assert len(cache) < 1000  # each small body costs hundreds of bytes, not its length
    by_count = ResponseCache(max_bytes=1 << 30, max_entries=100)
    for i in range(1000):
        by_count.put(i.to_bytes(16, "big"), Answer(b"{}"))
    assert len(by_count) == 100


def test_persisted_queries_are_bounded_in_bytes() -> None:
    store = PersistedQueries(max_entries=10**6, max_bytes=4 * 1024 * 1024)
    big = "query { __typename }" + " " * 200_000
    for i in range(200):
        text = big + f"# {i}"
        store.put(hashlib.sha256(text.encode()).hexdigest(), text)
    assert store.size <= 4 * 1024 * 1024
    assert len(store) <= 20

    def fill() -> PersistedQueries:
        small = PersistedQueries(max_entries=10**6, max_bytes=1 << 30)
        for i in range(3000):
            text = f"query Q{i} {{ __typename }}"
            small.put(hashlib.sha256(text.encode()).hexdigest(), text)
        return small

    traced, small = _traced(fill)
    assert isinstance(small, PersistedQueries)
    assert traced <= small.size <= 2 * traced


# --- metrics, headers, production surface ------------------------------------------------------


@pytest.fixture(scope="module")
def few_labels(settings: Settings, catalog: Any) -> Iterator[TestClient]:
    with TestClient(create_app(replace(settings, metrics_operations=5), catalog)) as c:
        yield c


def test_operation_labels_are_bounded(few_labels: TestClient) -> None:
    names = [f"LabelProbe{i}" for i in range(40)] + ["L" + "o" * 5000]
    for name in names:
        few_labels.post("/graphql", json={"query": f"query {name} {{ __typename }}",
                                          "operationName": name})
    text = few_labels.get("/metrics").text
    # The registry is the process's, shared with other tests' apps: look at this test's names.
    labels = set(re.findall(r'movies_graphql_requests_total\{operation="([^"]*)"', text))
    assert len({label for label in labels if label.startswith("LabelProbe")}) <= 5
    assert OTHER_OPERATION in labels
    assert not any(len(label) > 64 for label in labels)


@pytest.fixture(scope="module")
def production(settings: Settings, catalog: Any) -> Iterator[TestClient]:
    prod = replace(Settings.for_profile("production"), data=settings.data)
    with TestClient(create_app(prod, catalog)) as c:
        yield c


def test_production_keeps_metrics_and_graphiql_assets_private(production: TestClient,
                                                             client: TestClient) -> None:
    assert production.get("/metrics").status_code == 404
    assert client.get("/metrics").status_code == 200
    asset = "/static/graphiql/graphiql.min.js"
    assert client.get(asset).status_code == 200
    assert production.get(asset).status_code == 404
    assert production.get("/static/graphiql/index.html").status_code == 404
    assert production.get("/static/app.js").status_code == 200  # the demo page still works


def test_security_headers(client: TestClient) -> None:
    answers = {
        "page": client.get("/"),
        "graphiql": client.get("/graphql", headers={"accept": "text/html"}),
        "json": client.post("/graphql", json={"query": "{ __typename }"}),
        "error": client.put("/graphql"),
    }
    for name, response in answers.items():
        assert response.headers["x-content-type-options"] == "nosniff", name
        assert response.headers["referrer-policy"] == "no-referrer", name
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], name
    assert answers["json"].headers["content-security-policy"].startswith("default-src 'none'")
    csp = answers["graphiql"].headers["content-security-policy"]
    # GraphiQL's page configures itself in one inline script: allowed by its hash only.
    inline = re.search(r"<script>(.*?)</script>", answers["graphiql"].text, re.S)
    assert inline is not None
    import base64
    digest = base64.b64encode(hashlib.sha256(inline.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]


# --- execution off the event loop ------------------------------------------------------------


class Server:
    """A real uvicorn server in a thread on a free 127.0.0.1 port, with the connection
    guards `movies serve` uses."""

    def __init__(self, settings: Settings, catalog: Any) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(settings, catalog), log_level="warning",
                                lifespan="on", **uvicorn_options(settings))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        stop = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < stop, "server did not start"
            time.sleep(0.02)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def serve(settings: Settings, catalog: Any) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(**changes: Any) -> Server:
        server = Server(replace(settings, **{"cache_bytes": 0, **changes}), catalog)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _slow_month(monkeypatch: pytest.MonkeyPatch, seconds: float,
                then: Callable[[], None] = lambda: None) -> threading.Event:
    """Make releasesInMonth sleep ``seconds``; the event is set once a query is sleeping."""
    real = lookups.releases_in_month
    running = threading.Event()

    def slow(*args: Any, **kwargs: Any) -> Any:
        running.set()
        time.sleep(seconds)
        then()
        return real(*args, **kwargs)

    monkeypatch.setattr(lookups, "releases_in_month", slow)
    return running


def test_health_answers_while_a_slow_query_runs(serve: Callable[..., Server],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    running = _slow_month(monkeypatch, 4.0)
    server = serve(timeout_s=30.0)
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(httpx.post, server.url + "/graphql",
                           json={"query": MONTH.format(n="Slow")}, timeout=30)
        timings = []
        # One client made beforehand: building one per request costs more than the probe.
        with httpx.Client(base_url=server.url, timeout=5) as probe:
            probe.get("/healthz")
            # Probed while the query runs in its thread, not while this process (client
            # and server alike) is still setting the request up.
            assert running.wait(10)
            for path in ("/healthz", "/readyz", "/metrics", "/healthz"):
                started = time.perf_counter()
                response = probe.get(path)
                timings.append(time.perf_counter() - started)
                assert response.status_code == 200
        assert not slow.done(), "the slow query should still be running"
        assert max(timings) < 0.1, timings
        body = slow.result().json()
    assert body["data"]["releasesInMonth"]["count"] > 0


def test_deadline_reaches_the_execution_thread(serve: Callable[..., Server],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # The resolver checks the deadline after sleeping past it: it can only see the deadline
    # if the request's context went into the thread with it.
    _slow_month(monkeypatch, 0.4, deadline.check)
    server = serve(timeout_s=0.2)
    body = httpx.post(server.url + "/graphql", json={"query": MONTH.format(n="Deadline")},
                      timeout=10).json()
    error = body["errors"][0]
    assert error["extensions"]["code"] == "TIMEOUT"
    assert error["path"] == ["releasesInMonth"]  # raised inside the resolver, cooperatively


def test_hard_stop_answers_timeout_at_the_deadline(serve: Callable[..., Server],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _slow_month(monkeypatch, 3.0)
    server = serve(timeout_s=0.3)
    started = time.perf_counter()
    legacy = httpx.post(server.url + "/graphql", json={"query": MONTH.format(n="Hard1")},
                        timeout=10)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.3 + endpoint.HARD_STOP_GRACE_S + 1.0 < 3.0, elapsed
    assert legacy.status_code == 200
    assert legacy.json()["data"] is None
    assert legacy.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
    spec = httpx.post(server.url + "/graphql", json={"query": MONTH.format(n="Hard2")},
                      headers=SPEC, timeout=10)
    assert spec.status_code == 504
    assert "data" not in spec.json()
    assert spec.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"


def test_saturated_pool_answers_503(serve: Callable[..., Server],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _slow_month(monkeypatch, 1.5)
    server = serve(timeout_s=10.0, exec_threads=1, exec_queue=1)
    with ThreadPoolExecutor(2) as pool:
        running = [pool.submit(httpx.post, server.url + "/graphql",
                               json={"query": MONTH.format(n=f"Busy{i}")}, timeout=20)
                   for i in range(2)]
        time.sleep(0.5)  # one runs, one waits: the pool is full
        busy = httpx.post(server.url + "/graphql", json={"query": MONTH.format(n="Busy9")},
                          timeout=5)
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "1"
        assert busy.json()["errors"][0]["extensions"]["code"] == endpoint.SERVER_BUSY
        assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
        for future in running:
            assert future.result().json()["data"]["releasesInMonth"]["count"] > 0
    after = httpx.post(server.url + "/graphql", json={"query": MONTH.format(n="Busy10")},
                       timeout=20)
    assert after.json()["data"]["releasesInMonth"]["count"] > 0


def test_shared_extensions_get_one_copy_per_thread() -> None:
    from strawberry.extensions import MaxAliasesLimiter

    shared = MaxAliasesLimiter(max_alias_count=3)
    [wrapped, fresh] = per_thread([lambda: shared, lambda: MaxAliasesLimiter(max_alias_count=3)])
    here = wrapped()
    assert here is wrapped() and here is not shared
    assert here.validation_rules == shared.validation_rules  # same rule classes: cache hits
    with ThreadPoolExecutor(1) as pool:
        there = pool.submit(wrapped).result()
    assert there is not here
    assert fresh() is not fresh()


# --- connection guards ---------------------------------------------------------------------


def _read_until_closed(sock: socket.socket, seconds: float) -> tuple[bytes, float]:
    sock.settimeout(seconds)
    started = time.perf_counter()
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        pass
    return data, time.perf_counter() - started


def test_body_shorter_than_content_length_times_out(serve: Callable[..., Server]) -> None:
    server = serve(body_timeout_s=0.5)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"query\":")
        data, elapsed = _read_until_closed(sock, 10)
    assert elapsed < 5
    assert data.startswith(b"HTTP/1.1 408")
    assert b"REQUEST_TIMEOUT" in data


def test_unfinished_headers_are_cut_off(serve: Callable[..., Server],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOVIES_HEADER_TIMEOUT_S", "0.5")
    server = serve()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finished
        data, elapsed = _read_until_closed(sock, 10)
    assert data == b"" and elapsed < 5
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        data, elapsed = _read_until_closed(sock, 10)  # never sends a byte
    assert data == b"" and elapsed < 5
    assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200


def test_connections_per_worker_are_capped(serve: Callable[..., Server]) -> None:
    server = serve(max_connections=3)
    held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)]
    try:
        time.sleep(0.2)
        refused = httpx.get(server.url + "/healthz", timeout=5)
        assert refused.status_code == 503
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.2)
    assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200


def test_settings_reach_uvicorn() -> None:
    options = uvicorn_options(Settings(keep_alive_s=7, max_connections=99))
    assert options == {"http": "server.transport:GuardedHttpToolsProtocol",
                       "timeout_keep_alive": 7, "limit_concurrency": 99,
                       "server_header": False, "ws": "none"}


def test_answers_do_not_name_the_server(serve: Callable[..., Server]) -> None:
    """No "server: uvicorn" header, on a GraphQL answer (a cached one too) or a health check;
    the security headers are on both kinds of answer."""
    server = serve(cache_bytes=Settings().cache_bytes)
    query = {"query": "{ movie(id: 862) { title } }"}
    answers = [httpx.post(server.url + "/graphql", json=query, timeout=5) for _ in range(2)]
    answers.append(httpx.get(server.url + "/healthz", timeout=5))
    for answer in answers:
        assert answer.status_code == 200
        assert "server" not in answer.headers
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "date" in answer.headers
    assert Path(__file__).resolve().parents[1].joinpath("server", "transport.py").is_file()


# --- a started `movies serve`: private metrics, worker deaths ---------------------------------


def test_production_serve_metrics_private_and_worker_death_logged(
        sample_build: Path, tmp_path: Path) -> None:
    import psutil
    from serving import free_port, serve, stop, wait_ready

    port, metrics_port = free_port(), free_port()
    log = tmp_path / "serve.log"
    process = serve(sample_build, port, log, "--workers", "2", "--profile", "production",
                    env={"MOVIES_METRICS_PORT": str(metrics_port)})
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", process)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(base + "/metrics", timeout=5).status_code == 404
        for _ in range(4):
            httpx.post(base + "/graphql", json={"query": "query PrivateProbe { __typename }",
                                                "operationName": "PrivateProbe"}, timeout=10)
        private = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        assert "movies_build_info" in private
        counted = re.findall(r'^movies_graphql_requests_total\{operation="PrivateProbe",'
                             r'status="200"\} (\S+)$', private, re.M)
        assert counted and float(counted[0]) == 4.0  # summed over both workers

        workers = [p for p in psutil.Process(process.pid).children(recursive=True)
                   if "spawn_main" in " ".join(p.cmdline())]
        assert len(workers) == 2, [p.cmdline() for p in workers]
        victim = workers[0].pid
        os.kill(victim, 9)
        # uvicorn's supervisor notices within a second, unless the kill lands during its ping
        # of that worker: then it waits out the ping timeout (120 s, set by `movies serve`).
        stop_at = time.monotonic() + 150
        while f"Child process [{victim}] died" not in log.read_text():
            assert time.monotonic() < stop_at, log.read_text()[-2000:]
            time.sleep(0.2)
        wait_ready(f"http://127.0.0.1:{port}/readyz", process)
    finally:
        stop(process)
