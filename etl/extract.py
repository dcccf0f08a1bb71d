"""Reading the raw CSV files with exact row accounting.

The stdlib csv reader is used rather than Polars' because Polars pads short rows with nulls
and cannot say which record was ragged; here every record is kept with its number, and a
record with the wrong number of fields, bytes that are not UTF-8, broken quoting or a cell
over the cap is set aside, with its line number, for the rejects table: one bad record does
not make the file unreadable.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

# A cell longer than this is refused with its record (the real files' longest, a crew list,
# is ~200 KB). It also bounds a quote that never closes: it cannot swallow the file.
MAX_CELL_CHARS = 1 << 20
csv.field_size_limit(MAX_CELL_CHARS)

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

# Reasons a record cannot be read at all (the ``reason`` column of the rejects table).
NOT_UTF8 = "not_utf8"
BROKEN_QUOTING = "broken_quoting"
CELL_TOO_LARGE = "cell_too_large"
# A file where more than this share of the records cannot be read is not the CSV expected.
MAX_UNREADABLE_SHARE = 0.5

# Bytes that are not UTF-8 decode to lone surrogates with errors="surrogateescape".
_ESCAPED = re.compile("[\udc80-\udcff]")


class InputError(Exception):
    """A raw input file that cannot be used at all (missing, not CSV, wrong columns, empty)."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass
class RawTable:
    """One raw file: all cells as strings, plus the records that could not be used as such.

    ``ragged`` holds (record, raw id, reason, detail); the reason is None for a record with
    the wrong field count (the transform names it), else one of the unreadable reasons.
    """

    path: Path
    frame: pl.DataFrame  # column "record" (1-based) + the file's columns, all String
    ragged: list[tuple[int, str, str | None, str]] = field(default_factory=list)

    @property
    def records(self) -> int:
        return self.frame.height + len(self.ragged)


def _open_text(path: Path) -> io.TextIOBase:
    # surrogateescape: a stray non-UTF-8 byte spoils its record, not the whole file.
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig",
                                errors="surrogateescape", newline="")
    return path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="")


def _bad_bytes(line: str) -> bool:
    return not line.isascii() and _ESCAPED.search(line) is not None


def _printable(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class _Lines:
    """The physical lines csv.reader reads, numbered, with the lines of the record being
    read kept so that a broken record can be set aside and its later lines read again."""

    def __init__(self, handle: io.TextIOBase) -> None:
        self._handle = handle
        self._number = 0
        self._again: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._again:
            item = self._again.popleft()
        else:
            text = self._handle.readline()
            if not text:
                raise StopIteration
            self._number += 1
            item = (self._number, text)
        self.taken.append(item)
        return item[1]

    def next_record(self) -> None:
        self.taken = []

    def read_again(self, lines: list[tuple[int, str]]) -> None:
        self._again.extendleft(reversed(lines))


def _records(lines: _Lines) -> Iterator[tuple[int, list[str], str | None, str]]:
    """(first line, row, reason, detail) per record, header included; the row of a record
    with a reason is what could be made of it.

    A record whose quoting is broken (a quote that does not close where it should, a cell
    over the cap) is reported at its first line, and the lines after that one are read again:
    a stray quote swallows the lines that follow it, and those are records of their own.
    """
    # The limit is process-wide state: set it for every read, whatever else changed it.
    csv.field_size_limit(MAX_CELL_CHARS)
    reader = csv.reader(lines, strict=True)
    while True:
        lines.next_record()
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            taken = lines.taken
            if not taken:
                return
            first = taken[0][0]
            lines.read_again(taken[1:])
            # Its fields as far as its first line tells (leniently), to name its id.
            try:
                partial = next(csv.reader([taken[0][1][:10_000]]), [])
            except csv.Error:
                partial = []
            if sum(len(text) for _n, text in taken) > MAX_CELL_CHARS:
                yield first, partial, CELL_TOO_LARGE, (
                    f"line {first}: a cell over {MAX_CELL_CHARS:,} characters "
                    "(or a quote that never closes)")
            else:
                yield first, partial, BROKEN_QUOTING, f"line {first}: {exc}"
            continue
        first = lines.taken[0][0] if lines.taken else 0
        if any(_bad_bytes(text) for _n, text in lines.taken):
            yield first, row, NOT_UTF8, f"line {first}: bytes that are not UTF-8"
        else:
            yield first, row, None, ""


def read_raw(path: Path, kind: str) -> RawTable:
    """Read ``path`` (``.csv`` or ``.csv.gz``) as raw file ``kind`` (movies/credits/keywords).

    A record that cannot be read (bytes that are not UTF-8, broken quoting, a cell over
    ``MAX_CELL_CHARS``) is set aside with its line number for the rejects table and the rest
    is kept; a file whose header cannot be read, or most of whose records cannot, is refused.
    """
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        with _open_text(path) as handle:
            records = _records(_Lines(handle))
            first = next(records, None)
            if first is None:
                raise InputError(path, "file is empty")
            _line, header_row, problem, detail = first
            if problem is not None:
                what = "not UTF-8 text" if problem == NOT_UTF8 else "not a readable CSV file"
                raise InputError(path, f"{what} (header, {detail})")
            header = [name.strip() for name in header_row]
            missing = [name for name in REQUIRED[kind] if name not in header]
            if missing:
                raise InputError(
                    path, f"not a {kind} file: missing columns {', '.join(missing)}"
                )
            twice = sorted({name for name in header if header.count(name) > 1})
            if twice:
                raise InputError(path, f"duplicate column names: {', '.join(twice)}")
            width = len(header)
            id_at = header.index("id")
            columns: list[list[str]] = [[] for _ in range(width)]
            numbers: list[int] = []
            ragged: list[tuple[int, str, str | None, str]] = []
            unreadable: dict[str, int] = {}
            for number, (_line, row, problem, detail) in enumerate(records, start=1):
                if problem is not None:
                    raw_id = row[id_at] if id_at < len(row) else ""
                    ragged.append((number, _printable(raw_id), problem, detail))
                    unreadable[problem] = unreadable.get(problem, 0) + 1
                    continue
                if len(row) != width:
                    raw_id = row[id_at] if id_at < len(row) else ""
                    ragged.append((number, raw_id, None, f"{len(row)} fields, expected {width}"))
                    continue
                numbers.append(number)
                for column, value in zip(columns, row, strict=True):
                    column.append(value)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise InputError(path, f"not a readable CSV file ({exc})") from exc
    total = len(numbers) + len(ragged)
    if not total:
        raise InputError(path, "file has a header but no rows")
    bad = sum(unreadable.values())
    if bad > total * MAX_UNREADABLE_SHARE:
        worst = max(unreadable, key=lambda reason: unreadable[reason])
        what = "not UTF-8 text" if worst == NOT_UTF8 else "not a readable CSV file"
        example = next(d for _n, _i, reason, d in ragged if reason == worst)
        raise InputError(path, f"{what} ({bad} of {total} records unreadable; {example})")
    data: dict[str, pl.Series] = {"record": pl.Series(numbers, dtype=pl.Int64)}
    for name, values in zip(header, columns, strict=True):
        if name in REQUIRED[kind] or name in OPTIONAL[kind]:
            # Empty cells are missing values in the raw files (pandas wrote NaN as "").
            data[name] = pl.Series(values, dtype=pl.String).replace("", None)
    return RawTable(path=path, frame=pl.DataFrame(data), ragged=ragged)
