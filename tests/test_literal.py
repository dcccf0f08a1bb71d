"""``etl.literal`` must read the raw files' nested cells exactly as ``ast.literal_eval`` does.

The fast path (JSON translation, vectorised with Polars) is only worth having if it is
indistinguishable from ``ast``: same values (types included), same failures. Hypothesis holds
``parse_literal``, ``parse_cells``, ``cells_to_json`` and ``decode`` to that on ``repr()`` of
arbitrary Python values, on token soup that is mostly not a literal, and on hand-written cells.
The same goes for ``data.text.fold`` against its Polars twin ``fold_expr``.
"""

from __future__ import annotations

import ast
import math
import unicodedata
from collections.abc import Sequence
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.text import fold, fold_expr
from etl.literal import LiteralError, cells_to_json, decode, exact_json, parse_cells, parse_literal


def examples(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow])


_MISSING = object()


def _ast(cell: str) -> Any:
    """``ast.literal_eval(cell)``, or ``_MISSING`` where it raises (anything at all)."""
    try:
        return ast.literal_eval(cell)
    except Exception:
        return _MISSING


def canon(value: Any, tuples_as_lists: bool = False) -> Any:
    """A type-tagged form of ``value``: ``==`` on it tells 1, 1.0, True and -0.0/0.0 apart
    (plain ``==`` does not), and lists from tuples (unless JSON is compared, which has none)."""
    if isinstance(value, bool) or value is None:
        return ("const", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", repr(value))
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, list):
        return ("list", [canon(v, tuples_as_lists) for v in value])
    if isinstance(value, tuple):
        kind = "list" if tuples_as_lists else "tuple"
        return (kind, [canon(v, tuples_as_lists) for v in value])
    if isinstance(value, dict):
        return ("dict", [(canon(k), canon(v, tuples_as_lists)) for k, v in value.items()])
    return ("other", repr(value))


def unordered(value: Any) -> Any:
    """``value`` with dict keys sorted: Polars structs keep the dtype's field order."""
    if isinstance(value, list):
        return [unordered(v) for v in value]
    if isinstance(value, dict):
        return {k: unordered(value[k]) for k in sorted(value)}
    return value


def json_representable(value: Any) -> bool:
    """Whether JSON (as orjson writes it) can carry ``value`` without changing it."""
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**64
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return not any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)
    if isinstance(value, list | tuple):
        return all(json_representable(v) for v in value)
    if isinstance(value, dict):
        return all(
            isinstance(k, str) and json_representable(k) and json_representable(v)
            for k, v in value.items()
        )
    return False


def assert_parses_like_ast(cell: str) -> None:
    expected = _ast(cell)
    if expected is _MISSING:
        with pytest.raises(LiteralError):
            parse_literal(cell)
    else:
        assert canon(parse_literal(cell)) == canon(expected), cell


def assert_json_like_ast(cells: Sequence[str | None]) -> None:
    """``cells_to_json``: valid JSON equal to the ``ast`` value, or bad where there is none."""
    out = cells_to_json(pl.Series(cells, dtype=pl.String))
    assert out.columns == ["json", "bad"]
    assert out.height == len(cells)
    for cell, text, bad in zip(cells, out["json"], out["bad"], strict=True):
        if cell is None or cell.strip() == "":
            assert text is None and bad is False, repr(cell)
            continue
        expected = _ast(cell)
        if expected is _MISSING or not json_representable(expected):
            assert text is None and bad is True, (cell, text)
        else:
            assert bad is False, repr(cell)
            assert text is not None
            got = orjson.loads(text)
            assert canon(got, tuples_as_lists=True) == canon(expected, tuples_as_lists=True), (
                cell,
                text,
            )


# --- strategies -----------------------------------------------------------------------------

# Fragments that trip naive quote/keyword rewriting, mixed into arbitrary unicode text.
_TRICKY = st.sampled_from(
    [
        "'", '"', "\\", "\\'", "\n", "\r", "\t", "\x00", "\x0c", "\x7f", "\u2028", "\xa0",
        "None", "True", "False", "null", "true", "': None, '", '": True, "', "O'Brien",
        'say "hi"', "[{", "}]", "', '", "1e5", "\\n", "é", "😀", "\ud7ff", "\U0010ffff",
    ]
)
TEXT = st.one_of(
    st.text(max_size=12),
    st.lists(st.one_of(_TRICKY, st.text(max_size=4)), max_size=6).map("".join),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # unbounded: big ints must stay ints
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30]),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(TEXT, children, max_size=5),
        st.lists(children, max_size=4).map(tuple),
    ),
    max_leaves=20,
)

