"""The serving image's file format: flat NumPy arrays that every worker memory-maps.

A serving image is a directory of ``.npy`` files plus ``image.json``, which records each
array's dtype, shape and where its data starts in its file. Nothing needs parsing or copying
at start-up: ``open_image`` maps every file and views it as an array (no ``.npy`` header is
read: ``np.load`` spent most of attach reading and parsing 200-odd headers), so a worker is
ready at once and all workers and replicas on a host share the pages through the page
cache. The files stay ordinary ``.npy`` files for anyone inspecting a build. The ETL writes
it (``ImageWriter``) next to the Parquet warehouse; the catalog reads it. Both sides go
through this module, so the format is defined once.

Columns keep their meaning without Python objects: numbers are arrays (a null float is NaN,
which the ETL never keeps as a value; a null integer is ``NULL_INT``), dates are days since
1970-01-01, low-cardinality strings are codes into a small value list, and other strings are
one UTF-8 blob plus offsets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import mmap
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from data.build import IMAGE_FORMAT, IMAGE_META

if TYPE_CHECKING:  # the server only reads images: Polars is imported where one is written
    import polars as pl

FORMAT_VERSION = IMAGE_FORMAT
META = IMAGE_META
NULL_INT = -1  # ids, rows and codes are never negative
EPOCH = dt.date(1970, 1, 1)


class ImageError(Exception):
    """The serving image is missing, incomplete or of another format."""


def key_hash(key: str) -> int:
    """A stable 64-bit hash of a lookup key (same value in the ETL and in every worker)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


# --- columns as read by the server ----------------------------------------------------------


class Strings:
    """A string column: ``data[offsets[i]:offsets[i + 1]]`` is row ``i`` in UTF-8."""

    def __init__(self, offsets: np.ndarray, data: np.ndarray, valid: np.ndarray | None) -> None:
        self.offsets = offsets
        self.data = data
        self.valid = valid

    def __len__(self) -> int:
        return int(self.offsets.shape[0]) - 1

    def get(self, row: int) -> str | None:
        if self.valid is not None and not self.valid[row]:
            return None
        start, end = self.offsets[row], self.offsets[row + 1]
        return self.data[start:end].tobytes().decode()

    def take(self, rows: Iterable[int]) -> list[str | None]:
        # Offsets as Python ints in one go and slices of a memoryview: a quarter of the cost
        # of ``get`` per row, which reads NumPy scalars.
        index = rows if isinstance(rows, np.ndarray) else np.fromiter(rows, dtype=np.int64)
        blob = memoryview(self.data.data)  # the buffer of the mapped bytes
        values: list[str | None] = [
            str(blob[start:end], "utf-8")
            for start, end in zip(self.offsets[index].tolist(),
                                  self.offsets[index + 1].tolist(), strict=True)]
        if self.valid is not None:
            for i in np.flatnonzero(~self.valid[index]).tolist():
                values[i] = None
        return values


class Codes:
    """A low-cardinality string column: per-row codes into a short list of distinct values."""

    def __init__(self, codes: np.ndarray, values: Sequence[str]) -> None:
        self.codes = codes
        self.values = list(values)

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def get(self, row: int) -> str | None:
        code = int(self.codes[row])
        return None if code == NULL_INT else self.values[code]

    def take(self, rows: Iterable[int]) -> list[str | None]:
        index = rows if isinstance(rows, np.ndarray) else np.fromiter(rows, dtype=np.int64)
        values = self.values
        return [None if c == NULL_INT else values[c] for c in self.codes[index].tolist()]


class Numbers:
    """A numeric or date column; ``kind`` says how a stored value reads back."""

    def __init__(self, values: np.ndarray, kind: str) -> None:
        self.values = values
        self.kind = kind  # "int", "int?" (NULL_INT = null), "float" (NaN = null), "date"

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def _read(self, value: Any) -> Any:
        if self.kind == "float":
            return None if value != value else value  # NaN is null
        if self.kind == "int?":
            return None if value == NULL_INT else value
        if self.kind == "date":
            return EPOCH + dt.timedelta(days=value)
        return value

    def get(self, row: int) -> Any:
        return self._read(self.values[row].item())

    def take(self, rows: Iterable[int]) -> list[Any]:
        index = rows if isinstance(rows, np.ndarray) else np.fromiter(rows, dtype=np.int64)
        picked = self.values[index].tolist()
        if self.kind == "int":
            return picked
        return [self._read(value) for value in picked]


Column = Strings | Codes | Numbers


