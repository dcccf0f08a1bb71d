"""Fast, exact parsing of the raw files' nested cells (Python literals written by ``repr``).

``ast.literal_eval`` is correct but slow (~70 s for the full credits file), so cells are
translated to JSON and decoded natively. The translation is only trusted where it is provably
the same language:

* vectorised path (most cells): a cell with no ``"`` and no backslash has only single-quoted
  strings with no quote inside, so swapping ``'`` for ``"`` and spelling ``None/True/False``
  as JSON is exact, provided those words never occur inside a string (checked per cell) and
  the text between strings holds only JSON punctuation, digits and those words (checked);
* per-cell path (cells with double-quoted strings, e.g. ``"O'Brien"``): a regex tokenizer
  rewrites each string token; a cell with any backslash escape goes straight to
  ``ast.literal_eval``, and so does any cell whose JSON form fails to decode.

Every path ends in ``ast.literal_eval`` semantics: the hypothesis tests hold ``parse_literal``
and ``to_json`` to that.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from typing import Any

import orjson
import polars as pl

# A cell is "simple" when it contains neither a double quote nor a backslash.
_HARD_CHARS = r'["\\]'
_KEYWORD = r"\b(?:None|True|False)\b"
# Between strings only JSON punctuation, whitespace, numbers and the three keywords may stand.
_OUTSIDE_OK = r"^(?:[\[\]{}:,\s0-9.eE+\-]|None|True|False)*$"

_TOKEN = re.compile(r"'([^'\\\n]*)'|\"([^\"\\\n]*)\"|\b(None|True|False)\b")
_JSON_KEYWORD = {"None": "null", "True": "true", "False": "false"}


class LiteralError(ValueError):
    """A cell that is not a Python literal."""


def _rewrite(match: re.Match[str]) -> str:
    single = match.group(1)
    if single is not None:
        return '"' + single.replace('"', '\\"') + '"'
    if match.group(2) is not None:
        return match.group(0)
    return _JSON_KEYWORD[match.group(3)]


def to_json(cell: str) -> str | None:
    """JSON text equal in meaning to the literal ``cell``, or None where that is not assured.

    None means: decode with ``ast.literal_eval`` instead (escapes, or no tokenizable form).
    A returned text may still fail to decode as JSON; then ``ast`` decides too.
    """
    if "\\" in cell:
        return None
    return _TOKEN.sub(_rewrite, cell)


def parse_literal(cell: str) -> Any:
    """Parse one nested cell exactly as ``ast.literal_eval`` would (same value, same errors)."""
    text = to_json(cell)
    if text is not None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    try:
        return ast.literal_eval(cell)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise LiteralError(f"not a Python literal: {exc.__class__.__name__}") from exc


def _slow_json(cell: str | None) -> str | None:
    """Per-cell path: literal -> canonical JSON text, or None when the cell is not a literal."""
    if cell is None:
        return None
    try:
        value = parse_literal(cell)
        return orjson.dumps(value).decode()
    except (LiteralError, TypeError, orjson.JSONEncodeError):
        return None


def cells_to_json(cells: pl.Series) -> pl.DataFrame:
    """Translate a column of literal cells into JSON text.

    Returns columns ``json`` (String; null where the cell is null/empty or unparseable) and
    ``bad`` (Boolean; true where a non-empty cell is not a literal).
    """
    frame = pl.DataFrame({"cell": cells.cast(pl.String)})
    cell = pl.col("cell")
    parts = cell.str.split("'")
    frame = frame.with_columns(
        present=cell.is_not_null() & (cell.str.strip_chars() != ""),
        simple=~cell.str.contains(_HARD_CHARS)
        & ~parts.list.gather_every(2, 1).list.join("'").str.contains(_KEYWORD)
        & parts.list.gather_every(2).list.join("").str.contains(_OUTSIDE_OK),
    ).with_columns(
        json=pl.when(pl.col("present") & pl.col("simple")).then(
            cell.str.replace_all("'", '"', literal=True)
            .str.replace_all(r"\bNone\b", "null")
            .str.replace_all(r"\bTrue\b", "true")
            .str.replace_all(r"\bFalse\b", "false")
        )
    )
    hard = frame["present"] & ~frame["simple"]
    if hard.any():
        hard_idx = hard.arg_true()
        hard_json = pl.Series(
            [_slow_json(c) for c in frame["cell"].gather(hard_idx)], dtype=pl.String
        )
        frame = frame.with_columns(frame["json"].scatter(hard_idx, hard_json))
    return frame.select(
        "json", bad=pl.col("present") & pl.col("json").is_null()
    )


def decode(cells: pl.Series, dtype: pl.DataType) -> pl.DataFrame:
    """Decode literal cells into ``dtype`` (a Struct or List(Struct)).

    Returns ``value`` (dtype; null for empty cells) and ``bad`` (the cell is not a literal of
    that shape). Decoding is vectorised; a batch that Polars refuses is retried cell by cell so
    one bad cell marks only itself.
    """
    converted = cells_to_json(cells)
    json = converted["json"]
    try:
        value = json.str.json_decode(dtype)
        bad = converted["bad"]
    except pl.exceptions.PolarsError:
        values, flags = _decode_each(json.to_list(), dtype)
        value = pl.Series(values, dtype=dtype)
        bad = converted["bad"] | pl.Series(flags, dtype=pl.Boolean)
    return pl.DataFrame({"value": value, "bad": bad})


def _decode_each(texts: Iterable[str | None], dtype: pl.DataType) -> tuple[list[Any], list[bool]]:
    values: list[Any] = []
    flags: list[bool] = []
    for text in texts:
        if text is None:
            values.append(None)
            flags.append(False)
            continue
        try:
            values.append(pl.Series([text]).str.json_decode(dtype)[0])
            flags.append(False)
        except pl.exceptions.PolarsError:
            values.append(None)
            flags.append(True)
    return values, flags
