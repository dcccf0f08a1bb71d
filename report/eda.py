"""Exploratory data analysis of a warehouse build, written as one self-contained HTML report.

Every section is a figure plus a one-line *reading* computed from the data, so the report stays
true when the build changes (sample or full catalogue). Figures are drawn on bare matplotlib
``Figure`` objects rendered by Agg (no pyplot global state, safe in a server process) and
embedded as base64 PNGs, so ``index.html`` can be mailed or opened offline as a single file.
"""

from __future__ import annotations

import base64
import calendar
import io
import math
import os
import time
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import orjson
import polars as pl
from jinja2 import Environment
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator
from wordcloud import STOPWORDS, WordCloud

from data.contract import polars_schema

Step = Callable[[str], Any]

TOP_N = 15
ACCENT = "#2f6f9f"
HIGHLIGHT = "#d1603d"
MUTED = "#9bb7cc"
# Columns where the ETL stores 0 for "not known" (budget/revenue nulls were filled with 0,
# return is 0 when it cannot be computed, and no film runs 0 minutes).
ZERO_MEANS_UNKNOWN = ("budget", "revenue", "return", "runtime")
# Nullable columns where null is a fact, not a gap: most movies belong to no collection.
NULL_MEANS_NONE = {"collection_id": "null = no collection"}
# Columns the ETL derives for its own lookups; they are never missing and are not data.
INTERNAL_COLUMNS = ("title_key",)
# Budgets and revenues this small are unit errors in this dataset (millions or thousands typed
# as dollars: a $113 budget makes a "1,018,619x" return); they are reported apart and left out
# of every money statistic.
MIN_CREDIBLE_USD = 1_000
# TMDB's codes that are not ISO 639-1 (xx = no language; cn = Cantonese).
TMDB_LANGUAGES = {"xx": "No language", "cn": "Cantonese"}
# Scoped to the report via rc_context so importing this module never changes global styling.
STYLE: dict[str, Any] = {
    "figure.figsize": (9.0, 4.2),
    "figure.dpi": 100,
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "both",
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.7,
    "axes.axisbelow": True,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
}


class ReportError(Exception):
    """The build cannot be reported on: a table file is missing or breaks the contract."""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    image: str  # base64 PNG
    reading: str
    note: str = ""
    table: tuple[tuple[str, ...], list[tuple[str, ...]]] | None = None  # header, rows


class Warehouse:
    """Lazy, cached access to a build's tables, checked against the contract on first read."""

    def __init__(self, build: Path) -> None:
        self.build = build
        self._tables: dict[str, pl.DataFrame] = {}

    def __getitem__(self, name: str) -> pl.DataFrame:
        if name not in self._tables:
            self._tables[name] = self._read(name)
        return self._tables[name]

    def _read(self, name: str) -> pl.DataFrame:
        path = self.build / f"{name}.parquet"
        if not path.is_file():
            raise ReportError(f"{path}: table file missing (run `movies etl` first)")
        frame = pl.read_parquet(path)
        # Extra columns are harmless; missing or retyped ones mean a stale or foreign build.
        for column, dtype in polars_schema(name).items():
            actual = frame.schema.get(column)
            if actual is None:
                raise ReportError(f"{path}: column {column!r} missing")
            if actual != dtype:
                raise ReportError(f"{path}: column {column!r} is {actual}, contract says {dtype}")
        return frame

    def manifest(self) -> dict[str, Any]:
        path = self.build / "manifest.json"
        return orjson.loads(path.read_bytes()) if path.is_file() else {}


# --- formatting -----------------------------------------------------------------------------


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _pct(part: float, whole: float) -> str:
    if not whole:
        return "n/a"
    share = 100 * part / whole
    # "0%" for a handful of rows would read as "none".
    return "<1%" if 0 < share < 0.5 else f"{share:.0f}%"


def _plural(count: float, noun: str, plural: str | None = None) -> str:
    return f"{_n(count)} {noun if count == 1 else plural or noun + 's'}"


def _money(value: float, tick: bool = False) -> str:
    """$1.6 bn in text; on axis ticks the shortest exact form ($100 M, $1.5 bn)."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    for threshold, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if value >= threshold:
            scaled = value / threshold
            return f"{sign}${scaled:g}{suffix}" if tick else f"{sign}${scaled:,.1f}{suffix}"
    return f"{sign}${value:,.0f}"


def _times(value: float) -> str:
    return f"{value:,.2f}×" if value < 10 else f"{value:,.0f}×"


def _list(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}"


def language_name(code: str, fallback: str = "") -> str:
    """English name of an ISO 639-1 code ("en" -> "English"), else TMDB's name, else the code."""
    import pycountry

    known = pycountry.languages.get(alpha_2=code) if len(code) == 2 else None
    if known is not None:
        return str(getattr(known, "common_name", None) or known.name)
    if code in TMDB_LANGUAGES:
        return TMDB_LANGUAGES[code]
    return fallback if fallback.strip() and _drawable(fallback) else code


def unit_error(column: str) -> pl.Expr:
    """A money value stated but implausibly small: a unit error, not a finding."""
    return (pl.col(column) > 0) & (pl.col(column) < MIN_CREDIBLE_USD)


def credible_money(movies: pl.DataFrame) -> pl.DataFrame:
    """Movies with budget and revenue both known and neither a unit error."""
    return movies.filter(
        (pl.col("budget") >= MIN_CREDIBLE_USD) & (pl.col("revenue") >= MIN_CREDIBLE_USD)
    )


def _unit_error_count(movies: pl.DataFrame) -> int:
    return movies.filter(unit_error("budget") | unit_error("revenue")).height


# --- figure helpers -------------------------------------------------------------------------


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # A name in a script the font lacks draws as boxes; one warning per glyph is noise.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.savefig(buffer, format="png")  # constrained layout already fits; "tight" redraws
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@cache
def _font() -> FT2Font:
    return font_manager.get_font(font_manager.findfont(font_manager.FontProperties()))


