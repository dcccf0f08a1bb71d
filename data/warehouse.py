"""Reading the Parquet warehouse of a build, checked against the table contract.

Offline readers (the EDA report, the evaluations, the serving-image writer's tests) use this;
the server reads the memory-mapped serving image instead (``data.catalog``).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from data.build import BuildError, read_manifest
from data.contract import TABLES, polars_schema


def read_table(build: Path, name: str) -> pl.DataFrame:
    path = build / f"{name}.parquet"
    if not path.is_file():
        raise BuildError(f"{path} is missing; run `movies etl`")
    frame = pl.read_parquet(path)
    if frame.schema != polars_schema(name):
        raise BuildError(f"{path} does not match the table contract; run `movies etl` again")
    return frame


def read_tables(build: Path, *, rejects: bool = False) -> dict[str, pl.DataFrame]:
    """Every table of a build whose manifest this code accepts."""
    read_manifest(build)
    return {name: read_table(build, name) for name in TABLES if rejects or name != "rejects"}
