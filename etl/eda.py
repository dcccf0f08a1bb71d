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
    ax.bar(labels, counts, color=colors)
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
    known = wh["movies"].filter((pl.col("budget") > 0) & (pl.col("revenue") > 0))
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
    reading = (
        f"{_n(known.height)} of {_n(wh['movies'].height)} movies have both a budget and a "
        f"revenue; {_pct(profitable, known.height)} of them earned more than they cost, and "
        f"log budget and log revenue correlate at r = {r:.2f}."
    )
    return fig, reading


def return_distribution(wh: Warehouse) -> tuple[Figure, str]:
    movies = wh["movies"].filter(pl.col("return") > 0)
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
    reading = (
        f"Median return is {_times(float(np.median(values)))} over {_n(movies.height)} movies; "
        f"{_pct(losers, movies.height)} earned back less than their budget, and the largest, "
        f"{_times(best['return'])}, is “{best['title']}” (budget {_money(best['budget'])}, "
        f"revenue {_money(best['revenue'])})."
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
    # TMDB names languages in themselves (日本語, العربية) or not at all; the plot font lacks
    # most non-Latin scripts, so those fall back to the ISO code instead of drawing boxes.
    labels = [
        f"{name} ({code})" if name.strip() and _drawable(name) else code
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
        wh["movies"]
        .filter((pl.col("budget") > 0) & (pl.col("revenue") > 0))
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
        ((c, int(nulls[c]), int(zeros.get(c, 0))) for c in movies.columns),
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


SectionFn = Callable[[Warehouse], tuple[Figure, str]]

# (key, heading, builder, note). The headings are the report's table of contents.
SECTIONS: tuple[tuple[str, str, SectionFn, str], ...] = (
    ("month", "Releases by month", releases_by_month, ""),
    ("weekday", "Releases by weekday", releases_by_weekday, ""),
    ("year", "Releases by year", releases_by_year, ""),
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
        "return = revenue / budget, only where > 0; log scale.",
    ),
    ("genres", "Top genres", top_genres, "Distinct movies per genre (movie_genres)."),
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
  <table>
    <tr><th>input file</th><th class="num">records in</th><th class="num">kept</th>
        <th class="num">rejected</th><th>rejects by reason</th></tr>
    {% for file, s in summary %}
    <tr><td>{{ file }}</td><td class="num">{{ s.in }}</td><td class="num">{{ s.kept }}</td>
        <td class="num">{{ s.rejected }}</td><td>{{ s.reasons or "—" }}</td></tr>
    {% endfor %}
  </table>
  {% endif %}
  <details><summary>All tables ({{ tables|length }})</summary>
  <table>
    <tr><th>table</th><th class="num">rows</th></tr>
    {% for name, rows in tables %}<tr><td>{{ name }}</td><td class="num">{{ rows }}</td></tr>
    {% endfor %}
  </table>
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
            fig, reading = builder(wh)
            sections.append(Section(key, title, _png(fig), reading, note))
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
