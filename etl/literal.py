"""Fast, exact parsing of the raw files' nested cells (Python literals written by ``repr``).

``ast.literal_eval`` is correct but slow (~70 s for the full credits file), so cells are
translated to JSON and decoded natively. The translation is only trusted where it is provably
the same language:

* vectorised path (most cells): a cell with no ``"``, no backslash and no control character
  has only single-quoted strings with no quote inside, so swapping ``'`` for ``"`` and
  spelling ``None/True/False`` as JSON is exact, provided those words never occur inside a
  string (checked per cell), the text between strings holds only JSON punctuation, spaces,
  digits and those words (checked), no integer overflows 64 bits (checked) and the result is
  valid JSON (checked; Python-only syntax such as ``[1,]`` goes the per-cell way);
* per-cell path (cells with double-quoted strings, e.g. ``"O'Brien"``): a regex tokenizer
  rewrites each string token, and only where the text between tokens is spelled alike in
  JSON and Python; a cell with any backslash escape or line break goes straight to
  ``ast.literal_eval``, and so does any cell whose JSON form fails to decode.

Every path ends in ``ast.literal_eval`` semantics: the hypothesis tests hold ``parse_literal``
and ``to_json`` to that.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterable
from typing import Any

import orjson
import polars as pl

# A cell is "simple" when it contains neither a double quote, a backslash nor a control
# character (Python and JSON disagree on raw tabs, newlines and indentation).
_HARD_CHARS = r'["\\\x00-\x1f]'
_KEYWORD = r"\b(?:None|True|False)\b"
# Between strings only JSON punctuation, spaces, numbers and the three keywords may stand.
_OUTSIDE_OK = r"^(?:[\[\]{}:, 0-9.eE+\-]|None|True|False)*$"
# orjson decodes integers beyond 64 bits as floats: leave long digit runs to ``ast``.
_LONG_DIGITS = r"[0-9]{19,}"

_SPLIT = re.compile(r"('[^'\\\n]*'|\"[^\"\\\n]*\")")
# The cells the per-cell JSON path is exact for: string and keyword tokens, and between them
# only JSON punctuation, spaces and tabs, and numbers spelled alike in JSON and Python that
# decode to the same value (at most 18 digits before the point, so no 64-bit overflow).
# Anything else (``null``/``true``, ``1.``, ``00``, ``1j``, ...) goes to ``ast``.
_EXACT = re.compile(
    r"(?:[\[\]{}:, \t]++"
    r"|'[^'\\\n]*+'"
    r"|\"[^\"\\\n]*+\""
    r"|\b(?:None|True|False)\b"
    r"|-?+(?:0|[1-9][0-9]{0,17}+)(?:\.[0-9]++)?+(?:[eE][+-]?+[0-9]++)?+(?![\w.])"
    r")*+"
)
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
# Python's parser refuses 200 nested brackets; orjson accepts up to 1024.
_MAX_DEPTH = 100
_JSON_KEYWORD = {"None": "null", "True": "true", "False": "false"}
_HUGE_EXPONENT = re.compile(r"[eE][+-]?[0-9]{3,}")


class LiteralError(ValueError):
    """A cell that is not a Python literal."""


def to_json(cell: str) -> str | None:
    """JSON text equal in meaning to the literal ``cell``, or None where that is not assured.

    None means: decode with ``ast.literal_eval`` instead (escapes, line breaks, deep nesting,
    or text between tokens that JSON and Python do not spell alike).
    A returned text may still fail to decode as JSON; then ``ast`` decides too.
    """
    if "\\" in cell or "\n" in cell or "\r" in cell:
        return None  # escapes, or line breaks (where Python cares about indentation)
    if _EXACT.fullmatch(cell) is None:
        return None
    if cell.count("[") + cell.count("{") > _MAX_DEPTH and _too_deep(cell):
        return None
    # Split into text between strings (even places) and string tokens (odd places). The text
    # between strings holds no quotes, so the keywords in it can be replaced wholesale.
    parts = _SPLIT.split(cell)
    between = "\x00".join(parts[0::2])
    if _HUGE_EXPONENT.search(between):
        return None  # decodes to inf, which JSON cannot spell: let ``ast`` judge
    for word, json_word in _JSON_KEYWORD.items():
        between = between.replace(word, json_word)
    parts[0::2] = between.split("\x00")
    parts[1::2] = [
        '"' + token[1:-1].replace('"', '\\"') + '"' if token[0] == "'" else token
        for token in parts[1::2]
    ]
    return "".join(parts)


def _too_deep(cell: str) -> bool:
    """Brackets (outside strings) nest deeper than ``_MAX_DEPTH``, or do not balance."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", cell))
    for _ in range(_MAX_DEPTH):
        if not brackets:
            return False
        brackets = brackets.replace("[]", "").replace("{}", "")
    return bool(brackets)


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
    """Per-cell path: literal -> JSON text, or None when the cell is not a literal."""
    if cell is None:
        return None
    text = to_json(cell)
    if text is not None:
        try:
            orjson.loads(text)  # proves the text is JSON
        except orjson.JSONDecodeError:
            pass
        else:
            return text
    try:
        value = ast.literal_eval(cell)
        text = orjson.dumps(value).decode()
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError,
            orjson.JSONEncodeError):
        return None
    if not _finite(value):
        return None  # orjson writes inf and nan as null: no JSON text means the same
    return text


