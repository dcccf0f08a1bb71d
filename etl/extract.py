"""Reading the raw CSV files with exact row accounting.

The stdlib csv reader is used rather than Polars' because Polars pads short rows with nulls
and cannot say which record was ragged; here every record is kept with its number, and a
record with the wrong number of fields is set aside for the rejects table.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

csv.field_size_limit(sys.maxsize)

# Columns each raw file must have; others are ignored.
REQUIRED = {
    "movies": (
        "belongs_to_collection", "budget", "genres", "id", "original_language", "overview",
        "popularity", "production_companies", "production_countries", "release_date",
        "revenue", "runtime", "spoken_languages", "status", "tagline", "title",
        "vote_average", "vote_count",
    ),
    "credits": ("cast", "crew", "id"),
    "keywords": ("id", "keywords"),
}
# Columns kept when a file has them (the API serves them; older copies may lack them).
OPTIONAL = {"movies": ("original_title", "poster_path"), "credits": (), "keywords": ()}


class InputError(Exception):
    """A raw input file that cannot be used at all (missing, not CSV, wrong columns, empty)."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass
class RawTable:
    """One raw file: all cells as strings, plus the records that had the wrong field count."""

    path: Path
    frame: pl.DataFrame  # column "record" (1-based) + the file's columns, all String
    ragged: list[tuple[int, str, str]] = field(default_factory=list)  # (record, raw id, detail)

    @property
    def records(self) -> int:
        return self.frame.height + len(self.ragged)


def _open_text(path: Path) -> io.TextIOBase:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open("r", encoding="utf-8-sig", newline="")


def read_raw(path: Path, kind: str) -> RawTable:
    """Read ``path`` (``.csv`` or ``.csv.gz``) as raw file ``kind`` (movies/credits/keywords)."""
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        with _open_text(path) as handle:
            reader = csv.reader(handle, strict=True)
            header = next(reader, None)
            if header is None:
                raise InputError(path, "file is empty")
            header = [name.strip() for name in header]
            missing = [name for name in REQUIRED[kind] if name not in header]
            if missing:
                raise InputError(
                    path, f"not a {kind} file: missing columns {', '.join(missing)}"
                )
            width = len(header)
            id_at = header.index("id")
            columns: list[list[str]] = [[] for _ in range(width)]
            numbers: list[int] = []
            ragged: list[tuple[int, str, str]] = []
            for number, row in enumerate(reader, start=1):
                if len(row) != width:
                    raw_id = row[id_at] if id_at < len(row) else ""
                    ragged.append((number, raw_id, f"{len(row)} fields, expected {width}"))
                    continue
                numbers.append(number)
                for column, value in zip(columns, row, strict=True):
                    column.append(value)
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except (csv.Error, gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise InputError(path, f"not a readable CSV file ({exc})") from exc
    if not numbers and not ragged:
        raise InputError(path, "file has a header but no rows")
    data: dict[str, pl.Series] = {"record": pl.Series(numbers, dtype=pl.Int64)}
    for name, values in zip(header, columns, strict=True):
        if (name in REQUIRED[kind] or name in OPTIONAL[kind]) and name not in data:
            # Empty cells are missing values in the raw files (pandas wrote NaN as "").
            data[name] = pl.Series(values, dtype=pl.String).replace("", None)
    return RawTable(path=path, frame=pl.DataFrame(data), ragged=ragged)