# Token soup: mostly not literals, sometimes Python-only syntax (trailing commas, ``1.``,
# ``00``, implicit concatenation, top-level tuples), sometimes JSON-only spellings.
_TOKENS = st.sampled_from(
    [
        "[", "]", "{", "}", "(", ")", ":", ",", " ", "\t", "\n", "\r", "\x0c", "'a'", "'b c'",
        '"d"', "'", '"', "None", "True", "False", "null", "true", "NaN", "1", "-", "0", "00",
        ".", "5", "e", "E", "+", "1.", "-1.5e3", "18446744073709551616", "#", "\\", "j", "...",
        "x", "_", "'''", "u'", "b'", "'None'", "1e400",
    ]
)
SOUP = st.lists(_TOKENS, min_size=1, max_size=14).map("".join)


def _tmdb_entry() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"id": st.integers(min_value=-(2**63), max_value=2**63 - 1), "name": TEXT}
    )


TMDB_CELL_VALUES = st.lists(_tmdb_entry(), max_size=6)
ID_NAME = pl.List(pl.Struct({"id": pl.Int64, "name": pl.String}))

# --- parse_literal --------------------------------------------------------------------------


@examples(300)
@given(VALUES)
def test_parse_literal_equals_ast_on_repr(value: Any) -> None:
    cell = repr(value)
    expected = ast.literal_eval(cell)
    assert canon(expected) == canon(value)  # the generator itself round-trips
    assert canon(parse_literal(cell)) == canon(expected)


@examples(200)
@given(SOUP)
def test_parse_literal_equals_ast_on_token_soup(cell: str) -> None:
    assert_parses_like_ast(cell)


HAND_WRITTEN = [
    "[{'name': \"O'Brien\"}]",
    "[]",
    "{}",
    "[{'id': 2, 'name': 'None'}]",
    "[{'id': 3, 'name': 'a': None, b'}]",
    "[{'id': 3, 'name': \"it's ': None, 'x\"}]",
    "{'id': 10194, 'name': 'Toy Story Collection', 'poster_path': None}",
    "[{'id': 1, 'name': 'Say \"hi\"'}]",
    "[{'id': 1, 'name': 'back\\\\slash'}]",
    "[{'id': 1, 'name': 'tab\\there'}]",
    "['True', 'False', 'None', True, False, None]",
    "[18446744073709551616, -9223372036854775809, 9223372036854775807]",
    "[1e400, -1e400, 1e-400, -0.0, 5e-324]",
    "(1, 'a', (2,))",
    "[1, 2,]",
    "[1,]",
    "[1.]",
    "{1, 2}",
    "[{'id': 16, 'name': 'Animation'}]",
    "{'a': 1, 'a': 2}",
    "['a' 'b']",
    "1, 2",
    "[1., .5, 00, +1, - 1, 1_0, 0x10, 1j]",
    "  [1] ",
    "\t[1]",
    "\n[1]",
    "[1,\n 2]",
    "[" * 150 + "]" * 150,
    "'O\\'Brien'",
    "u'x'",
    "b'x'",
    "[...]",
    # not literals (``ast`` raises; so must ``parse_literal``)
    "garbage",
    "[1,",
    "{'a': ...",
    "__import__('os')",
    "[null]",
    "[true, false]",
    "null",
    "NaN",
    "[Infinity]",
    "\n [1]",
    "[1]\n  ",
    "[1 2]",
    "[,]",
    "{'a' 1}",
    "'unterminated",
    "[{'id': 1, 'name': 'x'}]]",
    "[" * 250 + "]" * 250,
    "--1",
    "-True",
    "[1]\x00",
    # double- and single-quoted strings in one cell; quotes and words inside strings
    "['say \"hi\"', \"it's\", None, True]",
    "[\"O'Brien's 'None'\", 'Dwight \"Dee\" True']",
    "[\"it's None\", 'x', \"False\"]",
    "['x', 'None', \"y\"]",
    "['a, None, b']",
    "['Truett', 'Falsetto', 'Nonesuch']",
    "[\"a' 'b\"]",
    "['\"', \"'\", '\"\"', \"''\"]",
    "['', \"\"]",
    "[{'name': \"O'Brien\", 'character': 'Herself - \"Host\"'}]",
    # numbers at the translation's limits (18 integer digits, two-digit exponents)
    "[999999999999999999, -999999999999999999, 1000000000000000000, 9223372036854775808]",
    "[-9223372036854775808, 12345678901234567890123]",
    "[1e99, 1e100, 1E+05, 1e05, 1e-99, 1e-100, 1.5e-324, 123456789012345678.5e99]",
    "[0, -0, -0.0, 0.0, 0e0, 1.0000000000000000000001]",
    # Python-only syntax the grammar lets through to the JSON check
    "['a',]",
    "{'a': 1,}",
    "[[],]",
    "{'a'}",
    "{1: 2}",
    "[:]",
    "None",
    " None\t",
    "True",
    "'x'",
    "''",
    "-5",
    # words glued to their neighbours
    "[NoneTrue]",
    "[1None]",
    "[None1]",
    "['a'None]",
    "[None'a']",
    "[1'a']",
    # characters JSON and Python treat differently inside strings
    "['a\tb']",
    "['a\x00b']",
    "['a\x7fb\u2028c\x85d']",
    "['\ud800']",
    "['a\x0cb']",
    "\x0c[1]",
    "[1]\x0c",
]


