"""Validate the built tables against the contract and publish them atomically.

A build is written into a fresh versions directory next to the output path and only then
made current by atomically replacing the output symlink, so a run that fails or is killed at
any point leaves the previous build exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import dataframely as dy
import orjson
import polars as pl

from data.contract import FOREIGN_KEYS, TABLES

KEEP_BUILDS = 2
ABANDONED_AFTER_S = 24 * 3600


class ValidationFailed(Exception):
    """The built tables break the contract; nothing was published."""


def validate(tables: Mapping[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Cast every table to its contract schema and check keys, ranges and foreign keys."""
    checked: dict[str, pl.DataFrame] = {}
    problems: list[str] = []
    for name, schema in TABLES.items():
        frame = tables.get(name)
        if frame is None:
            frame = schema.create_empty()
        try:
            checked[name] = schema.validate(frame, cast=True)
        except (dy.exc.ValidationError, dy.exc.SchemaError, pl.exceptions.PolarsError) as exc:
            problems.append(f"{name}: {exc}")
    for fk in FOREIGN_KEYS:
        if fk.table not in checked or fk.parent not in checked:
            continue
        child = checked[fk.table].select(pl.col(fk.column).drop_nulls().unique())
        parent = checked[fk.parent].select(pl.col(fk.parent_column).alias(fk.column))
        dangling = child.join(parent, on=fk.column, how="anti")
        if dangling.height:
            examples = dangling[fk.column].head(5).to_list()
            problems.append(
                f"{fk.table}.{fk.column}: {dangling.height} values not in "
                f"{fk.parent}.{fk.parent_column}, e.g. {examples}"
            )
    if problems:
        raise ValidationFailed("; ".join(problems))
    return checked


def versions_dir(out: Path) -> Path:
    return out.parent / f".{out.name}-versions"


def new_version(out: Path) -> Path:
    # Microseconds, so that names sort in build order (prune keeps the newest by name).
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    path = versions_dir(out) / f"{stamp}-{uuid.uuid4().hex[:8]}.tmp"
    path.mkdir(parents=True)
    return path


def write_tables(tables: Mapping[str, pl.DataFrame], directory: Path) -> None:
    for name, frame in tables.items():
        frame.write_parquet(directory / f"{name}.parquet", compression="zstd")


def write_manifest(manifest: Mapping[str, object], directory: Path) -> None:
    (directory / "manifest.json").write_bytes(
        orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    )


def publish(version: Path, out: Path) -> Path:
    """Make ``version`` the current build at ``out`` with one atomic rename."""
    if out.exists() and not out.is_symlink():
        raise FileExistsError(f"{out} exists and is not a build link; move it away first")
    final = version.with_suffix("")
    version.rename(final)
    link = out.parent / f".{out.name}.link-{uuid.uuid4().hex[:8]}"
    link.symlink_to(os.path.relpath(final, out.parent))
    os.replace(link, out)
    prune(out)
    return final


def prune(out: Path) -> None:
    """Remove abandoned temporary builds and all but the newest published ones."""
    current = out.resolve() if out.exists() else None
    root = versions_dir(out)
    if not root.is_dir():
        return
    entries = sorted(root.iterdir(), key=lambda p: p.name, reverse=True)
    finished = [p for p in entries if p.suffix != ".tmp"]
    for path in finished[KEEP_BUILDS:]:
        if path != current:
            shutil.rmtree(path, ignore_errors=True)
    # A killed run leaves its temporary build behind; one untouched for a day is abandoned.
    for path in entries:
        with contextlib.suppress(FileNotFoundError):  # another run may remove its own
            if path.suffix == ".tmp" and time.time() - path.stat().st_mtime > ABANDONED_AFTER_S:
                shutil.rmtree(path, ignore_errors=True)


def discard(version: Path) -> None:
    shutil.rmtree(version, ignore_errors=True)
