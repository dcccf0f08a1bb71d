"""The EDA report must be complete, self-contained and say what the data really shows.

Readings are checked against figures computed here independently of ``report.eda`` (plain Python
over the Parquet rows), and a cut-down build proves they are computed, not hard-coded.
"""

from __future__ import annotations

import base64
import html
import json
import re
import struct
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from etl.inputs import default_inputs
from etl.pipeline import run
from report.eda import ReportError, build_report

HEADINGS = (
    "Releases by month",
    "Releases by weekday",
    "Releases by year",
    "Distribution of runtime",
    "Data errors: budgets and revenues under $1,000",
    "Budget vs revenue",
    "Distribution of return",
    "Top-grossing movies",
    "Top genres",
    "Genres over time",
    "Top production companies",
    "Top production countries",
    "Top spoken languages",
    "Most frequent actors and directors",
    "Most profitable actors and directors",
    "Vote count vs vote average",
    "Distribution of vote average",
    "Correlation of the numeric columns",
    "Missing values in the movies table",
    "Word cloud of titles",
)
# Sections that are a table rather than a figure.
TABLE_ONLY = ("Data errors: budgets and revenues under $1,000",)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded sample's warehouse, built once for the whole module."""
    out = tmp_path_factory.mktemp("b") / "build"
    run(default_inputs(), out)
    return out


@pytest.fixture(scope="session")
def report(build: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[str]]:
    steps: list[str] = []
    path = build_report(build, tmp_path_factory.mktemp("report"), steps.append)
    return path, path.read_text(encoding="utf-8"), steps


def reading(page: str, key: str) -> str:
    """The one-line reading of the section with id ``key``, unescaped."""
    match = re.search(rf'<section[^>]*id="{key}".*?<p class="reading">(.*?)</p>', page, re.S)
    assert match, f"section {key!r} has no reading"
    return html.unescape(match.group(1))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    assert data[12:16] == b"IHDR", "PNG without IHDR first"
    return struct.unpack(">II", data[16:24])


def test_report_is_written_with_progress(report: tuple[Path, str, list[str]]) -> None:
    path, page, steps = report
    assert path.name == "index.html" and path.is_file()
    assert page.startswith("<!doctype html>")
    # The CLI shows progress per section: every heading is announced, in report order.
    announced = [step for step in steps if step in HEADINGS]
    assert announced == list(HEADINGS)


def test_every_section_has_its_heading(report: tuple[Path, str, list[str]]) -> None:
    _, page, _ = report
    for number, heading in enumerate(HEADINGS, start=1):
        assert f"<h2>{number}. {html.escape(heading)}</h2>" in page


def test_figures_are_embedded_valid_pngs(report: tuple[Path, str, list[str]]) -> None:
    _, page, _ = report
    images = IMG.findall(page)
    assert len(images) >= len(HEADINGS) - len(TABLE_ONLY)
    for encoded in images:
        width, height = png_size(base64.b64decode(encoded, validate=True))
        assert width > 0 and height > 0
    # Self-contained: nothing is fetched from elsewhere.
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_month_reading_names_the_busiest_month(
    report: tuple[Path, str, list[str]], build: Path
) -> None:
    _, page, _ = report
    dates = pl.read_parquet(build / "movies.parquet", columns=["release_date"])["release_date"]
    per_month = Counter(date.month for date in dates.to_list())
    most = max(per_month.values())
    busiest = {MONTHS[month - 1] for month, count in per_month.items() if count == most}
    text = reading(page, "month")
    named = text.split(" ", 1)[0]
    assert named in busiest, text
    assert f"({most:,}" in text, text


def test_header_reports_the_real_row_count(
    report: tuple[Path, str, list[str]], build: Path
) -> None:
    _, page, _ = report
    movies = pl.read_parquet(build / "movies.parquet", columns=["id"]).height
    header = page.split("<section", 1)[0]
    assert f"<b>{movies:,}</b>movies" in header
    manifest = json.loads((build / "manifest.json").read_text())
    for file, summary in manifest["summary"].items():
        for reason, count in summary["by_reason"].items():
            assert f"{reason} = {count:,}" in header, (file, reason)