@pytest.mark.parametrize("cell", HAND_WRITTEN)
def test_parse_literal_hand_written(cell: str) -> None:
    assert_parses_like_ast(cell)


DEEP = [
    cell
    for depth in (99, 100, 101, 199, 200, 201, 1100)  # Python's parser stops at 200
    for cell in (
        "[" * depth + "]" * depth,
        "[[]" * depth + "]" * depth,
        '["x", ' * depth + "]" * depth,  # double-quoted strings
        "{'a': " * depth + "1" + "}" * depth,
        "[']', " * depth + "]" * depth,  # brackets inside strings do not nest
    )
]


def test_deep_nesting_like_ast() -> None:
    for cell in DEEP:
        assert_parses_like_ast(cell)
    assert_json_like_ast(DEEP)


def test_parse_literal_facts() -> None:
    assert parse_literal("[{'name': \"O'Brien\"}]") == [{"name": "O'Brien"}]
    assert parse_literal("[{'id': 2, 'name': 'None'}]") == [{"id": 2, "name": "None"}]
    big = parse_literal("[18446744073709551616]")[0]
    assert big == 2**64 and isinstance(big, int)
    for cell in ("garbage", "[1,", "{'a': ...", "__import__('os')", "[null]"):
        with pytest.raises(LiteralError):
            parse_literal(cell)
    assert issubclass(LiteralError, ValueError)


def _utf8(cell: str) -> bool:
    """Polars holds UTF-8 only (a CSV cell cannot carry a lone surrogate)."""
    try:
        cell.encode()
    except UnicodeEncodeError:
        return False
    return True


# --- parse_cells ----------------------------------------------------------------------------


def assert_batch_like_ast(cells: list[str]) -> None:
    """``parse_cells``: the ``ast`` value of every cell, or LiteralError if any cell has none."""
    expected = [_ast(cell) for cell in cells]
    if any(value is _MISSING for value in expected):
        with pytest.raises(LiteralError):
            parse_cells(cells)
    good = [cell for cell, value in zip(cells, expected, strict=True) if value is not _MISSING]
    assert canon(parse_cells(good)) == canon([_ast(cell) for cell in good])


@examples(60)
@given(st.lists(st.one_of(VALUES.map(repr), SOUP, st.sampled_from(HAND_WRITTEN)), max_size=25))
def test_parse_cells_equals_ast(cells: list[str]) -> None:
    assert_batch_like_ast(cells)


def test_parse_cells_hand_written() -> None:
    assert_batch_like_ast(HAND_WRITTEN + DEEP)
    assert parse_cells([]) == []


@examples(100)
@given(TMDB_CELL_VALUES)
def test_translation_covers_tmdb_cells(values: list[dict[str, Any]]) -> None:
    """What ``repr`` writes for TMDB-shaped data takes the vectorised path, not the fallback
    (that is what keeps the ETL fast), unless the description says otherwise: an escape,
    a 19-digit id, or None/True/False inside a single-quoted name."""
    cell = repr(values)
    single_quoted = [v["name"] for v in values if "'" not in v["name"]]
    covered = (
        "\\" not in cell
        and all(abs(v["id"]) < 10**18 for v in values)
        and not any(word in name for name in single_quoted for word in ("None", "True", "False"))
    )
    text = exact_json(pl.Series([cell]))[0]
    assert (text is not None) == covered, cell
    if text is not None:
        assert canon(orjson.loads(text)) == canon(values)


