"""Text folding shared by the ETL (stored lookup keys) and the catalog (incoming queries).

Both sides must fold identically, or exact lookups silently miss; ``fold`` and ``fold_expr``
are the scalar and Polars forms of one rule: Unicode NFKD, drop nonspacing marks, lowercase,
collapse and trim whitespace. The whitespace class is spelled out because Python's ``\\s``
and Rust's differ on a few control characters.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only the ETL builds expressions; a server worker never imports Polars
    import polars as pl

_WS = "[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_RUNS = re.compile(_WS + "+")
_EDGES = re.compile(f"^{_WS}+|{_WS}+$")


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _EDGES.sub("", _RUNS.sub(" ", stripped.lower()))


def fold_expr(expr: pl.Expr) -> pl.Expr:
    return (
        expr.str.normalize("NFKD")
        .str.replace_all(r"\p{Mn}+", "")
        .str.to_lowercase()
        .str.replace_all(_WS + "+", " ")
        .str.replace_all(f"^{_WS}+|{_WS}+$", "")
    )