def _finite(value: Any) -> bool:
    """No float in ``value`` is inf or nan (JSON has no spelling for them)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return all(_finite(item) for item in value)
    return True


def cells_to_json(cells: pl.Series) -> pl.DataFrame:
    """Translate a column of literal cells into JSON text.

    Returns columns ``json`` (String; null where the cell is null/empty or unparseable) and
    ``bad`` (Boolean; true where a non-empty cell is not a literal).
    """
    frame = pl.DataFrame({"cell": cells.cast(pl.String)}).with_row_index("at")
    cell = pl.col("cell")
    frame = frame.with_columns(
        present=cell.is_not_null() & (cell.str.strip_chars() != ""),
        candidate=~cell.str.contains(_HARD_CHARS),
    )
    # The checks below only run on candidates (no double quote, backslash or control char).
    candidates = frame.filter(pl.col("present") & pl.col("candidate")).select("at", "cell")
    parts = cell.str.split("'")
    outside = parts.list.gather_every(2).list.join(" ")
    translated = (
        candidates.filter(
            ~parts.list.gather_every(2, 1).list.join("'").str.contains(_KEYWORD)
            & outside.str.contains(_OUTSIDE_OK)
            & ~outside.str.contains(_LONG_DIGITS)
        )
        .with_columns(
            json=cell.str.replace_all("'", '"', literal=True)
            .str.replace_all(r"\bNone\b", "null")
            .str.replace_all(r"\bTrue\b", "true")
            .str.replace_all(r"\bFalse\b", "false")
        )
        # Python syntax JSON lacks (``[1,]``, ``1.``, ``'a' 'b'``, ``1, 2``) and non-literals
        # (``[1,``) pass the checks above but are not valid JSON: those go the per-cell way.
        .filter(
            pl.col("json").str.json_path_match("$").is_not_null()
            | (pl.col("json").str.strip_chars(" ") == "null")
        )
        .select("at", "json")
    )
    frame = frame.join(translated, on="at", how="left", maintain_order="left")
    hard = frame["present"] & frame["json"].is_null()
    if hard.any():
        hard_idx = hard.arg_true()
        hard_json = pl.Series(
            [_slow_json(c) for c in frame["cell"].gather(hard_idx)], dtype=pl.String
        )
        frame = frame.with_columns(frame["json"].scatter(hard_idx, hard_json))
    return frame.select("json", bad=pl.col("present") & pl.col("json").is_null())


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