def test_translation_facts() -> None:
    covered = [
        "[{'name': \"O'Brien\", 'character': 'Herself - \"Host\"', 'x': None}]",
        "[{'id': 1, 'a': None, 'b': True, 'c': False, 'd': -0.5e-05, 'e': \"None's\"}]",
        "{'id': 10194, 'name': 'Toy Story Collection', 'poster_path': None}",
        "[999999999999999999, 1e99, \"a' 'b\"]",
        "None",
    ]
    fallback = [
        "['None']",  # a word inside a single-quoted string
        "['O\\'Brien']",  # an escape
        "[1,]",  # not JSON
        "[1000000000000000000]",  # 19 digits
        "[1e100]",
        "[" * 101 + "]" * 101,
        "['a\tb']",  # a control character inside a string
    ]
    out = exact_json(pl.Series(covered + fallback + [None]))
    assert out.to_list()[len(covered) :] == [None] * (len(fallback) + 1)
    for cell, text in zip(covered, out, strict=False):
        assert text is not None, cell
        assert canon(orjson.loads(text), tuples_as_lists=True) == canon(ast.literal_eval(cell))


# --- cells_to_json --------------------------------------------------------------------------


@examples(40)
@given(st.lists(VALUES.map(repr), min_size=1, max_size=25))
def test_cells_to_json_equals_ast_on_repr(cells: list[str]) -> None:
    assert_json_like_ast(cells)


@examples(100)
@given(st.lists(st.one_of(SOUP, st.none(), st.just(""), st.just("  ")), min_size=1, max_size=25))
def test_cells_to_json_equals_ast_on_token_soup(cells: list[str | None]) -> None:
    assert_json_like_ast(cells)


def test_cells_to_json_hand_written() -> None:
    assert_json_like_ast([cell for cell in HAND_WRITTEN if _utf8(cell)] + ["", " ", None])
    not_literals = ["garbage", "[1,", "{'a': ...", "__import__('os')", "[null]", "\n [1]", "[1 2]"]
    out = cells_to_json(pl.Series([*not_literals, "", " ", None], dtype=pl.String))
    assert out["bad"].to_list() == [True] * len(not_literals) + [False] * 3


# --- decode ---------------------------------------------------------------------------------


def _expected_decoded(cell: str | None) -> tuple[Any, bool]:
    """What ``decode(..., ID_NAME)`` should give for one cell: (value, bad)."""
    if cell is None or cell.strip() == "":
        return None, False
    value = _ast(cell)
    if value is _MISSING:
        return None, True
    return value, False