class Relation:
    """One-to-many rows, CSR: ``of(k)`` is key row ``k``'s targets in the API's order."""

    def __init__(self, offsets: np.ndarray, targets: np.ndarray) -> None:
        self._offsets = offsets
        self._targets = targets

    def of(self, key: int) -> np.ndarray:
        return self._targets[self._offsets[key] : self._offsets[key + 1]]

    def count(self, key: int) -> int:
        return int(self._offsets[key + 1] - self._offsets[key])

    def counts(self) -> np.ndarray:
        return np.diff(self._offsets)


class KeyIndex:
    """Exact lookup of a key: its rows, best first. Keys are found by a sorted 64-bit hash
    and verified against the stored text, so a collision cannot answer the wrong key."""

    def __init__(self, image: Image, name: str) -> None:
        self._hashes = image.array(f"{name}.hash")
        self._entries = image.array(f"{name}.entry")
        self._rows = image.relation(name)
        column = image.column("keys", name)
        assert isinstance(column, Strings)
        self._texts = column

    def __len__(self) -> int:
        return len(self._texts)

    def find(self, key: str) -> np.ndarray | None:
        wanted = np.uint64(key_hash(key))
        at = int(np.searchsorted(self._hashes, wanted))
        while at < self._hashes.shape[0] and self._hashes[at] == wanted:
            entry = int(self._entries[at])
            if self._texts.get(entry) == key:
                return self._rows.of(entry)
            at += 1
        return None


# --- the image on disk -----------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    """An opened serving image: named arrays and columns, all memory-mapped."""

    path: Path
    meta: dict[str, Any]
    arrays: Mapping[str, np.ndarray]

    def array(self, name: str) -> np.ndarray:
        try:
            return self.arrays[name]
        except KeyError:
            raise ImageError(f"{self.path}: the serving image has no array {name!r}") from None

    def column(self, table: str, name: str) -> Column:
        spec = self.meta["columns"][table][name]
        prefix = f"{table}.{name}"
        if spec["kind"] == "str":
            valid = self.arrays.get(f"{prefix}.valid")
            return Strings(self.array(f"{prefix}.offsets"), self.array(f"{prefix}.data"), valid)
        if spec["kind"] == "code":
            return Codes(self.array(prefix), spec["values"])
        return Numbers(self.array(prefix), spec["kind"])

    def columns(self, table: str) -> dict[str, Column]:
        return {name: self.column(table, name) for name in self.meta["columns"][table]}

    def relation(self, name: str) -> Relation:
        return Relation(self.array(f"{name}.offsets"), self.array(f"{name}.targets"))

    def group(self, prefix: str) -> dict[str, np.ndarray]:
        """The arrays written by ``ImageWriter.group`` under ``prefix``, by their own names."""
        start = f"{prefix}."
        return {name[len(start):]: array for name, array in self.arrays.items()
                if name.startswith(start)}


def open_image(path: Path, expect: Mapping[str, Any]) -> Image:
    """Map every array of the image at ``path``; ``expect`` holds meta values that must match
    (format and contract version), or the image is refused."""
    meta_path = path / META
    if not meta_path.is_file():
        raise ImageError(f"{path} has no serving image")
    meta: dict[str, Any] = orjson.loads(meta_path.read_bytes())
    for key, value in {"format": FORMAT_VERSION, **expect}.items():
        if meta.get(key) != value:
            raise ImageError(
                f"{path} is a serving image with {key} {meta.get(key)}, this code reads {value}"
            )
    arrays = {name: map_array(path / f"{name}.npy", spec)
              for name, spec in meta["arrays"].items()}
    return Image(path=path, meta=meta, arrays=arrays)


def map_array(file: Path, spec: Mapping[str, Any]) -> np.ndarray:
    """The read-only array in ``file`` as ``spec`` (dtype, shape, offset) describes it,
    memory-mapped. Every file is mapped now: a build removed later (a newer one published)
    stays readable through the open maps. A plain ndarray over the map: np.memmap adds
    Python-level work to every scalar read and slice."""
    dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
    count = math.prod(shape)
    try:
        fd = os.open(file, os.O_RDONLY)
    except FileNotFoundError:
        raise ImageError(f"{file} is missing") from None
    try:
        size = os.fstat(fd).st_size
        if size < spec["offset"] + count * dtype.itemsize:
            raise ImageError(f"{file} is shorter than its array ({size} bytes)")
        if count == 0:  # nothing to map (and an empty map is not allowed)
            empty = np.empty(shape, dtype=dtype)
            empty.flags.writeable = False
            return empty
        mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    finally:
        os.close(fd)
    return np.frombuffer(mapped, dtype=dtype, count=count, offset=spec["offset"]).reshape(shape)


