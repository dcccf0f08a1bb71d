"""The catalog's compact column structures give back exactly what they were built from."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from data.catalog import Catalog, Codes


@given(st.lists(st.text(max_size=8), min_size=1, max_size=60))
def test_codes_round_trip(values: list[str]) -> None:
    codes = Codes.of(pl.Series(values, dtype=pl.String))
    assert [codes[i] for i in range(len(values))] == values
    assert len(codes.values) == len(set(values))  # one entry per distinct value


def test_codes_of_the_crew_column(catalog: Catalog) -> None:
    assert catalog.crew_job.values == sorted(catalog.crew_job.values)
    assert "Director" in catalog.crew_job.values
