"""A published build: where it is, its manifest, and whether this code can serve it.

Reading a manifest needs no table library, so the server can check a build without importing
Polars; the Parquet tables are read through ``data.warehouse``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from data.contract_version import CONTRACT_VERSION

MANIFEST = "manifest.json"
IMAGE_DIR = "serving"  # the memory-mapped serving image inside a build
INDEX_DIR = "recommender"  # the recommender's arrays inside a build
# The serving image's layout file and format (``data.image`` reads and writes it; defined here
# so a build can be checked without importing NumPy).
IMAGE_META = "image.json"
IMAGE_FORMAT = 2  # 2: image.json records each array's dtype, shape and data offset


class BuildError(Exception):
    """The build directory is missing, stale or does not match the table contract."""


def read_manifest(build: Path) -> dict[str, Any]:
    path = build / MANIFEST
    if not path.is_file():
        raise BuildError(f"no build at {build}; run `movies etl`")
    try:
        manifest: dict[str, Any] = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        raise BuildError(f"{path} is not valid JSON; run `movies etl` again") from None
    if manifest.get("contract_version") != CONTRACT_VERSION:
        raise BuildError(
            f"{build} was built for table contract {manifest.get('contract_version')}, "
            f"this code reads {CONTRACT_VERSION}; run `movies etl` again"
        )
    return manifest


def pin(build: Path) -> Path:
    """The version directory a build link points to now. A server resolves it once at start
    and serves that version until it is restarted or reloaded, so a publish never mixes two
    builds behind one port."""
    return Path(build).resolve()