def _drawable(text: str) -> bool:
    """Whether the plot font has every glyph of ``text`` and the text reads left to right.

    Matplotlib neither shapes nor reorders right-to-left scripts, so Hebrew or Arabic would
    come out reversed even where the font has the glyphs.
    """
    font = _font()
    return all(
        font.get_char_index(ord(char)) and unicodedata.bidirectional(char) not in ("R", "AL")
        for char in text
        if not char.isspace()
    )


def _figure(ncols: int = 1, **kwargs: Any) -> tuple[Figure, list[Axes]]:
    fig = Figure(layout="constrained", **kwargs)
    FigureCanvasAgg(fig)  # render with Agg explicitly, whatever backend the process chose
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def _no_data(message: str) -> Figure:
    fig, (ax,) = _figure(figsize=(9.0, 1.6))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", color="#666", fontsize=12)
    return fig


def _barh(
    ax: Axes,
    labels: Sequence[str],
    values: Sequence[float],
    fmt: Callable[[float], str],
    tick: Callable[[float], str] | None = None,
    title: str = "",
    xlabel: str = "",
) -> None:
    """Horizontal bars, largest on top, each labelled with its value."""
    tick = tick or fmt
    positions = np.arange(len(labels))
    colors = [HIGHLIGHT if i == 0 else ACCENT for i in range(len(labels))]
    ax.barh(positions, values, color=colors)
    ax.set_yticks(positions, [_shorten(label) for label in labels])
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.set_title(title, loc="left")
    ax.set_xlabel(xlabel)
    top = max(0, *values) if values else 0
    low = min(0, *values) if values else 0  # a summed profit can be negative
    pad = 0.01 * ((top - low) or 1)
    for position, value in zip(positions, values, strict=True):
        ax.text(value + pad, position, fmt(value), va="center", fontsize=8, color="#444")
    ax.set_xlim(low * 1.15, top * 1.15 if top > 0 else 1)
    # Few ticks: money labels are wide and would collide on a half-width panel.
    ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))  # counts and dollars are whole
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: tick(v)))


def _shorten(label: str, width: int = 32) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _column_bars(labels: Sequence[str], counts: Sequence[int], ylabel: str) -> Figure:
    fig, (ax,) = _figure()
    peak = max(counts, default=0)
    colors = [HIGHLIGHT if c == peak and peak > 0 else ACCENT for c in counts]
    # Numeric positions with tick labels: string x values make matplotlib log a notice about
    # categorical units on every call.
    positions = np.arange(len(labels))
    ax.bar(positions, counts, color=colors)
    ax.set_xticks(positions, list(labels))
    ax.grid(axis="x", visible=False)
    ax.set_ylabel(ylabel)
    return fig


# --- sections -------------------------------------------------------------------------------


def _by_calendar(wh: Warehouse, part: pl.Expr, names: Sequence[str]) -> tuple[Figure, str]:
    """Releases per month or weekday, with the busiest and quietest named."""
    movies = wh["movies"]
    counts = dict(movies.group_by(part.alias("k")).len().iter_rows())
    # Every slot is listed, so a month with no releases can be the quietest.
    series = [int(counts.get(i + 1, 0)) for i in range(len(names))]
    if not movies.height:
        return _no_data("no movies"), "The build has no movies."
    fig = _column_bars([name[:3] for name in names], series, "movies released")
    top = max(range(len(series)), key=lambda i: (series[i], -i))
    low = min(range(len(series)), key=lambda i: (series[i], i))
    reading = (
        f"{names[top]} has the most releases ({_n(series[top])}, "
        f"{_pct(series[top], movies.height)}), {names[low]} the fewest ({_n(series[low])}), "
        f"out of {_n(movies.height)} movies."
    )
    return fig, reading


def releases_by_month(wh: Warehouse) -> tuple[Figure, str]:
    names = list(calendar.month_name)[1:]
    return _by_calendar(wh, pl.col("release_date").dt.month(), names)


def releases_by_weekday(wh: Warehouse) -> tuple[Figure, str]:
    names = list(calendar.day_name)  # Monday first, matching polars' ISO weekday 1..7
    return _by_calendar(wh, pl.col("release_date").dt.weekday(), names)


def releases_by_year(wh: Warehouse) -> tuple[Figure, str]:
    movies = wh["movies"]
    if not movies.height:
        return _no_data("no movies"), "The build has no movies."
    counts = movies.group_by("release_year").len().sort("release_year")
    first, last = counts["release_year"].min(), counts["release_year"].max()
    assert isinstance(first, int) and isinstance(last, int)
    lookup = dict(counts.iter_rows())
    years = list(range(first, last + 1))
    series = [int(lookup.get(year, 0)) for year in years]
    fig, (ax,) = _figure()
    ax.bar(years, series, width=1.0, color=ACCENT)
    ax.grid(axis="x", visible=False)
    ax.set_ylabel("movies released")
    peak = max(range(len(series)), key=lambda i: (series[i], -i))
    ax.bar([years[peak]], [series[peak]], width=1.0, color=HIGHLIGHT)
    median = int(movies.select(pl.col("release_year").median()).item())
    reading = (
        f"Releases span {first}–{last} and peak in {years[peak]} ({_n(series[peak])} movies); "
        f"half of the movies came out in {median} or later."
    )
    return fig, reading


