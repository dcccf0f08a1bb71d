"""Text folding shared by the ETL (stored lookup keys) and the catalog (incoming queries).

Both sides must fold identically, or exact lookups silently miss. The rule is ``fold``:
Unicode NFKD, drop nonspacing marks, lowercase, collapse and trim whitespace (the whitespace
class is spelled out because Python's ``\\s`` and Rust's differ on a few control characters).
``fold_expr`` applies it to a Polars column: ASCII text (nearly every title and name) takes
vectorised string expressions, which are exactly ``fold`` on ASCII; any other text goes
through ``fold`` itself, because Polars and Python ship different Unicode versions and would
decompose characters assigned in between differently.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the server folds queries without importing Polars
    import polars as pl

_WS = "[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_RUNS = re.compile(_WS + "+")
_EDGES = re.compile(f"^{_WS}+|{_WS}+$")


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _EDGES.sub("", _RUNS.sub(" ", stripped.lower()))


def _fold_series(values: pl.Series) -> pl.Series:
    import polars as pl

    ascii_folded = (
        values.str.to_lowercase()
        .str.replace_all(_WS + "+", " ")
        .str.replace_all(f"^{_WS}+|{_WS}+$", "")
    )
    other = values.str.contains(r"[^\x00-\x7F]").fill_null(False)
    if not other.any():
        return ascii_folded
    positions = other.arg_true()
    folded = pl.Series([fold(text) for text in values.filter(other).to_list()], dtype=pl.String)
    return ascii_folded.scatter(positions, folded)


def fold_expr(expr: pl.Expr) -> pl.Expr:
    import polars as pl

    return expr.map_batches(_fold_series, return_dtype=pl.String)
