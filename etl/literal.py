"""Fast, exact parsing of the raw files' nested cells (Python literals written by ``repr``).

``ast.literal_eval`` is correct but slow (~70 s for the full credits file), so cells are
translated to JSON text by Polars expressions and decoded natively. The translation is only
used where Python and JSON provably read the text alike; every other cell goes to
``ast.literal_eval``, the one fallback. A cell is translated when

* it is a sequence of tokens that JSON and Python spell alike (``_EXACT``): the punctuation
  ``[]{}:,``, spaces and tabs; strings in single or double quotes with no backslash and no
  control character inside (so no escapes and no line breaks, where Python cares about
  indentation); numbers in JSON's spelling with at most 18 integer digits and a two-digit
  exponent (so no 64-bit overflow and no inf); and the words ``None``, ``True``, ``False``,
  each number or word followed by punctuation, a string or the end (so ``00``, ``1.``,
  ``1_0``, ``1j`` and ``NoneTrue`` do not match);
* no single-quoted string holds the text ``None``, ``True`` or ``False`` (those words are
  renamed everywhere outside double-quoted strings);
* brackets nest at most ``_MAX_DEPTH`` deep (Python's parser refuses 200); and
* the translated text is valid JSON (judged by the reader that takes it: Polars' for
  ``exact_json``, orjson for ``parse_cells``): Python-only syntax such as ``[1,]``,
  ``'a' 'b'`` or ``1, 2``, and non-literals such as ``[1,``, pass the token check but not this.

The translation keeps double-quoted strings as they are; in the rest of the cell it escapes
``"`` (found there only inside single-quoted strings), turns ``'`` into ``"`` and spells the
three words as JSON. The hypothesis tests hold ``parse_literal``, ``parse_cells``,
``cells_to_json`` and ``decode`` to ``ast.literal_eval``. Every entry point is vectorised:
a call pays Polars' fixed cost (a few ms), so parse many cells per call.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import polars as pl

# --- when the JSON translation is exact (the description above, as Polars regexes) --------
_NUMBER = r"-?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]+)?(?:[eE][+-]?[0-9]{1,2})?"
_WORD = rf"(?:{_NUMBER}|None|True|False)"
_STRING = r"""'[^'\\\x00-\x1f]*'|"[^"\\\x00-\x1f]*\""""
_EXACT = rf"^(?:{_WORD}?(?:[\[\]{{}}:, \t]|{_STRING}))*{_WORD}?$"
# Anchored at a token boundary (only run on cells that match ``_EXACT``): skip whole tokens,
# then look inside one single-quoted string.
_WORD_IN_SINGLE = r"""^(?:[^'"]|'[^']*'|"[^"]*")*'[^']*(?:None|True|False)"""
# Python's parser refuses 200 nested brackets; orjson accepts up to 1024.
_MAX_DEPTH = 100

# --- the translation ----------------------------------------------------------------------
# A cell in chunks: double-quoted strings, and runs of everything else (which hold single-
# quoted strings whole, so a ``"`` inside one stays in its run).
_CHUNK = r"""(?:[^'"]|'[^']*')+|"[^"]*\""""
_TO_JSON = {'"': '\\"', "'": '"', "None": "null", "True": "true", "False": "false"}


class LiteralError(ValueError):
    """A cell that is not a Python literal."""


def _translate(cell: pl.Expr) -> pl.Expr:
    chunk = pl.element()
    # replace_many rewrites in one left-to-right pass, so a ``"`` written for a ``'`` is not
    # escaped again (chained replacements would have to be ordered).
    rest = chunk.str.replace_many(list(_TO_JSON), list(_TO_JSON.values()))
    return (
        cell.str.extract_all(_CHUNK)
        .list.eval(pl.when(chunk.str.starts_with('"')).then(chunk).otherwise(rest))
        .list.join("")
    )