@examples(60)
@given(
    st.lists(
        st.one_of(
            TMDB_CELL_VALUES.map(repr),
            SOUP,
            st.sampled_from(["garbage", "[1,", "{'a': ...", "__import__('os')", "[null]"]),
            st.none(),
            st.just(""),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_decode_equals_ast_on_tmdb_shaped_cells(cells: list[str | None]) -> None:
    out = decode(pl.Series(cells, dtype=pl.String), ID_NAME)
    assert out.schema == pl.Schema({"value": ID_NAME, "bad": pl.Boolean()})
    for cell, value, bad in zip(cells, out["value"].to_list(), out["bad"], strict=True):
        expected, expected_bad = _expected_decoded(cell)
        is_tmdb = isinstance(expected, list) and all(
            isinstance(e, dict) and set(e) == {"id", "name"} and type(e["id"]) is int
            and isinstance(e["name"], str) and json_representable(e)
            for e in expected
        )
        if expected_bad:
            assert bad is True, repr(cell)
            assert value is None
        elif is_tmdb:
            assert bad is False, repr(cell)
            assert canon(value) == canon(unordered(expected)), repr(cell)
        elif cell is None or cell.strip() == "":
            assert (value, bad) == (None, False)
        # Other literals (numbers, strings, other shapes) are Polars' business: they decode
        # to something or are flagged bad; both are fine here, as long as nothing raises.


@examples(40)
@given(st.lists(TMDB_CELL_VALUES, min_size=1, max_size=30))
def test_decode_tmdb_lists_exactly(values: list[list[dict[str, Any]]]) -> None:
    """Only well-formed TMDB cells in the batch: all decode, none is bad (vectorised path)."""
    cells = [repr(v) for v in values]
    out = decode(pl.Series(cells, dtype=pl.String), ID_NAME)
    assert not out["bad"].any()
    assert canon(out["value"].to_list()) == canon(unordered(values))


def test_decode_struct_cells_with_extra_fields() -> None:
    dtype = pl.Struct({"id": pl.Int64, "name": pl.String})
    cells = [
        "{'id': 10194, 'name': 'Toy Story Collection', 'poster_path': '/x.jpg', "
        "'backdrop_path': None}",
        "{'id': 1, 'name': \"Ocean's Collection\", 'poster_path': None}",
        None,
        "{'id': 2, 'name': ",
    ]
    out = decode(pl.Series(cells, dtype=pl.String), dtype)
    assert out["value"].to_list() == [
        {"id": 10194, "name": "Toy Story Collection"},
        {"id": 1, "name": "Ocean's Collection"},
        None,
        None,
    ]
    assert out["bad"].to_list() == [False, False, False, True]


def test_decode_marks_only_the_bad_cell() -> None:
    cells = [
        "[{'id': 16, 'name': 'Animation'}, {'id': 35, 'name': 'Comedy'}]",
        "[{'id': 16, 'name': 'Animation'",
        "[{'id': 18, 'name': \"Director's Cut\"}]",
        "[]",
    ]
    out = decode(pl.Series(cells), ID_NAME)
    assert out["bad"].to_list() == [False, True, False, False]
    assert out["value"].to_list() == [
        [{"id": 16, "name": "Animation"}, {"id": 35, "name": "Comedy"}],
        None,
        [{"id": 18, "name": "Director's Cut"}],
        [],
    ]


# --- text folding ---------------------------------------------------------------------------


def _assigned(ch: str) -> bool:
    # Python 3.11's unicodedata is Unicode 14; Polars (Rust) knows newer versions, so the two
    # can only agree on characters Python knows. U+1171E moved from Mn to Mc after Unicode 14.
    return unicodedata.category(ch) not in ("Cn", "Cs") and ch != "\U0001171e"


FOLD_TEXT = st.one_of(
    st.text(st.characters(codec=None).filter(_assigned), max_size=30),
    st.lists(
        st.sampled_from(
            ["Amélie", "ΣΑΣ", " ", "\t", "\n", "\xa0", "\u3000", "\x85", "İ", "ß", "ﬁ", "Å",
             "e\u0301", "\u2028", "Ω", "Ǆ", "x"]
        ),
        max_size=10,
    ).map("".join),
)


@examples(100)
@given(st.lists(FOLD_TEXT, min_size=1, max_size=20))
def test_fold_equals_fold_expr(texts: list[str]) -> None:
    folded = pl.DataFrame({"t": texts}).select(fold_expr(pl.col("t")))["t"].to_list()
    assert folded == [fold(t) for t in texts]


def test_fold_facts() -> None:
    assert fold("Amélie") == "amelie"
    assert fold("  The   MATRIX\t Reloaded \n") == "the matrix reloaded"
    assert fold("Pokémon: The Movie") == fold("POKEMON: the movie")
    assert fold("Ｔｏｙ　Ｓｔｏｒｙ") == "toy story"  # full-width letters and ideographic space
    assert fold("\xa0Léon\u2003") == "leon"
    assert fold("") == ""
    texts = ["Amélie", "  The   MATRIX\t", None]
    got = pl.DataFrame({"t": texts}, schema={"t": pl.String}).select(fold_expr(pl.col("t")))
    assert got["t"].to_list() == ["amelie", "the matrix", None]


@pytest.mark.skipif(
    tuple(map(int, unicodedata.unidata_version.split("."))) >= (15,),
    reason="this Python's unicodedata already knows U+1E069",
)
def test_fold_unicode_version_skew() -> None:
    """Python 3.11 (Unicode 14) leaves U+1E069 alone while Polars' newer Unicode folds it to
    'ѕ': the stored key and the query's key must still be the same string."""
    for text in ("a\U0001e069", "Ա\U0001e069 X", "plain ASCII  Title "):
        assert pl.select(fold_expr(pl.lit(text))).item() == fold(text)
