"""GraphQL over HTTP as the spec and real clients see it, against a started ``movies serve``.

- The GraphQL Foundation's conformance audit (``graphql-http``'s ``serverAudits``) must report
  every check ok: no warning, no error.
- Apollo Client with its persisted-queries link and ``useGETForHashedQueries``, and
  ``graphql-request``, get the real sample's facts.

Both run in Node from tests/http_audit/ (``npm ci`` there installs the pinned packages; .ci/run
installs Node and npm). Without Node these tests are skipped, saying so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serving import free_port, serve, stop, wait_ready

AUDIT_DIR = Path(__file__).resolve().parent / "http_audit"
NODE = shutil.which("node")
NPM = shutil.which("npm")

pytestmark = pytest.mark.skipif(
    NODE is None or NPM is None,
    reason="node and npm are not installed (.ci/run installs them with apt)",
)


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """The audit's pinned packages, installed by ``npm ci`` when missing or stale."""
    installed = AUDIT_DIR / "node_modules" / ".package-lock.json"
    lock = AUDIT_DIR / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        done = subprocess.run([NPM, "ci", "--no-audit", "--no-fund"], cwd=AUDIT_DIR,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    return AUDIT_DIR / "node_modules"


@pytest.fixture(scope="module")
def server_url(sample_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    port = free_port()
    process = serve(sample_build, port, log)
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", process)
        yield f"http://127.0.0.1:{port}/graphql"
    except RuntimeError as exc:
        raise AssertionError(f"{exc}:\n{log.read_text()[-3000:]}") from None
    finally:
        stop(process)


def node(script: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([NODE, script, url], cwd=AUDIT_DIR, capture_output=True, text=True,
                          timeout=180)


def test_graphql_over_http_audit_is_clean(node_modules: Path, server_url: str) -> None:
    done = node("audit.mjs", server_url)
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    summary = json.loads(lines[-1])
    failures = [line for line in lines[:-1] if not line.startswith("ok")]
    assert summary["warn"] == 0 and summary["error"] == 0, "\n".join(failures)
    assert summary["total"] >= 60 and summary["ok"] == summary["total"], "\n".join(failures)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def clients(node_modules: Path, server_url: str) -> dict[str, Any]:
    done = node("clients.mjs", server_url)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout)


def _toy_story(data: dict[str, Any]) -> None:
    movie = data["movie"]
    assert (movie["tmdbId"], movie["title"], movie["releaseDate"]) == (862, "Toy Story",
                                                                       "1995-10-30")
    first = movie["cast"]["nodes"][0]
    assert (first["order"], first["actor"]["name"]) == (0, "Tom Hanks")


def test_apollo_persisted_queries_over_get(clients: dict[str, Any]) -> None:
    first, second, third = clients["apollo"]
    for run in (first, second, third):
        assert run["error"] is None
        _toy_story(run["data"])
    assert first["data"] == second["data"] == third["data"]
    # First: the hash alone by GET is unknown (404 under the spec's media type, not to be
    # stored), then Apollo registers the query with a POST.
    miss, register = first["wire"]
    assert (miss["method"], miss["urlHasHash"], miss["urlHasQuery"]) == ("GET", True, False)
    assert miss["status"] == 404 and miss["cacheControl"] == "no-store"
    assert miss["contentType"].startswith("application/graphql-response+json")
    assert (register["method"], register["bodyHasQuery"], register["status"]) == ("POST", True,
                                                                                  200)
    # Next: a hashed GET with an ETag, then the same GET revalidated: 304.
    [hashed] = second["wire"]
    assert (hashed["method"], hashed["urlHasHash"], hashed["urlHasQuery"]) == ("GET", True,
                                                                              False)
    assert hashed["status"] == 200 and hashed["etag"]
    assert "max-age" in hashed["cacheControl"]
    [revalidated] = third["wire"]
    assert revalidated["ifNoneMatch"] == hashed["etag"]
    assert revalidated["status"] == 304 and revalidated["etag"] == hashed["etag"]


def test_graphql_request_nested_query_with_variables(clients: dict[str, Any]) -> None:
    result = clients["graphqlRequest"]
    assert result["status"] == 200
    actor = result["data"]["actor"]
    assert actor["name"] == "Tom Hanks"
    films = actor["movies"]["nodes"]
    assert len(films) == min(actor["movies"]["totalCount"], 10) > 0
    for film in films:
        orders = [credit["order"] for credit in film["cast"]["nodes"]]
        assert 0 < len(orders) <= 3 and orders == sorted(orders)
    toy_story = next(film for film in films if film["tmdbId"] == 862)
    assert toy_story["title"] == "Toy Story"
    assert toy_story["cast"]["nodes"][0]["actor"]["name"] == "Tom Hanks"
