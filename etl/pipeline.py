"""The ETL run: read -> transform -> validate -> write -> publish, with a reconciled summary."""

from __future__ import annotations

import hashlib
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from data.build import IMAGE_DIR
from data.contract import CONTRACT_VERSION
from data.paths import DEFAULT_BUILD
from etl import publish as pub
from etl.extract import read_raw
from etl.inputs import Inputs
from etl.serving import write_image
from etl.transform import build_credits, build_keywords, build_movies

Step = Callable[[str], Any]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _timed(step: Step, name: str, timings: dict[str, float]) -> Iterator[None]:
    step(name)
    start = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - start, 3)


def run(
    inputs: Inputs,
    out: Path = DEFAULT_BUILD,
    step: Step = lambda _name: None,
    fit_index: Callable[[dict[str, pl.DataFrame], Path], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Build the warehouse from ``inputs`` and publish it at ``out``; returns the manifest.

    Raises ``extract.InputError`` for unusable inputs and ``publish.ValidationFailed`` when
    the tables break the contract; in both cases nothing at ``out`` changes.
    """
    # One run per output, decided before any work: a second run fails at once.
    pub.acquire(out)
    try:
        return _run(inputs, out, step, fit_index)
    finally:
        pub.release(out)


def _run(
    inputs: Inputs,
    out: Path,
    step: Step,
    fit_index: Callable[[dict[str, pl.DataFrame], Path], dict[str, Any]] | None,
) -> dict[str, Any]:
    started = time.perf_counter()
    timings: dict[str, float] = {}
    files = {"movies": inputs.movies, "credits": inputs.credits}
    if inputs.keywords is not None:
        files["keywords"] = inputs.keywords
    with _timed(step, "read movies", timings):
        raw_movies = read_raw(inputs.movies, "movies")
    with _timed(step, "read credits", timings):
        raw_credits = read_raw(inputs.credits, "credits")
    raw_keywords = None
    if inputs.keywords is not None:
        with _timed(step, "read keywords", timings):
            raw_keywords = read_raw(inputs.keywords, "keywords")

    with _timed(step, "transform movies", timings):
        movies = build_movies(raw_movies)
    movie_ids = movies.tables["movies"]["id"]
    with _timed(step, "transform credits", timings):
        credits = build_credits(raw_credits, movie_ids)
    built = [movies, credits]
    if raw_keywords is not None:
        with _timed(step, "transform keywords", timings):
            built.append(build_keywords(raw_keywords, movie_ids))

    tables: dict[str, pl.DataFrame] = {}
    notes: dict[str, int] = {}
    for part in built:
        tables.update(part.tables)
        notes.update(part.notes)
    tables["rejects"] = pl.concat([part.rejects for part in built])

    with _timed(step, "validate", timings):
        tables = pub.validate(tables)

    summary = reconcile(
        {"movies": raw_movies.records, "credits": raw_credits.records}
        | ({"keywords": raw_keywords.records} if raw_keywords is not None else {}),
        {"movies": movies, "credits": credits}
        | ({"keywords": built[2]} if raw_keywords is not None else {}),
        tables["rejects"],
    )
    version = pub.new_version(out)
    try:
        with _timed(step, "write parquet", timings):
            pub.write_tables(tables, version)
        with _timed(step, "write serving image", timings):
            image_info = write_image(tables, version / IMAGE_DIR)
        index_info: dict[str, Any] = {}
        if fit_index is not None:
            with _timed(step, "fit recommender", timings):
                index_info = fit_index(tables, version)
        with _timed(step, "checksum inputs", timings):
            inputs_meta = {
                kind: {"path": str(path), "sha256": sha256(path), "bytes": path.stat().st_size,
                       "mtime": path.stat().st_mtime}
                for kind, path in files.items()
            }
        manifest = {
            "contract_version": CONTRACT_VERSION,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "inputs": inputs_meta,
            "summary": summary,
            "tables": {name: frame.height for name, frame in tables.items()},
            "dropped_entries": notes,
            "serving_image": image_info,
            "recommender": index_info,
            "timings_s": timings,
            "duration_s": round(time.perf_counter() - started, 3),
            "python": platform.python_version(),
            "polars": pl.__version__,
        }
        pub.write_manifest(manifest, version)
        step("publish")
        pub.publish(version, out)
    except BaseException:
        pub.discard(version)
        raise
    return manifest


def reconcile(
    records: dict[str, int], built: dict[str, Any], rejects: pl.DataFrame
) -> dict[str, dict[str, Any]]:
    """Per file: records in = kept + rejected, with rejects by reason. Fails loudly if not."""
    summary: dict[str, dict[str, Any]] = {}
    for file, count in records.items():
        mine = rejects.filter(pl.col("file") == file)
        by_reason = dict(mine.group_by("reason").len().sort("reason").iter_rows())
        rejected = mine.height
        kept = built[file].kept
        if kept + rejected != count:
            raise AssertionError(f"{file}: {count} records != {kept} kept + {rejected} rejected")
        summary[file] = {"in": count, "kept": kept, "rejected": rejected, "by_reason": by_reason}
    return summary