def budget_vs_revenue(wh: Warehouse) -> tuple[Figure, str]:
    known = credible_money(wh["movies"])
    if not known.height:
        return _no_data("no movie has both budget and revenue"), (
            "No movie has both a budget and a revenue."
        )
    budget, revenue = known["budget"].to_numpy(), known["revenue"].to_numpy()
    fig, (ax,) = _figure(figsize=(7.5, 5.0))
    ax.scatter(budget, revenue, s=7, alpha=0.35, color=ACCENT, linewidths=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    low = min(budget.min(), revenue.min())
    high = max(budget.max(), revenue.max())
    ax.plot([low, high], [low, high], color=HIGHLIGHT, lw=1, label="break-even (revenue = budget)")
    ax.legend(loc="upper left", frameon=False)
    ax.set_xlabel("budget (USD, log)")
    ax.set_ylabel("revenue (USD, log)")
    money = FuncFormatter(lambda v, _pos: _money(v, tick=True))
    ax.xaxis.set_major_formatter(money)
    ax.yaxis.set_major_formatter(money)
    profitable = int((revenue > budget).sum())
    r = float(np.corrcoef(np.log10(budget), np.log10(revenue))[0, 1]) if known.height > 1 else 0.0
    errors = _unit_error_count(wh["movies"])
    reading = (
        f"{_n(known.height)} of {_n(wh['movies'].height)} movies have both a budget and a "
        f"revenue; {_pct(profitable, known.height)} of them earned more than they cost, and "
        f"log budget and log revenue correlate at r = {r:.2f}"
        + (f" ({_plural(errors, 'movie')} with a unit error left out)." if errors else ".")
    )
    return fig, reading


def return_distribution(wh: Warehouse) -> tuple[Figure, str]:
    movies = credible_money(wh["movies"]).filter(pl.col("return") > 0)
    if not movies.height:
        return _no_data("no movie has a computable return"), "No movie has a computable return."
    values = movies["return"].to_numpy()
    fig, (ax,) = _figure()
    lo, hi = math.floor(math.log10(values.min())), math.ceil(math.log10(values.max()))
    bins = np.logspace(lo, max(hi, lo + 1), 60)
    ax.hist(values, bins=bins, color=ACCENT)
    ax.set_xscale("log")
    ax.axvline(1.0, color=HIGHLIGHT, lw=1.2, label="break-even (return = 1)")
    ax.legend(frameon=False)
    ax.set_xlabel("return = revenue / budget (log)")
    ax.set_ylabel("movies")
    ax.grid(axis="x", visible=False)
    best = movies.sort("return", descending=True).row(0, named=True)
    losers = int((values < 1).sum())
    errors = _unit_error_count(wh["movies"])
    reading = (
        f"Median return is {_times(float(np.median(values)))} over {_n(movies.height)} movies; "
        f"{_pct(losers, movies.height)} earned back less than their budget, and the largest, "
        f"{_times(best['return'])}, is “{best['title']}” (budget {_money(best['budget'])}, "
        f"revenue {_money(best['revenue'])})"
        + (f"; {_plural(errors, 'movie')} with a budget or revenue under "
           f"${MIN_CREDIBLE_USD:,} (unit errors, see “Data errors”) are left out."
           if errors else ".")
    )
    return fig, reading


def _top_linked(
    wh: Warehouse, link: str, key: str, names: pl.DataFrame, noun: str, plural: str
) -> tuple[Figure, str]:
    """Top entities by distinct movies through a link table; ``names`` maps k -> label."""
    counts = (
        wh[link]
        .select("movie_id", pl.col(key).alias("k"))
        .unique()
        .group_by("k")
        .len("movies")
        .join(names, on="k", how="left")
        .with_columns(pl.col("label").fill_null(pl.col("k").cast(pl.String)))
        .sort(["movies", "label"], descending=[True, False])
    )
    total = wh["movies"].height
    linked = wh[link]["movie_id"].n_unique()
    if not counts.height:
        return _no_data(f"no {noun} recorded"), f"No movie has a {noun} recorded."
    top = counts.head(TOP_N)
    fig, (ax,) = _figure(figsize=(9.0, 0.28 * top.height + 1.0))
    _barh(ax, top["label"].to_list(), top["movies"].to_list(), _n, xlabel="movies")
    lead = [f"{row['label']} with {_n(row['movies'])}" for row in top.iter_rows(named=True)]
    reading = (
        f"{top['label'][0]} leads the {_plural(counts.height, noun, plural)} with "
        f"{_plural(top['movies'][0], 'movie')} ({_pct(top['movies'][0], total)} of all)"
        + (f", followed by {_list(lead[1:3])}" if len(lead) > 1 else "")
        + f"; {_pct(total - linked, total)} of movies list no {noun}."
    )
    return fig, reading


def _names(wh: Warehouse, table: str, key: str) -> pl.DataFrame:
    return wh[table].select(pl.col(key).alias("k"), pl.col("name").alias("label"))


def top_genres(wh: Warehouse) -> tuple[Figure, str]:
    return _top_linked(
        wh, "movie_genres", "genre_id", _names(wh, "genres", "id"), "genre", "genres"
    )


def top_companies(wh: Warehouse) -> tuple[Figure, str]:
    names = _names(wh, "companies", "id")
    return _top_linked(wh, "movie_companies", "company_id", names, "company", "companies")


def top_countries(wh: Warehouse) -> tuple[Figure, str]:
    names = _names(wh, "countries", "iso_3166_1")
    return _top_linked(
        wh, "movie_countries", "iso_3166_1", names, "production country", "production countries"
    )


def top_languages(wh: Warehouse) -> tuple[Figure, str]:
    # TMDB names languages in themselves (日本語, العربية) or not at all: the English name
    # from ISO 639 reads on an English page and draws in any font.
    labels = [
        language_name(code, name)
        for code, name in wh["languages"].select("iso_639_1", "name").iter_rows()
    ]
    names = wh["languages"].select(
        pl.col("iso_639_1").alias("k"), pl.Series("label", labels, dtype=pl.String)
    )
    return _top_linked(
        wh, "movie_languages", "iso_639_1", names, "spoken language", "spoken languages"
    )


def _credits(wh: Warehouse) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(movie_id, person_id) pairs for actors and directors, one row per person per movie."""
    actors = wh["cast"].select("movie_id", "person_id").unique()
    directors = (
        wh["crew"].filter(pl.col("job") == "Director").select("movie_id", "person_id").unique()
    )
    return actors, directors


def _named(frame: pl.DataFrame, wh: Warehouse) -> pl.DataFrame:
    people = wh["people"].select(pl.col("id").alias("person_id"), "name")
    return frame.join(people, on="person_id", how="left").with_columns(
        pl.col("name").fill_null(pl.format("person {}", pl.col("person_id")))
    )


def frequent_people(wh: Warehouse) -> tuple[Figure, str]:
    actors, directors = _credits(wh)
    if not actors.height and not directors.height:
        return _no_data("no credits in this build"), "The build has no cast or crew credits."
    fig, axes = _figure(ncols=2, figsize=(11.0, 0.28 * TOP_N + 1.2))
    leaders: list[str] = []
    for ax, frame, who, verb in (
        (axes[0], actors, "actors", "appears in"),
        (axes[1], directors, "directors", "directed"),
    ):
        counts = _named(frame.group_by("person_id").len("movies"), wh).sort(
            ["movies", "name"], descending=[True, False]
        )
        top = counts.head(TOP_N)
        _barh(
            ax,
            top["name"].to_list(),
            top["movies"].to_list(),
            _n,
            title=f"{who}: movies credited",
            xlabel="movies",
        )
        if top.height:
            most = _plural(top["movies"][0], "movie")
            leaders.append(f"{top['name'][0]} {verb} the most ({most})")
    covered = pl.concat([actors["movie_id"], directors["movie_id"]]).n_unique()
    total = wh["movies"].height
    reading = (
        "; ".join(leaders) + f". Credits cover {_n(covered)} of {_n(total)} movies "
        f"({_pct(covered, total)})."
    )
    return fig, reading


def profitable_people(wh: Warehouse) -> tuple[Figure, str]:
    # Profit = revenue - budget summed over a person's movies, only where both are known:
    # a sum (unlike mean return) is not dominated by one tiny-budget outlier.
    profit = (
        credible_money(wh["movies"])
        .select(pl.col("id").alias("movie_id"), (pl.col("revenue") - pl.col("budget")).alias("p"))
    )
    actors, directors = _credits(wh)
    fig, axes = _figure(ncols=2, figsize=(11.0, 0.28 * TOP_N + 1.2))
    leaders: list[str] = []
    for ax, frame, who in ((axes[0], actors, "actor"), (axes[1], directors, "director")):
        sums = _named(
            frame.join(profit, on="movie_id")
            .group_by("person_id")
            .agg(pl.col("p").sum(), pl.len().alias("movies")),
            wh,
        ).sort(["p", "name"], descending=[True, False])
        top = sums.head(TOP_N)
        _barh(
            ax,
            top["name"].to_list(),
            top["p"].to_list(),
            _money,
            lambda v: _money(v, tick=True),
            title=f"{who}s: total profit (revenue − budget)",
            xlabel="USD",
        )
        if top.height:
            leaders.append(
                f"{top['name'][0]} is the most profitable {who} ({_money(top['p'][0])} over "
                f"{_plural(top['movies'][0], 'movie')})"
            )
    if not leaders:
        return _no_data("no credited movie has both budget and revenue"), (
            "No credited movie has both a budget and a revenue."
        )
    reading = "Summing revenue − budget over movies with both known, " + _list(leaders) + "."
    return fig, reading


def votes(wh: Warehouse) -> tuple[Figure, str]:
    # A vote_average of 0 with no votes is "not rated", not a rating of zero.
    rated = wh["movies"].filter((pl.col("vote_count") > 0) & pl.col("vote_average").is_not_null())
    if not rated.height:
        return _no_data("no rated movies"), "No movie has any votes."
    fig, (ax,) = _figure(figsize=(8.0, 4.8))
    ax.scatter(
        rated["vote_count"].to_numpy(),
        rated["vote_average"].to_numpy(),
        s=7,
        alpha=0.35,
        color=ACCENT,
        linewidths=0,
    )
    ax.set_xscale("log")
    ax.set_xlabel("vote count (log)")
    ax.set_ylabel("vote average")
    ax.set_ylim(0, 10.3)
    median_count = float(rated.select(pl.col("vote_count").median()).item())
    above = rated.filter(pl.col("vote_count") > median_count)["vote_average"].mean()
    below = rated.filter(pl.col("vote_count") <= median_count)["vote_average"].mean()
    rho = rated.select(pl.corr("vote_count", "vote_average", method="spearman")).item()
    above, below = float(above or 0), float(below or 0)
    trend = {True: "widely seen movies rate higher", False: "widely seen movies rate lower"}
    reading = (
        f"Over {_n(rated.height)} rated movies, those with more than the median "
        f"{_n(median_count)} votes average {above:.1f} against {below:.1f} for the rest "
        f"(Spearman ρ = {float(rho or 0):.2f})"
        + (f": {trend[above > below]}." if above != below else ".")
    )
    return fig, reading


def missing_values(wh: Warehouse) -> tuple[Figure, str]:
    movies = wh["movies"]
    total = movies.height
    if not total:
        return _no_data("no movies"), "The build has no movies."
    nulls = movies.null_count().row(0, named=True)
    zeros = movies.select(
        [(pl.col(c) == 0).sum().alias(c) for c in ZERO_MEANS_UNKNOWN if c in movies.columns]
    ).row(0, named=True)
    # (column, nulls, zeros meaning unknown), most incomplete first.
    rows = sorted(
        ((c, int(nulls[c]), int(zeros.get(c, 0))) for c in movies.columns
         if c not in INTERNAL_COLUMNS),
        key=lambda r: (-(r[1] + r[2]), r[0]),
    )
    fig, (ax,) = _figure(figsize=(9.0, 0.27 * len(rows) + 1.0))
    positions = np.arange(len(rows))
    null_pct = np.array([100 * r[1] / total for r in rows])
    zero_pct = np.array([100 * r[2] / total for r in rows])
    null_colors = [MUTED if r[0] in NULL_MEANS_NONE else ACCENT for r in rows]
    ax.barh(positions, null_pct, color=null_colors)
    ax.barh(positions, zero_pct, left=null_pct, color=HIGHLIGHT)
    labels = [f"{c} ({NULL_MEANS_NONE[c]})" if c in NULL_MEANS_NONE else c for c, _, _ in rows]
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.set_xlim(0, 105)
    ax.set_xlabel("% of movies")
    # Explicit handles: the bars' own colours vary per row, so auto-legend would mislabel.
    legend = {"null (unknown)": ACCENT, "0 (unknown)": HIGHLIGHT, "null (not applicable)": MUTED}
    handles = [Patch(color=color, label=label) for label, color in legend.items()]
    ax.legend(handles=handles, frameon=False, loc="lower right")
    for position, (_column, n, z) in zip(positions, rows, strict=True):
        if n + z:
            share = _pct(n + z, total)
            ax.text(100 * (n + z) / total + 1, position, share, va="center", fontsize=8)
    gaps = [r for r in rows if r[0] not in NULL_MEANS_NONE and r[1] + r[2]]
    complete = sum(1 for r in rows if not r[1] + r[2])
    if not gaps:
        return fig, f"Every column is complete ({complete} of {len(rows)} without a single gap)."
    column, n, z = gaps[0]
    stored = ", stored as 0" if z >= n else ""
    reading = (
        f"{column} is the least complete column ({_pct(n + z, total)} unknown{stored}), "
        f"followed by {_list([f'{c} ({_pct(cn + cz, total)})' for c, cn, cz in gaps[1:3]])}; "
        f"{complete} of {len(rows)} columns have no gaps."
        if len(gaps) > 1
        else f"{column} is the only incomplete column ({_pct(n + z, total)} unknown{stored}); "
        f"{complete} of {len(rows)} columns have no gaps."
    )
    return fig, reading


def title_cloud(wh: Warehouse) -> tuple[bytes, str]:
    """Word cloud of titles, returned as PNG bytes (WordCloud renders its own image)."""
    text = " ".join(wh["movies"]["title"].to_list())
    # Titles are short, so the usual English stopwords would dominate ("The", "of").
    cloud = WordCloud(
        width=1000,
        height=450,
        background_color="white",
        random_state=42,
        stopwords=STOPWORDS,
        collocations=False,
        colormap="viridis",
        max_words=150,
    )
    counts = cloud.process_text(text)
    if not counts:
        return b"", "No title words to draw."
    cloud.generate_from_frequencies(counts)
    buffer = io.BytesIO()
    cloud.to_image().save(buffer, format="PNG")
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    reading = (
        "The most frequent title words (stopwords removed) are "
        + _list([f"“{word}” ({_n(count)})" for word, count in top])
        + "."
    )
    return buffer.getvalue(), reading



Table = tuple[tuple[str, ...], list[tuple[str, ...]]]


def data_errors(wh: Warehouse) -> tuple[Figure | None, str, Table]:
    """Budgets and revenues under MIN_CREDIBLE_USD, listed apart instead of analysed."""
    movies = wh["movies"]
    flagged = movies.filter(unit_error("budget") | unit_error("revenue")).sort(
        ["return", "id"], descending=[True, False]
    )
    header = ("title", "year", "budget", "revenue", "stated return")
    rows = [
        (r["title"], str(r["release_year"]), _money(r["budget"]) if r["budget"] else "—",
         _money(r["revenue"]) if r["revenue"] else "—", _times(r["return"]) if r["return"] else "—")
        for r in flagged.head(25).iter_rows(named=True)
    ]
    if not flagged.height:
        return None, f"No movie states a budget or revenue under ${MIN_CREDIBLE_USD:,}.", (
            header, rows)
    budgets = movies.filter(unit_error("budget")).height
    revenues = movies.filter(unit_error("revenue")).height
    worst = flagged.row(0, named=True)
    reading = (
        f"{_plural(flagged.height, 'movie')} state a budget or revenue under "
        f"${MIN_CREDIBLE_USD:,} ({_plural(budgets, 'budget')}, "
        f"{_plural(revenues, 'revenue')}): unit errors (millions or thousands typed as dollars), "
        f"not findings. “{worst['title']}” would claim a {_times(worst['return'])} return. "
        "They are listed here and left out of every budget, revenue, return and profit figure."
    )
    return None, reading, (header, rows)


def runtime_distribution(wh: Warehouse) -> tuple[Figure, str]:
    movies = wh["movies"].filter(pl.col("runtime") > 0)
    if not movies.height:
        return _no_data("no movie has a runtime"), "No movie has a runtime."
    values = movies["runtime"].to_numpy()
    cap = max(60.0, float(np.percentile(values, 99.5)))
    fig, (ax,) = _figure()
    ax.hist(np.minimum(values, cap), bins=np.arange(0, cap + 5, 5), color=ACCENT)
    ax.set_xlabel(f"runtime (minutes; the last bar holds everything over {cap:.0f})")
    ax.set_ylabel("movies")
    ax.grid(axis="x", visible=False)
    median = float(np.median(values))
    ax.axvline(median, color=HIGHLIGHT, lw=1.2, label=f"median {median:.0f} min")
    ax.legend(frameon=False)
    feature = int(((values >= 80) & (values <= 120)).sum())
    longest = movies.sort(["runtime", "id"], descending=[True, False]).row(0, named=True)
    unknown = wh["movies"].height - movies.height
    reading = (
        f"The median runtime is {median:.0f} minutes; {_pct(feature, movies.height)} of "
        f"{_n(movies.height)} movies run 80–120 minutes, and the longest is “{longest['title']}” "
        f"({longest['runtime']:.0f} min). {_n(unknown)} movies have no runtime (0 or null)."
    )
    return fig, reading


MIN_VOTES_FOR_AVERAGE = 10


def vote_average_distribution(wh: Warehouse) -> tuple[Figure, str]:
    rated = wh["movies"].filter(
        (pl.col("vote_count") >= MIN_VOTES_FOR_AVERAGE) & pl.col("vote_average").is_not_null()
    )
    if not rated.height:
        return _no_data(f"no movie has {MIN_VOTES_FOR_AVERAGE}+ votes"), (
            f"No movie has {MIN_VOTES_FOR_AVERAGE} or more votes."
        )
    values = rated["vote_average"].to_numpy()
    fig, (ax,) = _figure()
    ax.hist(values, bins=np.arange(0, 10.25, 0.25), color=ACCENT)
    median = float(np.median(values))
    ax.axvline(median, color=HIGHLIGHT, lw=1.2, label=f"median {median:.1f}")
    ax.legend(frameon=False)
    ax.set_xlabel("vote average (0–10)")
    ax.set_ylabel("movies")
    ax.grid(axis="x", visible=False)
    high = int((values >= 7).sum())
    reading = (
        f"Over {_n(rated.height)} movies with at least {MIN_VOTES_FOR_AVERAGE} votes the median "
        f"average is {median:.1f} and {_pct(high, rated.height)} score 7 or more; "
        f"{_n(wh['movies'].height - rated.height)} movies with fewer votes are left out "
        "(an average of a handful of votes is noise)."
    )
    return fig, reading


MIN_MOVIES_PER_DECADE = 30


def genres_over_time(wh: Warehouse) -> tuple[Figure, str]:
    movies = wh["movies"].select(
        pl.col("id").alias("movie_id"), (pl.col("release_year") // 10 * 10).alias("decade")
    )
    per_decade = movies.group_by("decade").len("movies")
    decades = per_decade.filter(pl.col("movies") >= MIN_MOVIES_PER_DECADE).sort("decade")
    links = wh["movie_genres"].select("movie_id", "genre_id").unique().join(movies, on="movie_id")
    if decades.height < 2 or not links.height:
        return _no_data("too few movies per decade"), (
            f"Fewer than two decades have {MIN_MOVIES_PER_DECADE} or more movies with genres."
        )
    names = _names(wh, "genres", "id").rename({"k": "genre_id"})
    top = (
        links.group_by("genre_id").len("n").sort(["n", "genre_id"], descending=[True, False])
        .head(6).join(names, on="genre_id")
    )
    shares = (
        links.join(top.select("genre_id", "label"), on="genre_id")
        .group_by("decade", "label").len("n")
        .join(decades, on="decade")
        .with_columns(share=100 * pl.col("n") / pl.col("movies"))
    )
    fig, (ax,) = _figure()
    xs = decades["decade"].to_list()
    changes: list[tuple[float, str, float, float]] = []
    for label in top.sort(["n", "genre_id"], descending=[True, False])["label"].to_list():
        lookup = dict(shares.filter(pl.col("label") == label).select("decade", "share").iter_rows())
        ys = [float(lookup.get(x, 0.0)) for x in xs]
        ax.plot(xs, ys, marker="o", ms=3, lw=1.6, label=label)
        changes.append((ys[-1] - ys[0], label, ys[0], ys[-1]))
    ax.set_xticks(xs, [f"{x}s" for x in xs])
    ax.set_ylabel("% of the decade's movies")
    ax.legend(frameon=False, ncols=3, fontsize=8)
    rise = max(changes)
    fall = min(changes)
    first, last = xs[0], xs[-1]
    reading = (
        f"Of the six most common genres, {rise[1]} grew most, from {rise[2]:.0f}% of the "
        f"{first}s' movies to {rise[3]:.0f}% in the {last}s, and {fall[1]} shrank most "
        f"({fall[2]:.0f}% to {fall[3]:.0f}%); decades with fewer than "
        f"{MIN_MOVIES_PER_DECADE} movies are left out."
    )
    return fig, reading


def top_grossing(wh: Warehouse) -> tuple[Figure, str, Table]:
    movies = wh["movies"].filter(pl.col("revenue") >= MIN_CREDIBLE_USD)
    header = ("#", "title", "year", "revenue", "budget", "return")
    if not movies.height:
        return _no_data("no movie has a revenue"), "No movie has a revenue.", (header, [])
    top = movies.sort(["revenue", "id"], descending=[True, False]).head(TOP_N)
    rows = [
        (str(i), r["title"], str(r["release_year"]), _money(r["revenue"]),
         _money(r["budget"]) if r["budget"] >= MIN_CREDIBLE_USD else "unknown",
         _times(r["return"]) if r["budget"] >= MIN_CREDIBLE_USD and r["return"] else "—")
        for i, r in enumerate(top.iter_rows(named=True), start=1)
    ]
    fig, (ax,) = _figure(figsize=(9.0, 0.28 * top.height + 1.0))
    labels = [f"{t} ({y})" for t, y in zip(top["title"], top["release_year"], strict=True)]
    _barh(ax, labels, top["revenue"].to_list(), _money, lambda v: _money(v, tick=True),
          xlabel="revenue (USD)")
    share = float(top["revenue"].sum()) / float(movies["revenue"].sum())
    best = top.row(0, named=True)
    reading = (
        f"“{best['title']}” ({best['release_year']}) grossed the most, {_money(best['revenue'])}; "
        f"the top {top.height} take {share:.0%} of the revenue of all {_n(movies.height)} "
        "movies with a revenue."
    )
    return fig, reading, (header, rows)


NUMERIC = ("budget", "revenue", "return", "popularity", "runtime", "vote_average", "vote_count",
           "release_year")


def correlations(wh: Warehouse) -> tuple[Figure, str]:
    movies = wh["movies"]
    # Unknowns stored as 0 (and unit errors) become null, so they do not fake a correlation.
    known = movies.select(
        [
            pl.when(unit_error(c) | (pl.col(c) == 0)).then(None).otherwise(pl.col(c)).alias(c)
            if c in ("budget", "revenue")
            else pl.when(pl.col(c) == 0).then(None).otherwise(pl.col(c)).alias(c)
            if c in ZERO_MEANS_UNKNOWN
            else pl.col(c).cast(pl.Float64)
            for c in NUMERIC
        ]
    ).with_columns(
        pl.when(pl.col("budget").is_null() | pl.col("revenue").is_null())
        .then(None).otherwise(pl.col("return")).alias("return")
    )
    size = len(NUMERIC)
    matrix = np.full((size, size), np.nan)
    for i, a in enumerate(NUMERIC):
        for j, b in enumerate(NUMERIC):
            if j < i:
                matrix[i, j] = matrix[j, i]
                continue
            pair = known.select(a, b).drop_nulls() if a != b else known.select(a).drop_nulls()
            if pair.height < 3:
                continue
            matrix[i, j] = 1.0 if a == b else float(
                pair.select(pl.corr(a, b, method="spearman")).item() or 0.0
            )
    fig, (ax,) = _figure(figsize=(7.5, 6.0))
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(size), NUMERIC, rotation=40, ha="right")
    ax.set_yticks(range(size), NUMERIC)
    ax.grid(False)
    for i in range(size):
        for j in range(size):
            if not np.isnan(matrix[i, j]):
                ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if abs(matrix[i, j]) > 0.6 else "#222")
    fig.colorbar(image, ax=ax, shrink=0.8, label="Spearman ρ")
    pairs = [(abs(matrix[i, j]), matrix[i, j], NUMERIC[i], NUMERIC[j])
             for i in range(size) for j in range(i + 1, size)
             if not np.isnan(matrix[i, j]) and {NUMERIC[i], NUMERIC[j]} != {"budget", "return"}
             and {NUMERIC[i], NUMERIC[j]} != {"revenue", "return"}]
    if not pairs:
        return fig, "Too few movies with known values to correlate."
    _, rho, a, b = max(pairs)
    reading = (
        f"The strongest relation is between {a} and {b} (Spearman ρ = {rho:.2f}); unknown values "
        "stored as 0 and unit-error budgets and revenues are left out pair by pair."
    )
    return fig, reading

SectionFn = Callable[[Warehouse], tuple[Any, ...]]

# (key, heading, builder, note). The headings are the report's table of contents.
SECTIONS: tuple[tuple[str, str, SectionFn, str], ...] = (
    ("month", "Releases by month", releases_by_month, ""),
    ("weekday", "Releases by weekday", releases_by_weekday, ""),
    ("year", "Releases by year", releases_by_year, ""),
    (
        "runtime",
        "Distribution of runtime",
        runtime_distribution,
        "Movies with a runtime > 0; the longest are gathered in the last bar.",
    ),
    (
        "data-errors",
        "Data errors: budgets and revenues under $1,000",
        data_errors,
        "Flagged rather than analysed: values this small are unit errors in this dataset. "
        "Up to 25 are listed, highest stated return first.",
    ),
    (
        "budget-revenue",
        "Budget vs revenue",
        budget_vs_revenue,
        "Only movies with budget > 0 and revenue > 0; both axes logarithmic.",
    ),
    (
        "return",
        "Distribution of return",
        return_distribution,
        "return = revenue / budget, only where budget and revenue are both at least $1,000; "
        "log scale.",
    ),
    (
        "top-grossing",
        "Top-grossing movies",
        top_grossing,
        "Revenue as recorded (not adjusted for inflation).",
    ),
    ("genres", "Top genres", top_genres, "Distinct movies per genre (movie_genres)."),
    (
        "genres-time",
        "Genres over time",
        genres_over_time,
        "Share of each decade's movies in the six most common genres (a movie can have several).",
    ),
    (
        "companies",
        "Top production companies",
        top_companies,
        "Distinct movies per company (movie_companies).",
    ),
    (
        "countries",
        "Top production countries",
        top_countries,
        "Distinct movies per country (movie_countries).",
    ),
    (
        "languages",
        "Top spoken languages",
        top_languages,
        "Distinct movies per spoken language (movie_languages).",
    ),
    (
        "people",
        "Most frequent actors and directors",
        frequent_people,
        "Distinct movies per person: cast credits, and crew credits with job = Director.",
    ),
    (
        "profit",
        "Most profitable actors and directors",
        profitable_people,
        "Sum of revenue − budget over each person's movies with both budget and revenue > 0.",
    ),
    (
        "votes",
        "Vote count vs vote average",
        votes,
        "Movies with at least one vote; x axis logarithmic.",
    ),
    (
        "vote-average",
        "Distribution of vote average",
        vote_average_distribution,
        f"Movies with at least {MIN_VOTES_FOR_AVERAGE} votes.",
    ),
    (
        "correlations",
        "Correlation of the numeric columns",
        correlations,
        "Spearman rank correlation over the movies where both values are known.",
    ),
    (
        "missing",
        "Missing values in the movies table",
        missing_values,
        "Null, or 0 where the ETL stores 0 for unknown: " + ", ".join(ZERO_MEANS_UNKNOWN) + ".",
    ),
)
CLOUD = ("titles", "Word cloud of titles")

TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>The Movies Dataset — EDA</title>
<style>
  :root { --ink: #1f2933; --muted: #637381; --line: #e4e7eb; --accent: #2f6f9f; }
  body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         color: var(--ink); background: #f7f8fa; margin: 0; }
  main { max-width: 1040px; margin: 0 auto; padding: 24px; }
  h1 { margin: 0 0 4px; font-size: 26px; }
  h2 { margin: 0 0 6px; font-size: 19px; }
  .sub { color: var(--muted); margin: 0 0 16px; }
  .card { background: #fff; border: 1px solid var(--line); border-radius: 8px;
          padding: 18px 20px; margin: 0 0 18px; }
  .facts { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
  .fact { border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; }
  .fact b { display: block; font-size: 18px; }
  table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
  th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  .reading { font-size: 16px; border-left: 4px solid var(--accent); padding: 2px 0 2px 10px;
             margin: 8px 0 12px; }
  .note { color: var(--muted); font-size: 13px; margin: 0 0 8px; }
  img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
  nav ol { columns: 2; margin: 6px 0; }
  /* Wide tables scroll inside their card instead of widening the page on a phone. */
  .scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; max-width: 100%; }
  td.reasons { min-width: 12em; overflow-wrap: anywhere; }
  @media (max-width: 600px) { main { padding: 12px; } .card { padding: 14px; }
    nav ol { columns: 1; } }
  a { color: var(--accent); }
</style>
</head>
<body><main>
<header class="card">
  <h1>The Movies Dataset — exploratory analysis</h1>
  <p class="sub">Build <code>{{ build }}</code>{% if m.built_at %}, built {{ m.built_at }}{% endif
  %}{% if m.duration_s %} in {{ m.duration_s }} s{% endif %}{% if m.contract_version %},
  contract v{{ m.contract_version }}{% endif %}. Report generated {{ generated_at }}.</p>
  <div class="facts">
    {% for name, rows in headline %}<div class="fact"><b>{{ rows }}</b>{{ name }}</div>{% endfor %}
  </div>
  {% if summary %}
  <div class="scroll"><table>
    <tr><th>input file</th><th class="num">records in</th><th class="num">kept</th>
        <th class="num">rejected</th><th>rejects by reason</th></tr>
    {% for file, s in summary %}
    <tr><td>{{ file }}</td><td class="num">{{ s.in }}</td><td class="num">{{ s.kept }}</td>
        <td class="num">{{ s.rejected }}</td><td class="reasons">{{ s.reasons or "—" }}</td></tr>
    {% endfor %}
  </table></div>
  {% endif %}
  <details><summary>All tables ({{ tables|length }})</summary>
  <div class="scroll"><table>
    <tr><th>table</th><th class="num">rows</th></tr>
    {% for name, rows in tables %}<tr><td>{{ name }}</td><td class="num">{{ rows }}</td></tr>
    {% endfor %}
  </table></div>
  </details>
  <nav><ol>{% for s in sections %}<li><a href="#{{ s.key }}">{{ s.title }}</a></li>{% endfor
  %}</ol></nav>
</header>
{% for s in sections %}
<section class="card" id="{{ s.key }}">
  <h2>{{ loop.index }}. {{ s.title }}</h2>
  <p class="reading">{{ s.reading }}</p>
  {% if s.note %}<p class="note">{{ s.note }}</p>{% endif %}
  {% if s.image %}<img src="data:image/png;base64,{{ s.image }}" alt="{{ s.title }}">{% endif %}
  {% if s.table and s.table[1] %}<div class="scroll"><table class="data">
    <tr>{% for h in s.table[0] %}<th>{{ h }}</th>{% endfor %}</tr>
    {% for row in s.table[1] %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
    {% endfor %}
  </table></div>{% endif %}
</section>
{% endfor %}
</main></body>
</html>
"""


def _header(wh: Warehouse, manifest: dict[str, Any]) -> dict[str, Any]:
    tables = manifest.get("tables") or {}
    headline_names = ("movies", "people", "cast", "crew", "companies", "keywords", "rejects")
    summary = [
        (
            file,
            {
                "in": _n(s.get("in", 0)),
                "kept": _n(s.get("kept", 0)),
                "rejected": _n(s.get("rejected", 0)),
                "reasons": ", ".join(f"{r} = {_n(c)}" for r, c in s.get("by_reason", {}).items()),
            },
        )
        for file, s in (manifest.get("summary") or {}).items()
    ]
    # Row counts come from the data itself for movies, so the header cannot disagree with it.
    counts = {name: int(rows) for name, rows in tables.items()} | {"movies": wh["movies"].height}
    return {
        "m": manifest,
        "headline": [(name, _n(counts[name])) for name in headline_names if name in counts],
        "tables": [(name, _n(rows)) for name, rows in counts.items()],
        "summary": summary,
    }


def build_report(build: Path, out: Path, step: Step | None = None) -> Path:
    """Write ``out/index.html``, a self-contained EDA report of the Parquet build at ``build``.

    ``step(name)`` is called before each section. Raises ``ReportError`` when a table the
    report needs is missing or does not match the contract.
    """
    notify: Step = step or (lambda _name: None)
    wh = Warehouse(Path(build))
    notify("manifest")
    manifest = wh.manifest()
    sections: list[Section] = []
    with matplotlib.rc_context(STYLE):
        for key, title, builder, note in SECTIONS:
            notify(title)
            fig, reading, *table = builder(wh)
            image = _png(fig) if fig is not None else ""
            sections.append(Section(key, title, image, reading, note, table[0] if table else None))
    notify(CLOUD[1])
    cloud_png, cloud_reading = title_cloud(wh)
    sections.append(
        Section(
            CLOUD[0],
            CLOUD[1],
            base64.b64encode(cloud_png).decode("ascii"),
            cloud_reading,
            "Words of all titles, common English stopwords removed.",
        )
    )
    notify("render")
    html = (
        Environment(autoescape=True)
        .from_string(TEMPLATE)
        .render(
            build=str(build),
            generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
            sections=sections,
            **_header(wh, manifest),
        )
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "index.html"
    # Write then rename, so a browser or server never sees a half-written report.
    partial = out / f".index.html.{os.getpid()}.{time.monotonic_ns()}.tmp"
    partial.write_text(html, encoding="utf-8")
    partial.replace(target)
    return target
