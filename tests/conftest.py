"""Shared fixtures: one ETL build of the embedded real sample per test session.

Tests that need the warehouse, the catalog or the HTTP app use these instead of building their
own, so the suite pays for the ETL (and the recommender fit) once.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from data.catalog import Catalog
from etl.pipeline import default_inputs, run
from etl.vectorize import fit_index
from server.settings import Settings

# Starlette's TestClient warns about httpx on every import; it is not ours to fix.
warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)


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
    return Settings(data=sample_build, log_json=True)


@pytest.fixture(scope="session")
def client(settings: Settings, catalog: Catalog) -> Iterator[object]:
    """A Starlette TestClient over the real app and the sample catalog (development profile)."""
    from starlette.testclient import TestClient

    from server.app import create_app

    with TestClient(create_app(settings, catalog)) as test_client:
        yield test_client