def test_readings_follow_the_data(build: Path, tmp_path: Path) -> None:
    """A build cut down to March releases without credits: the readings must change with it."""
    movies = pl.read_parquet(build / "movies.parquet")
    march = movies.filter(pl.col("release_date").dt.month() == 3).head(40)
    ids = march["id"]
    small = tmp_path / "small"
    small.mkdir()
    for table in build.glob("*.parquet"):
        frame = pl.read_parquet(table)
        if table.stem == "movies":
            frame = march
        elif table.stem in ("cast", "crew"):
            frame = frame.clear()
        elif "movie_id" in frame.columns:
            frame = frame.filter(pl.col("movie_id").is_in(ids.implode()))
        frame.write_parquet(small / table.name)
    page = build_report(small, tmp_path / "out").read_text(encoding="utf-8")
    assert reading(page, "month").startswith(f"March has the most releases ({march.height:,}")
    assert "no cast or crew credits" in reading(page, "people")
    assert len(IMG.findall(page)) >= len(HEADINGS) - len(TABLE_ONLY)


def test_a_table_off_contract_is_refused(build: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for table in build.glob("*.parquet"):
        frame = pl.read_parquet(table)
        if table.stem == "movies":
            frame = frame.drop("release_date")
        frame.write_parquet(broken / table.name)
    with pytest.raises(ReportError, match="release_date"):
        build_report(broken, tmp_path / "out")


def _money_rows(build: Path) -> list[dict[str, object]]:
    return pl.read_parquet(build / "movies.parquet",
                           columns=["title", "budget", "revenue", "return"]).to_dicts()


def test_unit_errors_are_flagged_not_reported_as_findings(
    report: tuple[Path, str, list[str]], build: Path
) -> None:
    _, page, _ = report
    rows = _money_rows(build)
    bad = [r for r in rows if 0 < r["budget"] < 1000 or 0 < r["revenue"] < 1000]  # type: ignore[operator]
    assert bad, "the sample has budgets or revenues under $1,000"
    errors = reading(page, "data-errors")
    assert errors.startswith(f"{len(bad)} movies state a budget or revenue under $1,000"), errors
    # The famous $113 budget is listed as an error...
    table = page.split('id="data-errors"', 1)[1].split("</section>", 1)[0]
    assert "The Karate Kid, Part II" in html.unescape(table) and "$113" in table
    # ... and the return statistics leave every flagged movie out.
    returns = reading(page, "return")
    assert "1,018,619" not in returns and f"{len(bad)} movies with a budget or revenue" in returns
    credible = [r for r in rows if r["budget"] >= 1000 and r["revenue"] >= 1000]  # type: ignore[operator]
    best = max(credible, key=lambda r: r["return"])  # type: ignore[arg-type, return-value]
    assert f"“{best['title']}”" in returns
    assert f"over {len(credible):,} movies" in returns


def test_languages_are_named_in_english(report: tuple[Path, str, list[str]]) -> None:
    _, page, _ = report
    assert reading(page, "languages").startswith("English leads the")
    assert "French" in reading(page, "languages")


def test_internal_columns_stay_out_of_missing_values(
    report: tuple[Path, str, list[str]], build: Path
) -> None:
    _, page, _ = report
    columns = pl.read_parquet_schema(build / "movies.parquet")
    assert "title_key" in columns
    assert f"of {len(columns) - 1} columns have no gaps" in reading(page, "missing")


def test_new_sections_read_from_the_data(report: tuple[Path, str, list[str]], build: Path) -> None:
    _, page, _ = report
    movies = pl.read_parquet(build / "movies.parquet")
    runtimes = sorted(r for r in movies["runtime"].to_list() if r)
    median = (runtimes[len(runtimes) // 2] + runtimes[(len(runtimes) - 1) // 2]) / 2
    assert reading(page, "runtime").startswith(f"The median runtime is {median:.0f} minutes")
    top = movies.sort("revenue", descending=True).row(0, named=True)
    assert reading(page, "top-grossing").startswith(f"“{top['title']}” ({top['release_year']})")
    grossing = page.split('id="top-grossing"', 1)[1].split("</section>", 1)[0]
    assert grossing.count("<tr>") == 16  # header + 15 movies
    assert "Spearman" in reading(page, "correlations")
    assert "grew most" in reading(page, "genres-time")
    rated = movies.filter(pl.col("vote_count") >= 10).height
    assert reading(page, "vote-average").startswith(f"Over {rated:,} movies with at least 10")


def test_tables_scroll_on_a_phone_and_nothing_is_logged(
    build: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import warnings

    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
        warnings.simplefilter("always")
        page = build_report(build, tmp_path / "out").read_text(encoding="utf-8")
    noisy = [r.getMessage() for r in caplog.records
             if r.name.startswith(("matplotlib", "PIL")) and r.levelno >= logging.INFO]
    assert noisy == []
    assert [str(w.message) for w in caught if "matplotlib" in str(w.filename)] == []
    # Every table sits in a horizontal scroller, so a long reject reason cannot widen the page.
    assert page.count("<table") == page.count('<div class="scroll"><table')
    assert ".scroll { overflow-x: auto;" in page