class ImageWriter:
    """Collects arrays and column specs, then writes them as one image directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.meta: dict[str, Any] = {"format": FORMAT_VERSION, "arrays": {}, "columns": {}}

    def array(self, name: str, values: np.ndarray) -> None:
        values = np.ascontiguousarray(values)
        if values.dtype == object:
            raise TypeError(f"{name}: object arrays cannot be memory-mapped")
        file = self.path / f"{name}.npy"
        np.save(file, values, allow_pickle=False)
        with file.open("rb") as saved:  # where the data starts: after the .npy header
            version = np.lib.format.read_magic(saved)
            if version == (1, 0):
                np.lib.format.read_array_header_1_0(saved)
            elif version == (2, 0):
                np.lib.format.read_array_header_2_0(saved)
            else:
                raise ImageError(f"{file}: .npy format {version} is not written by np.save")
            offset = saved.tell()
        self.meta["arrays"][name] = {"dtype": values.dtype.str, "shape": list(values.shape),
                                     "offset": offset}

    def _spec(self, table: str, name: str, spec: dict[str, Any]) -> None:
        self.meta["columns"].setdefault(table, {})[name] = spec

    def numbers(self, table: str, name: str, values: np.ndarray, kind: str) -> None:
        self.array(f"{table}.{name}", values)
        self._spec(table, name, {"kind": kind})

    def strings(self, table: str, name: str, values: pl.Series) -> None:
        """A string column from a Polars series (UTF-8 blob + offsets, computed by Polars)."""
        import polars as pl

        lengths = values.str.len_bytes().fill_null(0).cast(pl.Int64).to_numpy()
        offsets = np.zeros(lengths.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        blob = values.fill_null("").str.join("").item() if values.len() else ""
        self.array(f"{table}.{name}.offsets", offsets)
        self.array(f"{table}.{name}.data", np.frombuffer(blob.encode(), dtype=np.uint8))
        if values.null_count():
            self.array(f"{table}.{name}.valid", values.is_not_null().to_numpy())
        self._spec(table, name, {"kind": "str"})

    def codes(self, table: str, name: str, values: pl.Series) -> None:
        """A low-cardinality string column: the dense rank of a value is its code into the
        sorted distinct values."""
        distinct = values.drop_nulls().unique().sort().to_list()
        codes = (values.rank("dense") - 1).fill_null(NULL_INT).to_numpy().astype(np.int32)
        self.array(f"{table}.{name}", codes)
        self._spec(table, name, {"kind": "code", "values": distinct})

    def group(self, prefix: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Several arrays of one structure (e.g. a search index) under one name prefix."""
        for name, values in arrays.items():
            self.array(f"{prefix}.{name}", values)

    def relation(self, name: str, offsets: np.ndarray, targets: np.ndarray) -> None:
        self.array(f"{name}.offsets", offsets.astype(np.int64))
        self.array(f"{name}.targets", targets.astype(np.int32))

    def key_index(self, name: str, keys: pl.Series, rows: pl.Series,
                  rank: pl.Series | None = None) -> None:
        """An exact lookup (``KeyIndex``): key -> rows, by ``rank`` descending, then row."""
        import polars as pl

        frame = pl.DataFrame({"key": keys, "row": rows, "rank": rank if rank is not None
                              else pl.repeat(0, len(keys), eager=True)})
        grouped = (
            frame.sort(["rank", "row"], descending=[True, False])
            .group_by("key", maintain_order=True)
            .agg(pl.col("row"))
        )
        texts = grouped["key"]
        hashes = np.fromiter((key_hash(k) for k in texts.to_list()), dtype=np.uint64,
                             count=grouped.height)
        by_hash = np.argsort(hashes, kind="stable")
        offsets = np.zeros(grouped.height + 1, dtype=np.int64)
        np.cumsum(grouped["row"].list.len().to_numpy(), out=offsets[1:])
        self.array(f"{name}.hash", hashes[by_hash])
        self.array(f"{name}.entry", by_hash.astype(np.int32))
        self.relation(name, offsets, grouped["row"].explode().to_numpy())
        self.strings("keys", name, texts)

    def finish(self, **meta: Any) -> None:
        self.meta.update(meta)
        (self.path / META).write_bytes(orjson.dumps(self.meta, option=orjson.OPT_INDENT_2))
