"""Validate the built tables against the contract and publish them atomically.

A build is written into a fresh versions directory next to the output path and only then
made current by atomically replacing the output symlink, so a run that fails or is killed at
any point leaves the previous build exactly as it was.

One run at a time per output: ``new_version`` takes an exclusive lock (``flock``) on
``.<out>.lock`` next to the versions directory and ``publish`` / ``discard`` release it. A
second run on the same output does not wait: it fails at once with ``BuildLocked`` naming
the holder's pid, so two runs can never both publish and silently overwrite each other. The
kernel drops the lock of a killed run, so whoever takes it next knows every temporary build
in the versions directory is abandoned, and removes them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import dataframely as dy
import orjson
import polars as pl

from data.contract import FOREIGN_KEYS, TABLES

KEEP_BUILDS = 2


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


def lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.lock"


class BuildLocked(FileExistsError):
    """Another run holds the output's lock (a FileExistsError, so callers that report a
    build link in the way report this the same way: one line, exit code 2)."""


# Lock files this process holds -> their descriptors.
_held: dict[Path, int] = {}


def acquire(out: Path) -> None:
    """Take the output's lock (no-op if this process has it), or raise ``BuildLocked`` at
    once if another run has it."""
    path = lock_path(out).absolute()
    if path in _held:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise BuildLocked(
            f"another ETL run (pid {holder}) is building {out}; wait for it to finish, "
            "or pass another --out") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _held[path] = fd


def release(out: Path) -> None:
    fd = _held.pop(lock_path(out).absolute(), None)
    if fd is not None:
        os.close(fd)  # closing the descriptor drops the flock


def _out_of(version: Path) -> Path:
    """The output a version directory (``.<out>-versions/<name>``) belongs to."""
    return version.parent.parent / version.parent.name.removeprefix(".").removesuffix(
        "-versions")


def new_version(out: Path) -> Path:
    """A fresh temporary build directory; takes the output's lock until ``publish`` or
    ``discard``, and removes the temporary builds of runs that died holding it."""
    acquire(out)
    try:
        remove_abandoned(out)
        # Microseconds, so that names sort in build order (prune keeps the newest by name).
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = versions_dir(out) / f"{stamp}-{uuid.uuid4().hex[:8]}.tmp"
        path.mkdir(parents=True)
    except BaseException:
        release(out)
        raise
    return path


def remove_abandoned(out: Path) -> None:
    """With the lock held, every temporary build is a dead run's (only a lock holder
    makes one): remove them all, however recent."""
    root = versions_dir(out)
    if lock_path(out).absolute() not in _held or not root.is_dir():
        return
    for path in root.iterdir():
        if path.suffix == ".tmp":
            shutil.rmtree(path, ignore_errors=True)


def write_tables(tables: Mapping[str, pl.DataFrame], directory: Path) -> None:
    for name, frame in tables.items():
        frame.write_parquet(directory / f"{name}.parquet", compression="zstd")


def write_manifest(manifest: Mapping[str, object], directory: Path) -> None:
    (directory / "manifest.json").write_bytes(
        orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    )


def publish(version: Path, out: Path) -> Path:
    """Make ``version`` the current build at ``out`` with one atomic rename, then release
    the lock ``new_version`` took (taken here too when a build is published without it)."""
    acquire(out)
    try:
        if out.exists() and not out.is_symlink():
            raise FileExistsError(f"{out} exists and is not a build link; move it away first")
        final = version.with_suffix("")
        version.rename(final)
        link = out.parent / f".{out.name}.link-{uuid.uuid4().hex[:8]}"
        link.symlink_to(os.path.relpath(final, out.parent))
        os.replace(link, out)
        prune(out)
    finally:
        release(out)
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
    # A killed run leaves its temporary build behind: removed by whoever holds the lock next.
    remove_abandoned(out)


def discard(version: Path) -> None:
    """Remove a failed run's temporary build and release the output's lock."""
    shutil.rmtree(version, ignore_errors=True)
    release(_out_of(version))