def _too_deep(cells: pl.Series) -> pl.Series:
    """Brackets (outside strings) nest deeper than ``_MAX_DEPTH``, or do not balance."""
    deep = pl.repeat(False, cells.len(), eager=True)
    # Only a cell with more than _MAX_DEPTH opening brackets can nest that deep.
    at = (cells.str.count_matches(r"[\[{]") > _MAX_DEPTH).arg_true()
    if at.is_empty():
        return deep
    brackets = cells.gather(at).str.replace_all(_STRING, "").str.replace_all(r"[^\[\]{}]", "")
    for _ in range(_MAX_DEPTH):
        if (brackets == "").all():
            break
        brackets = brackets.str.replace_all(r"\[\]|\{\}", "")  # drops the innermost level
    return deep.scatter(at, brackets != "")


def _translations(cells: pl.Series) -> pl.Series:
    """The translation of each cell the token, string and depth rules allow, else null (the
    last rule, valid JSON, is left to the JSON reader that takes the text)."""
    cell = pl.col("cell")
    frame = pl.DataFrame({"cell": cells}).with_row_index("at")
    candidates = frame.filter(cell.str.contains(_EXACT))
    candidates = candidates.filter(~cell.str.contains(_WORD_IN_SINGLE))
    candidates = candidates.filter(~_too_deep(candidates["cell"]))
    json = candidates.select(_translate(cell))["cell"]
    return pl.repeat(None, cells.len(), dtype=pl.String, eager=True).scatter(candidates["at"], json)


def exact_json(cells: pl.Series) -> pl.Series:
    """The JSON translation of each cell it is exact for (see the module docstring), else null."""
    json = _translations(cells.cast(pl.String))
    # json_path_match gives null for invalid JSON, and for the JSON ``null`` itself.
    valid = json.str.json_path_match("$").is_not_null() | (json.str.strip_chars(" \t") == "null")
    return json.zip_with(valid, pl.repeat(None, json.len(), dtype=pl.String, eager=True))


def _literal_eval(cell: str) -> Any:
    """The one fallback: ``ast.literal_eval``, with every failure as a ``LiteralError``."""
    try:
        return ast.literal_eval(cell)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise LiteralError(f"not a Python literal: {exc.__class__.__name__}") from exc


def parse_cells(cells: Sequence[str]) -> list[Any]:
    """Parse each cell exactly as ``ast.literal_eval`` would (same values, same errors: a cell
    that is not a literal raises ``LiteralError``). Vectorised: pass many cells at once."""
    try:
        texts = _translations(pl.Series(cells, dtype=pl.String))
    except UnicodeEncodeError:  # lone surrogates: Polars holds UTF-8 only
        texts = pl.repeat(None, len(cells), dtype=pl.String, eager=True)
    return [_parse(cell, text) for cell, text in zip(cells, texts, strict=True)]


def _parse(cell: str, text: str | None) -> Any:
    if text is not None:
        try:
            return orjson.loads(text)  # orjson judges the last rule: is the text JSON?
        except orjson.JSONDecodeError:
            pass
    return _literal_eval(cell)


def parse_literal(cell: str) -> Any:
    """One cell as ``ast.literal_eval`` reads it (see ``parse_cells`` for many)."""
    return parse_cells([cell])[0]


def _fallback_json(cell: str) -> str | None:
    """JSON text for a cell the translation does not cover, or None if it has none."""
    try:
        value = _literal_eval(cell)
        text = orjson.dumps(value).decode()
    except (LiteralError, orjson.JSONEncodeError):
        return None  # not a literal, or one JSON cannot carry (big int, tuple key, set...)
    return text if _finite(value) else None  # orjson writes inf and nan as null


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
    cells = cells.cast(pl.String)
    present = cells.is_not_null() & (cells.str.strip_chars() != "")
    json = exact_json(cells)
    rest = (present & json.is_null()).arg_true()
    if rest.len():
        json = json.scatter(
            rest, pl.Series([_fallback_json(c) for c in cells.gather(rest)], dtype=pl.String)
        )
    return pl.DataFrame({"json": json, "bad": present & json.is_null()})


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
