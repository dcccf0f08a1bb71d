"""Where the ETL's inputs are, and whether a build is still what they would make.

Kept apart from the pipeline (and free of Polars) so that ``movies serve`` can decide whether
a build may be served without importing the table library into the server's supervisor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from data.build import IMAGE_DIR, IMAGE_FORMAT, IMAGE_META, BuildError, read_manifest
from data.paths import RAW_DIR, SAMPLE_DIR

RAW_NAMES = {
    "movies": ("movies_dataset.csv", "movies_metadata.csv"),
    "credits": ("credits.csv",),
    "keywords": ("keywords.csv",),
}

@dataclass(frozen=True)
class Inputs:
    movies: Path
    credits: Path
    keywords: Path | None


def find_raw(directory: Path, kind: str) -> Path | None:
    for name in RAW_NAMES[kind]:
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def default_inputs() -> Inputs:
    """The user's full files in data/raw/ when present, else the embedded sample."""
    movies = find_raw(RAW_DIR, "movies")
    credits = find_raw(RAW_DIR, "credits")
    if movies is not None and credits is not None:
        return Inputs(movies, credits, find_raw(RAW_DIR, "keywords"))
    sample_movies = find_raw(SAMPLE_DIR, "movies")
    sample_credits = find_raw(SAMPLE_DIR, "credits")
    assert sample_movies is not None and sample_credits is not None, "sample data missing"
    return Inputs(sample_movies, sample_credits, find_raw(SAMPLE_DIR, "keywords"))


def inputs_changed(manifest: dict[str, Any]) -> str | None:
    """Why the default inputs (data/raw/ or the sample) differ from those of the build, if
    they do: another file, or the same file with another size or time."""
    built = manifest.get("inputs", {})
    for kind, path in vars(default_inputs()).items():
        if path is None:
            continue
        before = built.get(kind, {})
        if before.get("path") != str(path) or before.get("bytes") != path.stat().st_size:
            return f"{kind} is now {path}"
        if path.stat().st_mtime > before.get("mtime", float("inf")):
            return f"{path} changed"
    return None


def build_problem(build: Path, against_defaults: bool) -> str | None:
    """Why the build at ``build`` cannot be served as it is, or None: missing, of another
    contract, without a serving image, or (``against_defaults``) older than the default
    inputs."""
    try:
        manifest = read_manifest(build)
    except BuildError as exc:
        return str(exc)
    meta_path = build / IMAGE_DIR / IMAGE_META
    if not meta_path.is_file():
        return f"{build} has no serving image; run `movies etl` again"
    image_format = orjson.loads(meta_path.read_bytes()).get("format")
    if image_format != IMAGE_FORMAT:
        return (f"{build} has a serving image of format {image_format}, this code reads "
                f"{IMAGE_FORMAT}; run `movies etl` again")
    if against_defaults and (changed := inputs_changed(manifest)):
        return f"the build is older than the data: {changed}"
    return None
