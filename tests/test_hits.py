"""Cache hits answered before routing (server/hits.py): the same answers as the whole way."""

from __future__ import annotations

import json
import re
import time

import pytest
from starlette.testclient import TestClient

from data.catalog import Catalog
from server.endpoint import GRAPHQL_RESPONSE_JSON
from server.settings import Settings


@pytest.mark.parametrize("accept", [None, "application/json", GRAPHQL_RESPONSE_JSON])
@pytest.mark.parametrize("query", [
    '{ movie(id: 862) { title releaseDate } }',
    '{ movie(id: -5) { title } }',  # NOT_FOUND with data: null for the field
    '{ movie(id: 862) { nope } }',  # a request error: no data, its own status for graphql+json
])
def test_a_cache_hit_is_answered_as_the_miss_was(cached_client: TestClient, accept: str | None,
                                                 query: str) -> None:
    """Hits skip routing (server/hits.py); what the client sees is the same: status,
    headers but the request id, and body."""
    headers = {"content-type": "application/json"}
    if accept:
        headers["accept"] = accept
    # A new text each time, so the first request is a miss whatever ran before.
    body = json.dumps({"query": f"{query} # {time.monotonic_ns()}", "operationName": None})
    before = _hits(cached_client)
    miss = cached_client.post("/graphql", content=body, headers=headers)
    hit = cached_client.post("/graphql", content=body, headers=headers)
    assert _hits(cached_client) == before + 1
    assert (hit.status_code, hit.content) == (miss.status_code, miss.content)
    assert {k: v for k, v in hit.headers.items() if k != "x-request-id"} == \
        {k: v for k, v in miss.headers.items() if k != "x-request-id"}
    assert hit.headers["x-request-id"] != miss.headers["x-request-id"]


def _hits(client: TestClient) -> float:
    text = client.get("/metrics").text
    found = re.search(r'^movies_graphql_cache_total\{result="hit"\} ([0-9.e+]+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_what_a_hit_cannot_answer_takes_the_whole_way(cached_client: TestClient) -> None:
    """The body the fast path read is handed on: a batch, a wrong content type or a bad
    JSON body are answered by the endpoint as before, even when the operation is cached."""
    query = '{ movie(id: 862) { title } }'
    cached_client.post("/graphql", json={"query": query})
    batch = cached_client.post("/graphql", json=[{"query": query}])
    assert batch.status_code == 200 and batch.json()[0]["data"]["movie"]["title"] == "Toy Story"
    wrong = cached_client.post("/graphql", content=json.dumps({"query": query}),
                               headers={"content-type": "text/plain"})
    assert wrong.status_code == 415
    broken = cached_client.post("/graphql", content=b'{"query": ',
                                headers={"content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["errors"][0]["extensions"]["code"]


def test_cross_origin_hits_keep_their_cors_headers(settings: Settings, catalog: Catalog) -> None:
    """Hits are answered before the CORS middleware: with allowed origins configured, a
    request that carries an Origin goes the whole way, so a repeated cross-origin query
    still gets Access-Control-Allow-Origin (and a same-origin one is still a fast hit)."""
    from dataclasses import replace

    from server.app import create_app

    cors = replace(settings, cache_bytes=Settings().cache_bytes,
                   cors_origins=("https://front.example",))
    body = json.dumps({"query": f"{{ movie(id: 862) {{ title }} }} # {time.monotonic_ns()}"})
    headers = {"content-type": "application/json", "origin": "https://front.example"}
    with TestClient(create_app(cors, catalog)) as client:
        first = client.post("/graphql", content=body, headers=headers)
        again = client.post("/graphql", content=body, headers=headers)
        assert first.headers["access-control-allow-origin"] == "https://front.example"
        assert again.headers["access-control-allow-origin"] == "https://front.example"
        assert again.content == first.content
        before = _hits(client)
        plain = client.post("/graphql", content=body, headers={"content-type": "application/json"})
        assert plain.content == first.content and _hits(client) == before + 1
        assert plain.headers["content-security-policy"] == first.headers["content-security-policy"]
