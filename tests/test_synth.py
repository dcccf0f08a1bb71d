"""The synthetic twin (bench/synth.py): raw format, determinism, quirks, realism, scaling."""

from __future__ import annotations

import ast
import csv
import gzip
import io
import math
import re
from collections import Counter
from pathlib import Path

import pytest

from bench.synth import (
    CREDITS_COLUMNS,
    DEFAULT_SAMPLE_DIR,
    KEYWORDS_COLUMNS,
    MOVIE_COLUMNS,
    SAMPLE_HEAD_ROWS,
    SynthSummary,
    generate,
    summary_stats,
)

FILES = ("movies_dataset.csv", "credits.csv", "keywords.csv")
CAST_KEYS = ["cast_id", "character", "credit_id", "gender", "id", "name", "order", "profile_path"]
CREW_KEYS = ["credit_id", "department", "gender", "id", "job", "name", "profile_path"]
NESTED_KEYS = {
    "genres": ["id", "name"],
    "production_companies": ["name", "id"],
    "production_countries": ["iso_3166_1", "name"],
    "spoken_languages": ["iso_639_1", "name"],
}
COLLECTION_KEYS = ["id", "name", "poster_path", "backdrop_path"]


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    out = tmp_path_factory.mktemp("twin")
    return out, generate(0.05, out, seed=0)


@pytest.fixture(scope="module")
def twin_tenth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    out = tmp_path_factory.mktemp("twin_tenth")
    return out, generate(0.1, out, seed=3)


def test_headers_match_the_sample(twin: tuple[Path, SynthSummary]) -> None:
    out, _ = twin
    expected = {
        "movies_dataset.csv": MOVIE_COLUMNS,
        "credits.csv": CREDITS_COLUMNS,
        "keywords.csv": KEYWORDS_COLUMNS,
    }
    for name in FILES:
        with gzip.open(DEFAULT_SAMPLE_DIR / f"{name}.gz", "rt", encoding="utf-8") as fh:
            sample_header = next(csv.reader(fh))
        assert _rows(out / name)[0] == sample_header == list(expected[name])


def test_quoting_is_the_csv_modules(twin: tuple[Path, SynthSummary]) -> None:
    # Rewriting the parsed rows with csv.writer(QUOTE_MINIMAL) must give the same bytes.
    out, _ = twin
    for name in FILES:
        raw = (out / name).read_bytes()
        buf = io.StringIO(newline="")
        csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\n").writerows(_rows(out / name))
        assert buf.getvalue().encode("utf-8") == raw, name


def test_nested_cells_parse_into_the_real_shapes(twin: tuple[Path, SynthSummary]) -> None:
    out, _ = twin
    movies = _rows(out / "movies_dataset.csv")
    col = {c: i for i, c in enumerate(movies[0])}
    full = [r for r in movies[1:] if len(r) == len(MOVIE_COLUMNS) and r[col["id"]].isdigit()]
    for row in full:
        for name, keys in NESTED_KEYS.items():
            value = ast.literal_eval(row[col[name]])
            assert isinstance(value, list)
            assert all(list(item) == keys for item in value), (name, row[col[name]])
        if row[col["belongs_to_collection"]]:
            cell = row[col["belongs_to_collection"]]
            assert list(ast.literal_eval(cell)) == COLLECTION_KEYS
            assert repr(ast.literal_eval(cell)) == cell
        companies = row[col["production_companies"]]
        assert repr(ast.literal_eval(companies)) == companies
        assert row[col["adult"]] in ("True", "False")
    names: list[str] = []
    for cast, crew, mid in _rows(out / "credits.csv")[1:]:
        assert mid.isdigit()
        cast_value, crew_value = ast.literal_eval(cast), ast.literal_eval(crew)
        assert repr(cast_value) == cast and repr(crew_value) == crew  # Python's own repr
        assert all(list(c) == CAST_KEYS for c in cast_value)
        assert all(list(c) == CREW_KEYS for c in crew_value)
        assert [c["order"] for c in cast_value] == sorted(c["order"] for c in cast_value)
        names += [c["name"] for c in (*cast_value, *crew_value)]
    for mid, cell in _rows(out / "keywords.csv")[1:]:
        value = ast.literal_eval(cell)
        assert mid.isdigit() and repr(value) == cell
        assert all(list(k) == ["id", "name"] for k in value)
    # Apostrophe names (double-quoted in the cell) and non-Latin names must occur.
    assert any("'" in n for n in names)
    assert any(
        re.search(r"[\u0400-\u04ff\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]", n) for n in names
    )


def test_same_seed_same_bytes_other_seed_differs(
    twin: tuple[Path, SynthSummary], tmp_path: Path
) -> None:
    out, summary = twin
    again = generate(0.05, tmp_path / "again", seed=0)
    other = generate(0.05, tmp_path / "other", seed=1)
    assert again == summary
    for name in FILES:
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes(), name
        assert (tmp_path / "other" / name).read_bytes() != (out / name).read_bytes(), name
    assert other.movie_rows == summary.movie_rows  # counts depend on the scale only


