"""Shared fixtures: one ETL build of the embedded real sample per test session.

Tests that need the warehouse, the catalog or the HTTP app use these instead of building their
own, so the suite pays for the ETL (and the recommender fit) once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from data.catalog import Catalog
from etl.inputs import default_inputs
from etl.pipeline import run
from etl.vectorize import fit_index
from server.settings import Settings


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A published build of data/sample (with the recommender index); returns the link path."""
    out = tmp_path_factory.mktemp("warehouse") / "build"
    run(default_inputs(), out, fit_index=fit_index)
    return out


@pytest.fixture(scope="session")
def catalog(sample_build: Path) -> Catalog:
    return Catalog.load(sample_build)


@pytest.fixture(scope="session")
def settings(sample_build: Path) -> Settings:
    """Development settings with the response cache off: a test that repeats a query must
    see it computed again, not an earlier body (the cache tests use ``cached_client``)."""
    return Settings(data=sample_build, log_json=True, cache_bytes=0)


def _client(settings: Settings, catalog: Catalog) -> Iterator[object]:
    from starlette.testclient import TestClient

    from server.app import create_app

    with TestClient(create_app(settings, catalog)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def client(settings: Settings, catalog: Catalog) -> Iterator[object]:
    """A Starlette TestClient over the real app and the sample catalog (development profile,
    no response cache)."""
    yield from _client(settings, catalog)


@pytest.fixture(scope="session")
def cached_client(settings: Settings, catalog: Catalog) -> Iterator[object]:
    """The same app with the production-sized response cache on."""
    yield from _client(replace(settings, cache_bytes=Settings().cache_bytes), catalog)