def test_quirks_are_present_as_recorded(twin: tuple[Path, SynthSummary]) -> None:
    out, s = twin
    movies = _rows(out / "movies_dataset.csv")[1:]
    assert s.movie_rows == len(movies)
    id_at, date_at, pop_at, title_at = (
        MOVIE_COLUMNS.index(c) for c in ("id", "release_date", "popularity", "title")
    )
    tails = [i for i, r in enumerate(movies) if not r[id_at].isdigit()]
    assert len(tails) == s.malformed_rows >= 1
    for i in tails:  # the real split: 10-field stub with the id, then a 9-column-shifted tail
        stub, tail = movies[i - 1], movies[i]
        assert len(stub) == 10 and stub[id_at].isdigit()
        assert len(tail) == 15 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", tail[id_at])
        assert float(tail[1]) >= 0 and tail[11]  # popularity and title, shifted by 9
    stubs = [r for r in movies if len(r) == 10]
    assert len(stubs) == s.truncated_rows == s.malformed_rows
    full = [r for r in movies if len(r) == len(MOVIE_COLUMNS)]
    assert all(r[id_at].isdigit() for r in full)

    first: dict[str, list[str]] = {}
    extra = conflicting = 0
    for r in full + stubs:
        if r[id_at] in first:
            extra += 1
            conflicting += r != first[r[id_at]]
        else:
            first[r[id_at]] = r
    counts = Counter(r[id_at] for r in full + stubs)
    assert extra == s.duplicate_movie_rows >= 1
    assert sum(1 for n in counts.values() if n > 1) == s.duplicate_movie_ids
    assert conflicting == s.conflicting_duplicate_rows
    assert len(first) == s.distinct_movie_ids
    assert sum(1 for r in full if r[date_at] == "") == s.empty_release_date >= 1
    assert sum(1 for r in full if "e" in r[pop_at]) == s.popularity_exponent >= 1
    assert all(r[title_at] for r in full)

    credits = _rows(out / "credits.csv")[1:]
    credit_ids = Counter(r[2] for r in credits)
    assert len(credits) == s.credits_rows == s.distinct_movie_ids + s.duplicate_credits_rows
    assert set(credit_ids) == set(first)  # every valid movie id has credits
    assert {m for m, n in counts.items() if n > 1} <= {m for m, n in credit_ids.items() if n > 1}
    assert sum(r[0] == "[]" for r in credits) == s.empty_cast_rows >= 1
    assert sum(r[1] == "[]" for r in credits) == s.empty_crew_rows
    keywords = _rows(out / "keywords.csv")[1:]
    assert len(keywords) == s.keywords_rows == s.distinct_movie_ids + s.duplicate_keywords_rows
    assert {r[0] for r in keywords} == set(first)
    cast_entries = sum(r[0].count("'cast_id': ") for r in credits)
    crew_entries = sum(r[1].count("'credit_id': ") for r in credits)
    dup_credits = [r for r in credits if credit_ids[r[2]] > 1]
    dup_cast = sum(r[0].count("'cast_id': ") for r in dup_credits)
    dup_crew = sum(r[1].count("'credit_id': ") for r in dup_credits)
    # Summary entries count each movie once; the file also holds the extra copies.
    assert s.cast_entries <= cast_entries <= s.cast_entries + dup_cast
    assert s.crew_entries <= crew_entries <= s.crew_entries + dup_crew


# Twin (scale 0.1) vs the sample's uniform part (rows after the biased head): tolerances.
RELATIVE = 0.20  # means and medians
ABSOLUTE = 0.05  # shares
RELATIVE_KEYS = (
    "vote_count_median",
    "vote_average_mean",
    "popularity_median",
    "runtime_median",
    "overview_words_mean",
    "tagline_words_mean",
    "title_words_mean",
    "genres_per_movie_mean",
    "cast_size_mean",
    "cast_size_median",
    "crew_size_mean",
    "crew_size_median",
    "directors_mean",
)
SHARE_PREFIXES = (
    "budget_",
    "revenue_",
    "vote_count_zero",
    "collection_",
    "homepage_",
    "tagline_share",
    "overview_empty",
    "genres_empty",
    "companies_",
    "english_",
    "genre_share_",
    "weekday_share_",
    "cast_empty",
    "crew_empty",
)


def test_summary_statistics_match_the_sample(twin_tenth: tuple[Path, SynthSummary]) -> None:
    out, _ = twin_tenth
    real = summary_stats(
        DEFAULT_SAMPLE_DIR / "movies_dataset.csv.gz",
        DEFAULT_SAMPLE_DIR / "credits.csv.gz",
        skip_movie_rows=SAMPLE_HEAD_ROWS,
    )
    fake = summary_stats(out / "movies_dataset.csv", out / "credits.csv")
    assert real.keys() == fake.keys()
    checked = 0
    for key in RELATIVE_KEYS:
        assert math.isclose(fake[key], real[key], rel_tol=RELATIVE), (key, fake[key], real[key])
        checked += 1
    for key in real:
        if key.startswith(SHARE_PREFIXES):
            assert abs(fake[key] - real[key]) <= ABSOLUTE, (key, fake[key], real[key])
            checked += 1
    assert checked >= 35
    assert abs(fake["release_year_median"] - real["release_year_median"]) <= 3


def test_counts_scale_linearly(twin_tenth: tuple[Path, SynthSummary]) -> None:
    _, s = twin_tenth
    assert s.movie_rows == round(45_466 * 0.1)
    assert abs(s.credits_rows - round(45_476 * 0.1)) <= 2
    assert abs(s.keywords_rows - round(46_419 * 0.1)) <= 2
    # Full files: ~560k cast and ~460k crew entries, ~200k distinct cast people.
    assert s.cast_entries == pytest.approx(56_000, rel=0.1)
    assert s.crew_entries == pytest.approx(46_000, rel=0.1)
    assert s.distinct_cast_people == pytest.approx(20_000, rel=0.15)
    assert (s.malformed_rows, s.duplicate_movie_rows, s.empty_release_date) == (1, 3, 8)
