"""Synthetic twin of the raw Movies Dataset files, calibrated on the real sample.

``generate(scale, out)`` writes ``movies_dataset.csv``, ``credits.csv`` and ``keywords.csv`` in
exactly the raw format (same columns and order, nested cells as Python literals, csv
``QUOTE_MINIMAL`` with ``\\n`` line ends). Scale 1.0 has the full files' row counts
(45,466 / 45,476 / 46,419); counts scale linearly, the people pools grow with the scale, and
output is streamed in chunks so memory stays flat. Same seed -> same bytes.

How calibration works
---------------------
* Movie templates. The sample's first 2,996 rows are the head of the real file (popular, older
  films: biased); the remaining rows are a uniform draw from the whole file, and every one of
  them has its real credits and keywords row. Those rows are the templates: each synthetic
  movie resamples one template and inherits its *joint* profile (budget/revenue zero-ness,
  vote count/average, popularity, runtime, date, language, status, genre set, countries,
  spoken languages, presence of collection/homepage/tagline/poster, overview/tagline/title
  lengths, cast size, crew job list, keyword count). Continuous values get multiplicative
  jitter; dates move by whole weeks so the real weekday profile survives.
* Text. Order-1 word Markov chains built from all real overviews (one chain per primary
  genre, so TF-IDF sees genre-typical vocabulary), taglines and titles; lengths come from the
  template. Non-English original titles are real ones of the same language (CJK, Cyrillic...).
* Credits. The template's cast (cast_id, order, generic characters such as "Himself") and its
  crew (department, job) list are kept, so sizes are heavy-tailed and there is ~1 Director
  per movie; people are replaced by synthetic ones. Person popularity is lognormal; its
  sigma and pool size come from the full file's known shape (202,747 distinct cast names for
  ~560k entries, top actor 241 films, ~10 actors with 100+; 19,740 distinct directors, top
  ~66), which the sample (2k credits rows) cannot pin down. Names join real first names (by
  gender) and real last names from the sample; real non-Latin names and apostrophe names occur
  at the sample's rate, and two top-ranked actors are forced to have one of each. Writers
  are the movie's director as often as in the sample.
* Companies and keywords keep half of the template's entries and redraw the rest from the
  sample's frequency tables (real ids and names).
* Quirks (full-file counts, scaled): 3 records split in two (a 10-field stub with the real id
  and the overview's first half, then a 15-field tail whose ``id`` column holds the release
  date: the real file's 9-column shift), 30 extra copies of movie ids (one id thrice, 13 of
  the copies differ), 84 full rows without release date, popularity in exponent notation
  (``8.2e-05``), 43 extra credits copies (including every duplicated movie id), 986 extra
  keywords copies. Cells are Python reprs, except genres/countries/spoken languages, which are
  the template's real cell verbatim (it keeps the real ``'Lietuvi\\u0161kai'`` escape).

``summary_stats(movies_csv, credits_csv)`` computes the statistics used to hold the twin to
the sample (shares of zero budgets, vote and size medians, genre and weekday shares...).
"""

from __future__ import annotations

import csv
import gzip
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy.special import ndtri

from etl.literal import parse_cells

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SAMPLE_DIR = REPO / "data" / "sample"

MOVIE_COLUMNS: tuple[str, ...] = (
    "adult",
    "belongs_to_collection",
    "budget",
    "genres",
    "homepage",
    "id",
    "imdb_id",
    "original_language",
    "original_title",
    "overview",
    "popularity",
    "poster_path",
    "production_companies",
    "production_countries",
    "release_date",
    "revenue",
    "runtime",
    "spoken_languages",
    "status",
    "tagline",
    "title",
    "video",
    "vote_average",
    "vote_count",
)
CREDITS_COLUMNS: tuple[str, ...] = ("cast", "crew", "id")
KEYWORDS_COLUMNS: tuple[str, ...] = ("id", "keywords")

# Facts about the full raw files (shared/data/README.md and public EDA of the full files).
FULL_MOVIE_ROWS = 45_466
FULL_SPLIT_RECORDS = 3  # each is a stub row + a shifted tail row
FULL_DUP_MOVIE_ROWS = 30  # extra copies of an id; 29 ids repeat (one thrice)
FULL_CONFLICTING_DUPS = 13  # copies that differ from the first row
FULL_EMPTY_RELEASE = 84  # full rows without date (87 NaN in pandas minus the 3 stubs)
FULL_POPULARITY_EXPONENT = 37  # sample rate 4/4857 of ``8.2e-05``-style cells
FULL_CREDITS_EXTRA = 43  # 45,476 credits rows over 45,433 ids
FULL_CREDITS_CONFLICTING = 7
FULL_KEYWORDS_EXTRA = 986  # 46,419 keywords rows over 45,433 ids
FULL_COLLECTION_MEAN_SIZE = 4_494 / 1_698  # movies with a collection / distinct collections
SAMPLE_HEAD_ROWS = 2_996  # the sample's head rows (biased towards popular films)

# Person popularity ~ lognormal(sigma); pool = ratio * expected entries. Fitted so that scale 1
# matches the full file: 200.8k distinct cast people, top actor 225 films, 12 with 100+
# (real: 202.7k, 241, ~10+); 19.6k distinct directors, top one 64 films (real: 19,740, ~66).
CAST_SIGMA = 1.25
CAST_POOL_RATIO = 0.715
CREW_SIGMA = 1.05
CREW_POOL_RATIO = 0.62

CHUNK_MOVIES = 5_000
_KEEP_TEMPLATE_ITEM = 0.5  # share of template companies/keywords kept verbatim
_MIN_CHAIN_DOCS = 150  # genres with fewer overviews use the global chain
_PEOPLE_BLOCK = 1 << 20
_B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class SynthSummary:
    """What ``generate`` wrote; quirk counts let ETL tests assert exact rejections."""

    scale: float
    seed: int
    movie_rows: int  # physical CSV records, header excluded
    credits_rows: int
    keywords_rows: int
    distinct_movie_ids: int  # valid integer ids
    cast_entries: int  # over distinct movies (extra credits copies not counted)
    crew_entries: int
    distinct_cast_people: int
    distinct_crew_people: int
    collections: int
    malformed_rows: int  # shifted tails: ``id`` holds a date
    truncated_rows: int  # stubs: valid id, only 10 fields
    duplicate_movie_rows: int  # extra rows reusing an earlier id
    duplicate_movie_ids: int
    conflicting_duplicate_rows: int  # of those, rows differing from the first copy
    empty_release_date: int  # full rows with a valid id and no release date
    popularity_exponent: int  # full rows whose popularity reads like ``8.2e-05``
    empty_cast_rows: int  # credits rows (copies included) with cast == "[]"
    empty_crew_rows: int
    duplicate_credits_rows: int
    conflicting_credits_rows: int
    duplicate_keywords_rows: int
    empty_keywords_rows: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------- calibration


class _Chain:
    """Order-1 word Markov chain, sampled for many documents at once."""

    def __init__(
        self, words: list[str], starts: np.ndarray, prev: np.ndarray, nxt: np.ndarray
    ) -> None:
        self.words = words
        self.starts = starts if len(starts) else np.zeros(1, np.int64)
        order = np.argsort(prev, kind="stable")
        self.succ = nxt[order] if len(nxt) else np.zeros(1, np.int64)
        self.count = np.bincount(prev, minlength=len(words)).astype(np.int64)
        self.offset = np.cumsum(self.count) - self.count

    @staticmethod
    def build(texts: Sequence[str], groups: Sequence[np.ndarray] | None = None) -> list[_Chain]:
        """One chain per boolean document mask in ``groups`` (default: all documents)."""
        docs = [t.split() for t in texts]
        vocab = {w: i for i, w in enumerate(dict.fromkeys(w for d in docs for w in d))}
        words = list(vocab) or ["Untitled"]
        lengths = np.array([len(d) for d in docs], np.int64)
        flat = np.fromiter((vocab[w] for d in docs for w in d), np.int64, int(lengths.sum()))
        doc_of = np.repeat(np.arange(len(docs)), lengths)
        first = (np.cumsum(lengths) - lengths)[lengths > 0]
        inner = doc_of[:-1] == doc_of[1:]  # consecutive tokens of the same document
        pair_doc = doc_of[:-1][inner]
        prev, nxt = flat[:-1][inner], flat[1:][inner]
        chains = []
        for mask in groups if groups is not None else [np.ones(len(docs), bool)]:
            sel = mask[pair_doc]
            chains.append(_Chain(words, flat[first[mask[doc_of[first]]]], prev[sel], nxt[sel]))
        return chains

    def sample(self, lengths: np.ndarray, rng: np.random.Generator) -> list[str]:
        n = len(lengths)
        if n == 0:
            return []
        width = max(1, int(lengths.max()))
        out = np.empty((n, width), np.int64)
        cur = self.starts[rng.integers(0, len(self.starts), n)]
        for step in range(width):
            out[:, step] = cur
            cnt = self.count[cur]
            pick = self.offset[cur] + (rng.random(n) * cnt).astype(np.int64)
            nxt = self.succ[np.minimum(pick, len(self.succ) - 1)]
            dead = cnt == 0  # a token seen only at document ends: start a new sentence
            if dead.any():
                nxt[dead] = self.starts[rng.integers(0, len(self.starts), int(dead.sum()))]
            cur = nxt
        words = self.words
        return [
            " ".join([words[i] for i in row[:k]])
            for row, k in zip(out.tolist(), lengths.tolist(), strict=True)
        ]


@dataclass
class _Calibration:
    # movie templates (uniform part of the sample), one entry per template
    t_id: np.ndarray
    t_budget: np.ndarray
    t_revenue: np.ndarray
    t_runtime: np.ndarray  # NaN when empty
    t_vote_count: np.ndarray
    t_vote_avg: np.ndarray
    t_popularity: np.ndarray
    t_date: np.ndarray  # days since epoch, always valid (empty ones refilled)
    t_overview_words: np.ndarray  # 0 -> copy the template's overview verbatim
    t_tagline_words: np.ndarray  # 0 -> no tagline
    t_title_words: np.ndarray
    t_chain: np.ndarray  # index into overview_chains
    t_flags: dict[str, np.ndarray]  # bools: homepage, poster, imdb, collection, orig_differs...
    t_text: dict[str, list[str]]  # verbatim cells: adult, genres, countries, spoken, ...
    t_companies: list[list[tuple[str, int]]]
    t_keywords: list[list[tuple[int, str]]]
    # credits templates, flattened with offsets
    cast_off: np.ndarray
    cast_len: np.ndarray
    cast_id: list[int]
    cast_order: list[int]
    cast_char: list[str | None]  # None -> draw a character from the pool
    crew_off: np.ndarray
    crew_len: np.ndarray
    crew_dept: np.ndarray  # index into departments
    crew_job: np.ndarray  # index into job_frag
    departments: list[str]
    dept_entries_per_movie: np.ndarray
    dept_gender_p: np.ndarray  # (departments, 3)
    cast_gender_p: np.ndarray
    cast_profile_p: float
    crew_profile_p: float
    job_frag: list[tuple[str, str]]  # (repr(department), repr(job)) per crew pair
    director_job: int
    writing_dept: int
    p_writer_is_director: float
    # pools
    characters: list[str]
    first_names: dict[int, tuple[list[str], np.ndarray]]  # gender -> names, cdf
    last_names: tuple[list[str], np.ndarray]
    apostrophe_last: list[str]
    nonlatin_names: list[str]
    p_nonlatin: float
    companies: tuple[list[tuple[str, int]], np.ndarray]
    keywords: tuple[list[tuple[int, str]], np.ndarray]
    orig_titles: dict[str, list[str]]
    overview_chains: list[_Chain]
    tagline_chain: _Chain
    title_chain: _Chain


def _parsed(cells: Iterable[str]) -> dict[str, Any]:
    """Each distinct cell -> its value as ``ast.literal_eval`` reads it, parsed in one batch."""
    distinct = list(dict.fromkeys(cells))
    return dict(zip(distinct, parse_cells(distinct), strict=True))


def _csv_line(fields: list[str]) -> str:
    """One record as ``csv.writer(QUOTE_MINIMAL, lineterminator="\\n")`` writes it, faster.

    The csv module scans huge credits cells char by char; quoting is decided here by the
    same rule (delimiter, quote char, CR or LF inside), which the tests hold to the module.
    """
    out = []
    for f in fields:
        if '"' in f:
            out.append('"' + f.replace('"', '""') + '"')
        elif "," in f or "\n" in f or "\r" in f:
            out.append('"' + f + '"')
        else:
            out.append(f)
    return ",".join(out) + "\n"


def _read_csv_gz(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


_BEYOND_LATIN = re.compile(r"[^\x00-\u024f\u1e00-\u1eff]")


def _is_nonlatin(text: str) -> bool:
    """Has a letter outside the Latin blocks (CJK, Cyrillic, Hangul, Arabic...)."""
    return any(ch.isalpha() for ch in _BEYOND_LATIN.findall(text))


def _cdf(counts: Sequence[float] | np.ndarray) -> np.ndarray:
    c = np.cumsum(np.asarray(counts, np.float64))
    return c / c[-1]


def _draw(cdf: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)


def _num(text: str, default: float = math.nan) -> float:
    try:
        return float(text)
    except ValueError:
        return default


@lru_cache(maxsize=4)
def _calibrate(sample_dir: str) -> _Calibration:
    base = Path(sample_dir)
    movies = _read_csv_gz(base / "movies_dataset.csv.gz")
    col = {name: i for i, name in enumerate(movies[0])}
    rows = [r for r in movies[1:] if len(r) == len(MOVIE_COLUMNS) and r[col["id"]].isdigit()]
    credit_rows = _read_csv_gz(base / "credits.csv.gz")[1:]
    casts = parse_cells([cast_cell for cast_cell, _, _ in credit_rows])
    crews = parse_cells([crew_cell for _, crew_cell, _ in credit_rows])
    credits: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for (_, _, mid), cast_list, crew_list in zip(credit_rows, casts, crews, strict=True):
        credits.setdefault(mid, (cast_list, crew_list))
    keyword_rows = _read_csv_gz(base / "keywords.csv.gz")[1:]
    keywords: dict[str, list[dict[str, Any]]] = {}
    keyword_lists = parse_cells([kw_cell for _, kw_cell in keyword_rows])
    for (mid, _), keyword_list in zip(keyword_rows, keyword_lists, strict=True):
        keywords.setdefault(mid, keyword_list)

    def cell(r: list[str], name: str) -> str:
        return r[col[name]]

    # Templates are a subset of rows, so these cover both.
    genre_lists = _parsed(cell(r, "genres") for r in rows)
    company_lists = _parsed(cell(r, "production_companies") for r in rows)

    # Templates: the uniform part of the sample, first copy of each id, with credits.
    head = min(SAMPLE_HEAD_ROWS, len(rows) // 2)
    seen: set[str] = set()
    templates: list[list[str]] = []
    for r in movies[1 + head :]:
        mid = r[col["id"]] if len(r) == len(MOVIE_COLUMNS) else ""
        if mid.isdigit() and mid not in seen and mid in credits:
            seen.add(mid)
            templates.append(r)

    # Text corpora use every sample row: vocabulary is less selection-sensitive than numbers.
    def primary_genre(r: list[str]) -> str:
        genres = genre_lists[cell(r, "genres")]
        return genres[0]["name"] if genres else ""

    primary = [primary_genre(r) for r in rows]
    overviews = [cell(r, "overview") for r in rows]
    informative = np.array([len(o.split()) >= 4 for o in overviews])
    genre_names = np.array(primary, dtype=object)
    chain_of: dict[str, int] = {}
    groups = [informative]
    for genre in sorted(set(primary)):
        mask = informative & (genre_names == genre)
        if mask.sum() >= _MIN_CHAIN_DOCS:
            chain_of[genre] = len(groups)
            groups.append(mask)
    chains = _Chain.build(overviews, groups)
    tagline_chain = _Chain.build([cell(r, "tagline") for r in rows])[0]
    title_chain = _Chain.build([cell(r, "title") for r in rows])[0]
    orig_titles: dict[str, list[str]] = {}
    for r in rows:
        if cell(r, "original_title") != cell(r, "title"):
            orig_titles.setdefault(cell(r, "original_language"), []).append(
                cell(r, "original_title")
            )

    # Numeric template columns.
    def col_of(name: str, default: float = math.nan) -> np.ndarray:
        return np.array([_num(cell(r, name), default) for r in templates], np.float64)

    # Empty template dates are refilled: empty dates are injected at an exact count instead.
    raw_dates = [cell(r, "release_date") for r in templates]
    missing = np.array([not _DATE_RE.match(d) for d in raw_dates])
    dates = np.array(
        [np.datetime64(d if _DATE_RE.match(d) else "2000-01-01", "D") for d in raw_dates]
    )
    dates = dates.astype(np.int64)
    dates[missing] = dates[~missing][np.arange(int(missing.sum())) % int((~missing).sum())]

    def words(name: str) -> np.ndarray:
        return np.array([len(cell(r, name).split()) for r in templates], np.int64)

    ov_words = words("overview")
    t_text: dict[str, list[str]] = {
        name: [cell(r, name) for r in templates]
        for name in (
            "adult",
            "genres",
            "production_countries",
            "spoken_languages",
            "original_language",
            "status",
            "video",
            "overview",
            "original_title",
        )
    }
    ov_words[ov_words < 4] = 0  # '' and 'No overview found.' are copied verbatim
    collections = _parsed(filter(None, (cell(r, "belongs_to_collection") for r in templates)))
    coll = [collections.get(cell(r, "belongs_to_collection")) for r in templates]
    flags = {
        "homepage": np.array([bool(cell(r, "homepage")) for r in templates]),
        "poster": np.array([bool(cell(r, "poster_path")) for r in templates]),
        "imdb": np.array([bool(cell(r, "imdb_id")) for r in templates]),
        "collection": np.array([c is not None for c in coll]),
        "coll_poster": np.array([bool(c and c.get("poster_path")) for c in coll]),
        "coll_backdrop": np.array([bool(c and c.get("backdrop_path")) for c in coll]),
        "orig_differs": np.array(
            [cell(r, "original_title") != cell(r, "title") for r in templates]
        ),
    }
    t_chain = np.array([chain_of.get(primary_genre(r), 0) for r in templates], np.int64)
    t_companies = [
        [(c["name"], c["id"]) for c in company_lists[cell(r, "production_companies")]]
        for r in templates
    ]
    t_keywords = [
        [(k["id"], k["name"]) for k in keywords.get(cell(r, "id"), [])] for r in templates
    ]

    # Frequency tables over the whole sample.
    comp_counter: Counter[tuple[str, int]] = Counter()
    for r in rows:
        comp_counter.update(
            (c["name"], c["id"]) for c in company_lists[cell(r, "production_companies")]
        )
    kw_counter: Counter[tuple[int, str]] = Counter()
    for kws in keywords.values():
        kw_counter.update((k["id"], k["name"]) for k in kws)
    comp_items = sorted(comp_counter)
    kw_items = sorted(kw_counter)

    # Credits templates.
    char_counter: Counter[str] = Counter(
        c["character"] for cast, _ in credits.values() for c in cast
    )
    generic = {ch for ch, n in char_counter.items() if n >= 5}
    characters = sorted(ch for ch in char_counter if ch not in generic)
    cast_lists = [credits[cell(r, "id")][0] for r in templates]
    crew_lists = [credits[cell(r, "id")][1] for r in templates]
    departments = sorted({c["department"] for crew in crew_lists for c in crew} | {"Directing"})
    dept_index = {d: i for i, d in enumerate(departments)}
    pairs = sorted({(c["department"], c["job"]) for crew in crew_lists for c in crew})
    pair_index = {p: i for i, p in enumerate(pairs)}
    job_frag = [(repr(d), repr(j)) for d, j in pairs]
    cast_len = np.array([len(c) for c in cast_lists], np.int64)
    crew_len = np.array([len(c) for c in crew_lists], np.int64)
    crew_dept = np.array(
        [dept_index[c["department"]] for crew in crew_lists for c in crew], np.int64
    )
    dept_counts = np.bincount(crew_dept, minlength=len(departments)).astype(np.float64)
    dept_gender = np.ones((len(departments), 3))  # +1 smoothing
    for crew in crew_lists:
        for c in crew:
            dept_gender[dept_index[c["department"]], min(int(c["gender"]), 2)] += 1
    cast_gender = np.ones(3)
    for cast in cast_lists:
        for c in cast:
            cast_gender[min(int(c["gender"]), 2)] += 1
    # How often a writer of a movie is (one of) its director(s).
    written = by_director = 0
    for crew in crew_lists:
        directors = {c["id"] for c in crew if c["job"] == "Director"}
        if directors:
            for c in crew:
                if c["department"] == "Writing":
                    written += 1
                    by_director += c["id"] in directors

    # Person name parts, one vote per distinct person (heavy hitters must not dominate).
    people: dict[int, tuple[str, int]] = {}
    for cast, crew in credits.values():
        for c in (*cast, *crew):
            people.setdefault(c["id"], (c["name"], int(c["gender"])))
    firsts: dict[int, Counter[str]] = {0: Counter(), 1: Counter(), 2: Counter()}
    lasts: Counter[str] = Counter()
    nonlatin: list[str] = []
    for name, gender in people.values():
        if _is_nonlatin(name):
            nonlatin.append(name)
            continue
        parts = name.split(" ", 1)
        if len(parts) == 2 and parts[0] and parts[1]:
            firsts[0][parts[0]] += 1
            if gender in (1, 2):
                firsts[gender][parts[0]] += 1
            lasts[parts[1]] += 1
    first_names: dict[int, tuple[list[str], np.ndarray]] = {}
    for g, counter in firsts.items():
        names = sorted(counter) or sorted(firsts[0])
        first_names[g] = (names, _cdf([counter.get(n, 1) for n in names]))
    last_sorted = sorted(lasts)
    apostrophe_last = [n for n in last_sorted if "'" in n] or ["O'Brien"]
    nonlatin = sorted(set(nonlatin)) or ["Михаил Пореченков", "松隆子", "박상연"]
    profile_cast = [c["profile_path"] is not None for cast in cast_lists for c in cast]
    profile_crew = [c["profile_path"] is not None for crew in crew_lists for c in crew]

    return _Calibration(
        t_id=col_of("id"),
        t_budget=col_of("budget", 0.0),
        t_revenue=col_of("revenue", 0.0),
        t_runtime=col_of("runtime"),
        t_vote_count=col_of("vote_count", 0.0),
        t_vote_avg=col_of("vote_average", 0.0),
        t_popularity=col_of("popularity", 0.0),
        t_date=dates,
        t_overview_words=ov_words,
        t_tagline_words=words("tagline"),
        t_title_words=np.maximum(words("title"), 1),
        t_chain=t_chain,
        t_flags=flags,
        t_text=t_text,
        t_companies=t_companies,
        t_keywords=t_keywords,
        cast_off=np.cumsum(cast_len) - cast_len,
        cast_len=cast_len,
        cast_id=[int(c["cast_id"]) for cast in cast_lists for c in cast],
        cast_order=[int(c["order"]) for cast in cast_lists for c in cast],
        cast_char=[
            c["character"] if c["character"] in generic else None
            for cast in cast_lists
            for c in cast
        ],
        crew_off=np.cumsum(crew_len) - crew_len,
        crew_len=crew_len,
        crew_dept=crew_dept,
        crew_job=np.array(
            [pair_index[(c["department"], c["job"])] for crew in crew_lists for c in crew], np.int64
        ),
        departments=departments,
        dept_entries_per_movie=dept_counts / len(templates),
        dept_gender_p=dept_gender / dept_gender.sum(axis=1, keepdims=True),
        cast_gender_p=cast_gender / cast_gender.sum(),
        cast_profile_p=float(np.mean(profile_cast)) if profile_cast else 0.7,
        crew_profile_p=float(np.mean(profile_crew)) if profile_crew else 0.4,
        job_frag=job_frag,
        director_job=pair_index.get(("Directing", "Director"), -1),
        writing_dept=dept_index.get("Writing", -1),
        p_writer_is_director=by_director / written if written else 0.0,
        characters=characters or ["Himself"],
        first_names=first_names,
        last_names=(last_sorted, _cdf([lasts[n] for n in last_sorted])),
        apostrophe_last=apostrophe_last,
        nonlatin_names=nonlatin,
        p_nonlatin=len(nonlatin) / max(1, len(people)),
        companies=(comp_items, _cdf([comp_counter[c] for c in comp_items])),
        keywords=(kw_items, _cdf([kw_counter[k] for k in kw_items])),
        orig_titles=orig_titles,
        overview_chains=chains,
        tagline_chain=tagline_chain,
        title_chain=title_chain,
    )


# ----------------------------------------------------------------------------- helpers


def _scaled(full: int, scale: float, minimum: int = 1) -> int:
    """Full-file count scaled; small scales (>= 0.05) still get ``minimum`` of each quirk."""
    n = round(full * scale)
    return max(n, minimum) if scale >= 0.05 else n


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a fixed per-key hash, so a person's profile path is stable."""
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _image_paths(keys: np.ndarray, salt: int) -> list[str]:
    """TMDB-like '/<27 base62>.jpg' per key (deterministic in key and salt)."""
    if len(keys) == 0:
        return []
    digits = np.empty((len(keys), 27), np.uint8)
    with np.errstate(over="ignore"):
        for block in range(3):
            h = _mix64(keys.astype(np.uint64) * np.uint64(4) + np.uint64(block + 4 * salt))
            for k in range(9):
                digits[:, block * 9 + k] = _B62[(h % np.uint64(62)).astype(np.int64)]
                h //= np.uint64(62)
    raw = digits.tobytes().decode("ascii")
    return [f"/{raw[i : i + 27]}.jpg" for i in range(0, len(raw), 27)]


def _unique_ints(rng: np.random.Generator, n: int, draw: Callable[[int], np.ndarray]) -> np.ndarray:
    """n distinct integers from ``draw``, in random order (redraws fill collisions)."""
    got = np.empty(0, np.int64)
    while len(got) < n:
        cand = np.concatenate([got, draw(max(64, int((n - len(got)) * 1.3)))])
        _, first = np.unique(cand, return_index=True)
        got = cand[np.sort(first)]
    return rng.permutation(got[:n])


def _credit_ids(rng: np.random.Generator, n: int) -> str:
    """n concatenated 24-hex-digit ObjectId-like credit ids (timestamp 2013-2017 + random)."""
    raw = rng.integers(0, 256, (n, 12), dtype=np.uint8)
    ts = rng.integers(1_356_998_400, 1_514_764_800, n).astype(">u4")
    raw[:, :4] = ts.view(np.uint8).reshape(n, 4)
    return raw.tobytes().hex()


def _fmt_float(x: float) -> str:
    return repr(float(x))


# ----------------------------------------------------------------------------- people


@dataclass
class _People:
    pid: np.ndarray  # TMDB-like person id
    gender: np.ndarray
    first: np.ndarray  # index into first-name list of its gender, or nonlatin name index
    last: np.ndarray  # index into last names; -1: nonlatin full name; -2: apostrophe last name
    profile: np.ndarray  # has a profile image
    pools: list[tuple[int, np.ndarray]]  # (start, cdf); 0 = cast, 1 + d = crew department d

    def draw(self, pool: int, rng: np.random.Generator, n: int) -> np.ndarray:
        start, cdf = self.pools[pool]
        return start + _draw(cdf, rng, n)


def _lognormal_cdf(n: int, sigma: float) -> np.ndarray:
    """CDF over a pool whose weights are lognormal quantiles, most popular first.

    Deterministic quantiles make the shape identical at every scale; in place, so a pool of
    millions costs one float array.
    """
    z = np.arange(n, dtype=np.float64)
    z += 0.5
    z /= n
    ndtri(z, out=z)
    z *= -sigma
    np.exp(z, out=z)
    np.cumsum(z, out=z)
    z /= z[-1]
    return z


def _build_people(cal: _Calibration, n_movies: int, rng: np.random.Generator) -> _People:
    sizes = [max(50, round(CAST_POOL_RATIO * n_movies * float(cal.cast_len.mean())))]
    sigmas = [CAST_SIGMA]
    for per_movie in cal.dept_entries_per_movie:
        sizes.append(max(20, round(CREW_POOL_RATIO * n_movies * float(per_movie))))
        sigmas.append(CREW_SIGMA)
    total = sum(sizes)
    pools: list[tuple[int, np.ndarray]] = []
    start = 0
    for size, sigma in zip(sizes, sigmas, strict=True):
        pools.append((start, _lognormal_cdf(size, sigma)))
        start += size
    gender = np.empty(total, np.int8)
    first = np.empty(total, np.int32)
    last = np.empty(total, np.int32)
    profile = np.empty(total, bool)
    pid = np.empty(total, np.int32)
    gender_cdfs = [_cdf(cal.cast_gender_p)] + [_cdf(p) for p in cal.dept_gender_p]
    pool_of = np.repeat(np.arange(len(sizes), dtype=np.int8), sizes)
    # Distinct TMDB-like ids (up to ~2M at scale 1) without a big sort: random gaps, shuffled.
    mean_gap = max(3, 2_000_000 // total)
    next_id = 0
    for a in range(0, total, _PEOPLE_BLOCK):  # blocks keep temporaries small at scale 10
        b = min(total, a + _PEOPLE_BLOCK)
        u = rng.random(b - a)
        pool = pool_of[a:b]
        g = np.empty(b - a, np.int8)
        for k, cdf in enumerate(gender_cdfs):
            mask = pool == k
            g[mask] = np.searchsorted(cdf, u[mask], side="right")
        gender[a:b] = np.minimum(g, 2)
        for k in (0, 1, 2):
            mask = gender[a:b] == k
            first[a:b][mask] = _draw(cal.first_names[k][1], rng, int(mask.sum()))
        last[a:b] = _draw(cal.last_names[1], rng, b - a)
        nonlatin = np.flatnonzero(rng.random(b - a) < cal.p_nonlatin)
        last[a:b][nonlatin] = -1
        first[a:b][nonlatin] = rng.integers(0, len(cal.nonlatin_names), len(nonlatin))
        p_profile = np.where(pool == 0, cal.cast_profile_p, cal.crew_profile_p)
        profile[a:b] = rng.random(b - a) < p_profile
        gaps = np.cumsum(rng.integers(1, 2 * mean_gap, b - a, dtype=np.int64))
        pid[a:b] = next_id + gaps
        next_id += int(gaps[-1])
    rng.shuffle(pid)
    # Two top-ranked actors: non-Latin and apostrophe names must show up at every scale.
    last[3], first[3] = -1, rng.integers(0, len(cal.nonlatin_names))
    last[1], first[1], gender[1] = -2, rng.integers(0, len(cal.apostrophe_last)), 0
    return _People(pid=pid, gender=gender, first=first, last=last, profile=profile, pools=pools)


def _person_name(cal: _Calibration, people: _People, idx: int) -> str:
    last = int(people.last[idx])
    first = int(people.first[idx])
    if last == -1:
        return cal.nonlatin_names[first]
    if last == -2:
        given = cal.first_names[0][0]
        return f"{given[first % len(given)]} {cal.apostrophe_last[first]}"
    names = cal.first_names[int(people.gender[idx])][0]
    return f"{names[first]} {cal.last_names[0][last]}"


# ----------------------------------------------------------------------------- plan


@dataclass
class _Plan:
    n_unique: int
    template: np.ndarray
    movie_id: np.ndarray
    imdb: np.ndarray
    coll_of: np.ndarray  # collection index or -1
    coll_rank: np.ndarray  # 0 for the first movie of its collection in file order
    coll_cells: list[str]  # repr of the collection dict
    coll_titles: list[str]
    stub: np.ndarray  # bool per movie
    empty_date: np.ndarray
    pop_exponent: np.ndarray
    movie_copies: dict[int, list[bool]]  # movie -> [conflicting?] per extra row
    credit_copies: dict[int, list[bool]]
    keyword_copies: set[int]


def _collection_sizes(rng: np.random.Generator, total: int) -> list[int]:
    """Split ``total`` movies into collections with P(k) ~ k^-a (mean = full-file mean)."""
    ks = np.arange(1, 41, dtype=np.float64)
    lo, hi = 0.5, 6.0
    for _ in range(60):  # mean of the truncated power law decreases with the exponent
        a = (lo + hi) / 2
        p = ks**-a
        if (ks * p).sum() / p.sum() > FULL_COLLECTION_MEAN_SIZE:
            lo = a
        else:
            hi = a
    cdf = _cdf(ks**-lo)
    sizes: list[int] = []
    left = total
    while left > 0:
        k = min(left, int(ks[_draw(cdf, rng, 1)[0]]))
        sizes.append(k)
        left -= k
    return sizes


def _plan(
    cal: _Calibration, scale: float, rng: np.random.Generator
) -> tuple[_Plan, dict[str, int]]:
    n_rows = round(FULL_MOVIE_ROWS * scale)
    n_split = _scaled(FULL_SPLIT_RECORDS, scale)
    n_dup = _scaled(FULL_DUP_MOVIE_ROWS, scale)
    n_unique = n_rows - n_split - n_dup
    if n_unique < 10:
        raise ValueError(f"scale {scale} is too small")
    counts = {
        "split": n_split,
        "dup": n_dup,
        "conflict": min(n_dup, _scaled(FULL_CONFLICTING_DUPS, scale)),
        "empty_date": _scaled(FULL_EMPTY_RELEASE, scale),
        "pop_exp": _scaled(FULL_POPULARITY_EXPONENT, scale),
        "credits_conflict": _scaled(FULL_CREDITS_CONFLICTING, scale),
        "keywords_extra": _scaled(FULL_KEYWORDS_EXTRA, scale),
    }
    counts["credits_extra"] = max(
        n_dup + counts["credits_conflict"], _scaled(FULL_CREDITS_EXTRA, scale)
    )
    n_templates = len(cal.t_id)
    template = rng.integers(0, n_templates, n_unique)

    # Ids follow the real id distribution (quantiles of the uniform sample), stretched with
    # scale so the density of used ids stays as in the real file.
    sorted_ids = np.sort(cal.t_id)
    stretch = max(1.0, scale)

    def draw_ids(k: int) -> np.ndarray:
        u = rng.random(k) * (len(sorted_ids) - 1)
        return np.maximum(2, np.interp(u, np.arange(len(sorted_ids)), sorted_ids) * stretch).astype(
            np.int64
        )

    movie_id = _unique_ints(rng, n_unique, draw_ids)
    imdb = _unique_ints(rng, n_unique, lambda k: rng.integers(1, 8_000_000, k))

    # Collections: template says whether a movie has one; siblings are scattered in the file.
    in_coll = np.flatnonzero(cal.t_flags["collection"][template])
    members = rng.permutation(in_coll)
    coll_of = np.full(n_unique, -1, np.int64)
    coll_rank = np.zeros(n_unique, np.int64)
    sizes = _collection_sizes(rng, len(members))
    base_lengths = cal.t_title_words[rng.integers(0, n_templates, len(sizes))]
    coll_titles = cal.title_chain.sample(base_lengths, rng)
    coll_ids = _unique_ints(rng, len(sizes), lambda k: rng.integers(10, 500_000, k))
    coll_posters = _image_paths(coll_ids, 7)
    coll_backdrops = _image_paths(coll_ids, 8)
    coll_cells: list[str] = []
    pos = 0
    for c, size in enumerate(sizes):
        group = np.sort(members[pos : pos + size])
        pos += size
        coll_of[group] = c
        coll_rank[group] = np.arange(size)
        t = template[group[0]]
        cell = {
            "id": int(coll_ids[c]),
            "name": f"{coll_titles[c]} Collection",
            "poster_path": coll_posters[c] if cal.t_flags["coll_poster"][t] else None,
            "backdrop_path": coll_backdrops[c] if cal.t_flags["coll_backdrop"][t] else None,
        }
        coll_cells.append(repr(cell))

    # Quirk carriers are disjoint: split records, duplicated ids, empty dates, credits copies.
    order = rng.permutation(n_unique)
    taken = 0

    def take(k: int) -> np.ndarray:
        nonlocal taken
        picked = order[taken : taken + k]
        taken += k
        return picked

    stub = np.zeros(n_unique, bool)
    stub[take(n_split)] = True
    dup_ids = take(n_dup - 1 if n_dup >= 3 else n_dup)
    movie_copies: dict[int, list[bool]] = {}
    extras = [int(m) for m in dup_ids] + ([int(dup_ids[0])] if n_dup >= 3 else [])
    for k, m in enumerate(extras):
        movie_copies.setdefault(m, []).append(k < counts["conflict"])
    empty_date = np.zeros(n_unique, bool)
    empty_date[take(counts["empty_date"])] = True
    pop_exponent = np.zeros(n_unique, bool)
    pop_exponent[take(counts["pop_exp"])] = True
    credit_extra = extras + [int(m) for m in take(counts["credits_extra"] - len(extras))]
    credit_copies: dict[int, list[bool]] = {}
    for k, m in enumerate(credit_extra):  # conflicting ones come from the credits-only copies
        conflict = k >= len(credit_extra) - counts["credits_conflict"] and k >= len(extras)
        credit_copies.setdefault(m, []).append(conflict)
    keyword_copies = {int(m) for m in rng.choice(n_unique, counts["keywords_extra"], replace=False)}
    plan = _Plan(
        n_unique=n_unique,
        template=template,
        movie_id=movie_id,
        imdb=imdb,
        coll_of=coll_of,
        coll_rank=coll_rank,
        coll_cells=coll_cells,
        coll_titles=coll_titles,
        stub=stub,
        empty_date=empty_date,
        pop_exponent=pop_exponent,
        movie_copies=movie_copies,
        credit_copies=credit_copies,
        keyword_copies=keyword_copies,
    )
    return plan, counts


# ----------------------------------------------------------------------------- chunks


def _mix_items(
    template_items: list[Any],
    table: tuple[list[Any], np.ndarray],
    keep: np.ndarray,
    draws: np.ndarray,
) -> list[Any]:
    """Template list with some entries redrawn from the frequency table (no repeats)."""
    items = table[0]
    out: list[Any] = []
    for item, kept, draw in zip(template_items, keep, draws, strict=True):
        choice = item if kept else items[draw]
        if choice not in out:
            out.append(choice)
    return out


def _with_copies(rows: list[list[str]], copies: list[tuple[int, list[str]]]) -> list[list[str]]:
    """Insert each copy after the row at its anchor index, never between a stub and its tail."""
    if not copies:
        return rows
    copies = sorted(copies, key=lambda c: c[0])
    out: list[list[str]] = []
    k = 0
    for j, row in enumerate(rows):
        out.append(row)
        if len(row) == 10:  # a split record's stub: its tail must follow directly
            continue
        while k < len(copies) and copies[k][0] <= j:
            out.append(copies[k][1])
            k += 1
    out.extend(c[1] for c in copies[k:])
    return out


def _slug(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "", title.lower())
    return slug or "movie"


def _chunk(
    cal: _Calibration,
    plan: _Plan,
    people: _People,
    lo: int,
    hi: int,
    rng: np.random.Generator,
) -> tuple[list[list[str]], list[list[str]], list[list[str]], dict[str, Any]]:
    n = hi - lo
    templates = plan.template[lo:hi]
    flags = {k: v[templates] for k, v in cal.t_flags.items()}
    text = cal.t_text

    # Scalars: template value with jitter (zeros stay zeros: they mean "unknown").
    budget = cal.t_budget[templates]
    jittered_budget = budget * np.exp(rng.normal(0, 0.25, n))
    magnitude = 10.0 ** (np.floor(np.log10(np.maximum(jittered_budget, 1))) - 1)
    budget = np.where(
        budget >= 1000, np.round(jittered_budget / magnitude) * magnitude, budget
    ).astype(np.int64)
    revenue = cal.t_revenue[templates]
    revenue = np.where(
        revenue >= 1000, np.round(revenue * np.exp(rng.normal(0, 0.25, n))), revenue
    ).astype(np.int64)
    runtime = cal.t_runtime[templates]
    runtime = np.where(runtime > 0, np.maximum(1, runtime + rng.integers(-4, 5, n)), runtime)
    vote_count = cal.t_vote_count[templates]
    vote_count = np.where(
        vote_count >= 5,
        np.maximum(1, np.round(vote_count * np.exp(rng.normal(0, 0.3, n)))),
        vote_count,
    ).astype(np.int64)
    vote_average = cal.t_vote_avg[templates]
    vote_average = np.where(
        vote_count >= 5, np.clip(np.round(vote_average + rng.normal(0, 0.25, n), 1), 0, 10),
        vote_average,
    )
    vote_average = np.where(vote_count == 0, 0.0, vote_average)
    pop = cal.t_popularity[templates] * np.exp(rng.normal(0, 0.3, n))
    pop = np.where(pop > 0, np.maximum(np.round(pop, 6), 1e-4), 0.0)
    exp_rows = plan.pop_exponent[lo:hi]
    pop[exp_rows] = rng.integers(1, 100, int(exp_rows.sum())) * 1e-6  # reads like '8.2e-05'
    dates = cal.t_date[templates] + 7 * rng.integers(-26, 27, n)  # whole weeks keep the weekday
    date_text = np.datetime_as_string(dates.astype("datetime64[D]")).tolist()
    empty = plan.empty_date[lo:hi]

    # Text.
    stub = plan.stub[lo:hi]
    ov_len = cal.t_overview_words[templates].copy()
    ov_len[stub & (ov_len < 8)] = 30  # a split record needs an overview to split
    overview: list[str | None] = [None] * n
    chains = cal.t_chain[templates]
    for ci in np.unique(chains[ov_len > 0]):
        idx = np.flatnonzero((chains == ci) & (ov_len > 0))
        for i, s in zip(
            idx.tolist(), cal.overview_chains[ci].sample(ov_len[idx], rng), strict=True
        ):
            overview[i] = s if s[-1] in ".!?\"'" else s.rstrip(",;:-") + "."
    tag_idx = np.flatnonzero(cal.t_tagline_words[templates] > 0)
    taglines = [""] * n
    for i, s in zip(
        tag_idx.tolist(),
        cal.tagline_chain.sample(cal.t_tagline_words[templates][tag_idx], rng),
        strict=True,
    ):
        taglines[i] = s
    titles = cal.title_chain.sample(cal.t_title_words[templates], rng)
    subtitles = cal.title_chain.sample(np.full(n, 2), rng)
    numbered = rng.random(n) < 0.6
    orig_pick = rng.random(n)
    posters = _image_paths(plan.movie_id[lo:hi], 1)

    # Companies and keywords: keep half of the template's entries, redraw the rest.
    comp_lists = [cal.t_companies[i] for i in templates.tolist()]
    kw_lists = [cal.t_keywords[i] for i in templates.tolist()]
    n_comp = sum(len(c) for c in comp_lists)
    n_kw = sum(len(k) for k in kw_lists)
    comp_keep = rng.random(n_comp) < _KEEP_TEMPLATE_ITEM
    comp_draw = _draw(cal.companies[1], rng, n_comp)
    kw_keep = rng.random(n_kw) < _KEEP_TEMPLATE_ITEM
    kw_draw = _draw(cal.keywords[1], rng, n_kw)

    # Cast: template structure, synthetic people and characters.
    cast_len = cal.cast_len[templates]
    cast_total = int(cast_len.sum())
    cast_starts = cal.cast_off[templates] - np.cumsum(cast_len) + cast_len
    cast_src = np.repeat(cast_starts, cast_len) + np.arange(cast_total)
    cast_people = people.draw(0, rng, cast_total)
    char_draw = rng.integers(0, len(cal.characters), cast_total).tolist()
    cast_credit = _credit_ids(rng, cast_total)

    # Crew: template (department, job) list; people from that department's pool.
    crew_len = cal.crew_len[templates]
    crew_total = int(crew_len.sum())
    crew_starts = cal.crew_off[templates] - np.cumsum(crew_len) + crew_len
    crew_src = np.repeat(crew_starts, crew_len) + np.arange(crew_total)
    crew_dept = cal.crew_dept[crew_src]
    crew_people = np.empty(crew_total, np.int64)
    for d in range(len(cal.departments)):
        mask = crew_dept == d
        crew_people[mask] = people.draw(1 + d, rng, int(mask.sum()))
    crew_movie = np.repeat(np.arange(n), crew_len)
    crew_job = cal.crew_job[crew_src]
    if cal.director_job >= 0 and cal.writing_dept >= 0 and crew_total:
        directors = np.flatnonzero(crew_job == cal.director_job)[::-1]  # first one wins
        director_of = np.full(n, -1, np.int64)
        director_of[crew_movie[directors]] = crew_people[directors]
        writers = np.flatnonzero((crew_dept == cal.writing_dept) & (director_of[crew_movie] >= 0))
        own = writers[rng.random(len(writers)) < cal.p_writer_is_director]
        crew_people[own] = director_of[crew_movie[own]]  # writer-directors, as in the real data
    crew_credit = _credit_ids(rng, crew_total)

    # Per-person strings for the people of this chunk only (memory stays per chunk).
    used = np.unique(np.concatenate([cast_people, crew_people]))
    profile_paths = _image_paths(people.pid[used], 3)
    person_frag: dict[int, tuple[str, str, str]] = {}
    for k, p in enumerate(used.tolist()):
        gid = f"'gender': {int(people.gender[p])}, 'id': {int(people.pid[p])}"
        prof = repr(profile_paths[k]) if people.profile[p] else "None"
        person_frag[p] = (gid, repr(_person_name(cal, people, p)), prof)

    movies: list[list[str]] = []
    credits: list[list[str]] = []
    keywords: list[list[str]] = []
    stats = Counter[str]()
    movie_copies: list[tuple[int, list[str]]] = []  # (anchor row index, row)
    credit_copies: list[tuple[int, list[str]]] = []
    keyword_copies: list[tuple[int, list[str]]] = []
    cast_people_l = cast_people.tolist()
    cast_src_l = cast_src.tolist()
    crew_people_l = crew_people.tolist()
    crew_job_l = crew_job.tolist()
    job_parts = cal.job_frag
    ci = wi = ki = ke = 0
    for i in range(n):
        m = lo + i
        ti = int(templates[i])
        mid = str(int(plan.movie_id[m]))

        # credits row
        entries = []
        for _ in range(int(cast_len[i])):
            src = cast_src_l[ci]
            p = cast_people_l[ci]
            gid, name, prof = person_frag[p]
            char = cal.cast_char[src]
            if char is None:
                char = cal.characters[char_draw[ci]]
            entries.append(
                f"{{'cast_id': {cal.cast_id[src]}, 'character': {char!r}, "
                f"'credit_id': '{cast_credit[24 * ci : 24 * ci + 24]}', {gid}, 'name': {name}, "
                f"'order': {cal.cast_order[src]}, 'profile_path': {prof}}}"
            )
            ci += 1
        cast_cell = "[" + ", ".join(entries) + "]"
        entries = []
        for _ in range(int(crew_len[i])):
            gid, name, prof = person_frag[crew_people_l[wi]]
            dept, job = job_parts[crew_job_l[wi]]
            entries.append(
                f"{{'credit_id': '{crew_credit[24 * wi : 24 * wi + 24]}', 'department': {dept}, "
                f"{gid}, 'job': {job}, 'name': {name}, 'profile_path': {prof}}}"
            )
            wi += 1
        crew_cell = "[" + ", ".join(entries) + "]"
        stats["empty_cast"] += cast_cell == "[]"
        stats["empty_crew"] += crew_cell == "[]"
        credit_row = [cast_cell, crew_cell, mid]
        for conflict in plan.credit_copies.get(m, []):
            copy = list(credit_row)
            if conflict:  # a differing copy: one credit fewer, as re-scraped rows differ
                which = 0 if cast_cell != "[]" else 1
                cut = copy[which].rfind(", {")
                copy[which] = copy[which][:cut] + "]" if cut > 0 else "[]"
            stats["credits_copies"] += 1
            stats["empty_cast"] += copy[0] == "[]"
            stats["empty_crew"] += copy[1] == "[]"
            stats["credits_conflict"] += copy != credit_row
            credit_copies.append((len(credits) + int(rng.integers(0, 20)), copy))
        credits.append(credit_row)

        # keywords row
        kws = _mix_items(
            kw_lists[i],
            cal.keywords,
            kw_keep[ke : ke + len(kw_lists[i])],
            kw_draw[ke : ke + len(kw_lists[i])],
        )
        ke += len(kw_lists[i])
        kw_cell = repr([{"id": k, "name": s} for k, s in sorted(kws)])
        stats["empty_keywords"] += kw_cell == "[]"
        if m in plan.keyword_copies:
            stats["empty_keywords"] += kw_cell == "[]"
            keyword_copies.append((len(keywords) + int(rng.integers(0, 20)), [mid, kw_cell]))
        keywords.append([mid, kw_cell])

        # movie row
        comps = _mix_items(
            comp_lists[i],
            cal.companies,
            comp_keep[ki : ki + len(comp_lists[i])],
            comp_draw[ki : ki + len(comp_lists[i])],
        )
        ki += len(comp_lists[i])
        c = int(plan.coll_of[m])
        title = titles[i]
        if c >= 0:
            base = plan.coll_titles[c]
            rank = int(plan.coll_rank[m])
            title = (
                base
                if rank == 0
                else (f"{base} {rank + 1}" if numbered[i] else f"{base}: {subtitles[i]}")
            )
        lang = text["original_language"][ti]
        original = title
        if flags["orig_differs"][i]:
            pool = cal.orig_titles.get(lang) or [text["original_title"][ti]]
            original = pool[int(orig_pick[i] * len(pool))]
        ov_drawn = overview[i]
        ov = ov_drawn if ov_drawn is not None else text["overview"][ti]
        rt = runtime[i]
        row = [
            text["adult"][ti],
            plan.coll_cells[c] if c >= 0 else "",
            str(budget[i]),
            text["genres"][ti],
            f"http://www.{_slug(title)}.com/" if flags["homepage"][i] else "",
            mid,
            f"tt{int(plan.imdb[m]):07d}" if flags["imdb"][i] else "",
            lang,
            original,
            ov,
            _fmt_float(pop[i]),
            posters[i] if flags["poster"][i] else "",
            repr([{"name": name, "id": cid} for name, cid in comps]),
            text["production_countries"][ti],
            "" if empty[i] else date_text[i],
            str(revenue[i]),
            "" if math.isnan(rt) else _fmt_float(rt),
            text["spoken_languages"][ti],
            text["status"][ti],
            taglines[i],
            title,
            text["video"][ti],
            _fmt_float(vote_average[i]),
            str(vote_count[i]),
        ]
        if stub[i]:
            # The real split: an unquoted line break inside the overview ended the record.
            words = ov.split(" ")
            cut = max(2, int(len(words) * 0.7))
            movies.append([*row[:9], " ".join(words[:cut])])
            movies.append([" " + " ".join(words[cut:]), *row[10:]])
            continue
        stats["pop_exp"] += "e" in row[10]
        for conflict in plan.movie_copies.get(m, []):
            copy = list(row)
            if conflict:  # re-scraped copies differ in the volatile columns
                copy[10] = _fmt_float(round(pop[i] * float(rng.uniform(0.8, 1.2)) + 1e-4, 6))
                copy[23] = str(vote_count[i] + int(rng.integers(1, 4)))
            movie_copies.append((len(movies) + int(rng.integers(0, 20)), copy))
        movies.append(row)
    stats["cast_entries"] = cast_total
    stats["crew_entries"] = crew_total
    extra = {"cast_people": cast_people, "crew_people": crew_people, "stats": stats}
    return (
        _with_copies(movies, movie_copies),
        _with_copies(credits, credit_copies),
        _with_copies(keywords, keyword_copies),
        extra,
    )


# ----------------------------------------------------------------------------- public API


def generate(
    scale: float,
    out: Path,
    seed: int = 0,
    sample_dir: Path = DEFAULT_SAMPLE_DIR,
    progress: Callable[[str], None] | None = None,
) -> SynthSummary:
    """Write the synthetic raw files into ``out`` and return what was written.

    ``scale`` 1.0 reproduces the full files' sizes (0.01-10 is the intended range; quirks get
    at least one instance from 0.05 up). ``seed`` (>= 0) fixes every byte; ``sample_dir``
    holds the real ``*.csv.gz`` sample to calibrate on; ``progress`` receives one line per
    chunk of movies written.
    """
    if not 0.005 <= scale <= 50:
        raise ValueError("scale must be between 0.005 and 50")
    if seed < 0:
        raise ValueError("seed must be non-negative")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cal = _calibrate(str(Path(sample_dir).resolve()))
    plan, counts = _plan(cal, scale, np.random.default_rng([seed, 0]))
    people = _build_people(cal, plan.n_unique, np.random.default_rng([seed, 1]))
    cast_seen = np.zeros(len(people.pid), bool)
    crew_seen = np.zeros(len(people.pid), bool)
    totals = Counter[str]()
    rows = {"movies": 0, "credits": 0, "keywords": 0}
    files = {
        "movies": out / "movies_dataset.csv",
        "credits": out / "credits.csv",
        "keywords": out / "keywords.csv",
    }
    headers = {"movies": MOVIE_COLUMNS, "credits": CREDITS_COLUMNS, "keywords": KEYWORDS_COLUMNS}
    # Written under temporary names and renamed at the end: callers that cache twins by the
    # presence of the files never see a half-written one.
    partial = {k: p.with_name(p.name + ".partial") for k, p in files.items()}
    handles = {k: p.open("w", encoding="utf-8", newline="") for k, p in partial.items()}
    done = False
    try:
        for k, h in handles.items():
            h.write(_csv_line(list(headers[k])))
        for chunk_no, lo in enumerate(range(0, plan.n_unique, CHUNK_MOVIES)):
            hi = min(plan.n_unique, lo + CHUNK_MOVIES)
            rng = np.random.default_rng([seed, 2, chunk_no])
            movies, credits, keywords, extra = _chunk(cal, plan, people, lo, hi, rng)
            for key, data in (("movies", movies), ("credits", credits), ("keywords", keywords)):
                handles[key].writelines(map(_csv_line, data))
                rows[key] += len(data)
            cast_seen[extra["cast_people"]] = True
            crew_seen[extra["crew_people"]] = True
            totals.update(extra["stats"])
            if progress is not None:
                progress(f"movies {hi:,}/{plan.n_unique:,}")
        done = True
    finally:
        for h in handles.values():
            h.close()
        if not done:
            for p in partial.values():
                p.unlink(missing_ok=True)
    for k, p in partial.items():
        p.replace(files[k])
    return SynthSummary(
        scale=scale,
        seed=seed,
        movie_rows=rows["movies"],
        credits_rows=rows["credits"],
        keywords_rows=rows["keywords"],
        distinct_movie_ids=plan.n_unique,
        cast_entries=totals["cast_entries"],
        crew_entries=totals["crew_entries"],
        distinct_cast_people=int(cast_seen.sum()),
        distinct_crew_people=int(crew_seen.sum()),
        collections=len(plan.coll_cells),
        malformed_rows=counts["split"],
        truncated_rows=counts["split"],
        duplicate_movie_rows=counts["dup"],
        duplicate_movie_ids=len(plan.movie_copies),
        conflicting_duplicate_rows=counts["conflict"],
        empty_release_date=counts["empty_date"],
        popularity_exponent=totals["pop_exp"],
        empty_cast_rows=totals["empty_cast"],
        empty_crew_rows=totals["empty_crew"],
        duplicate_credits_rows=totals["credits_copies"],
        conflicting_credits_rows=totals["credits_conflict"],
        duplicate_keywords_rows=counts["keywords_extra"],
        empty_keywords_rows=totals["empty_keywords"],
    )


# ----------------------------------------------------------------------------- statistics

TOP_GENRES = ("Drama", "Comedy", "Thriller", "Romance", "Action", "Horror", "Documentary")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _read_raw(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False, truncate_ragged_lines=True)


def summary_stats(
    movies_csv: Path, credits_csv: Path, *, skip_movie_rows: int = 0
) -> dict[str, float]:
    """Comparable statistics of a raw movies/credits pair (real or synthetic, .csv or .csv.gz).

    Only well-formed movie rows count (integer id, all 24 fields, first copy of an id);
    credits are those of these movies. ``skip_movie_rows`` drops leading rows, e.g. the
    sample's biased head, so the rest stands for the whole file.
    """
    movies = _read_raw(Path(movies_csv)).slice(skip_movie_rows)
    movies = movies.filter(
        pl.col("id").str.contains(r"^\d+$") & pl.col("video").is_not_null()
    ).unique("id", keep="first", maintain_order=True)
    credits = _read_raw(Path(credits_csv)).unique("id", keep="first", maintain_order=True)
    credits = credits.join(movies.select("id"), on="id", how="semi")

    def num(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Float64, strict=False)

    def share(expr: pl.Expr) -> pl.Expr:
        return expr.fill_null(False).cast(pl.Float64).mean()

    def n_words(name: str) -> pl.Expr:
        return pl.col(name).str.split(" ").list.len()

    date = pl.col("release_date").str.to_date("%Y-%m-%d", strict=False)
    exprs = [
        pl.len().cast(pl.Float64).alias("movies"),
        share(num("budget") == 0).alias("budget_zero_share"),
        share(num("revenue") == 0).alias("revenue_zero_share"),
        share(num("vote_count") == 0).alias("vote_count_zero_share"),
        num("vote_count").median().alias("vote_count_median"),
        num("vote_count").mean().alias("vote_count_mean"),
        num("vote_average").filter(num("vote_count") > 0).mean().alias("vote_average_mean"),
        num("popularity").median().alias("popularity_median"),
        num("runtime").filter(num("runtime") > 0).median().alias("runtime_median"),
        share(pl.col("belongs_to_collection").is_not_null()).alias("collection_share"),
        share(pl.col("homepage").is_not_null()).alias("homepage_share"),
        share(pl.col("tagline").is_not_null()).alias("tagline_share"),
        share(pl.col("overview").is_null()).alias("overview_empty_share"),
        n_words("overview").mean().alias("overview_words_mean"),
        n_words("tagline").mean().alias("tagline_words_mean"),
        n_words("title").mean().alias("title_words_mean"),
        pl.col("genres").str.count_matches("'id':").mean().alias("genres_per_movie_mean"),
        share(pl.col("genres") == "[]").alias("genres_empty_share"),
        share(pl.col("production_companies") == "[]").alias("companies_empty_share"),
        share(pl.col("original_language") == "en").alias("english_share"),
        date.dt.year().median().cast(pl.Float64).alias("release_year_median"),
    ]
    exprs += [
        share(pl.col("genres").str.contains(f"'name': '{g}'", literal=True)).alias(
            f"genre_share_{g.lower()}"
        )
        for g in TOP_GENRES
    ]
    exprs += [
        share(date.dt.weekday() == k + 1)
        .truediv(share(date.is_not_null()))
        .alias(f"weekday_share_{day}")
        for k, day in enumerate(WEEKDAYS)
    ]
    stats = movies.select(exprs).row(0, named=True)
    cast = pl.col("cast").str.count_matches("'cast_id': ")
    crew = pl.col("crew").str.count_matches("'credit_id': ")
    stats |= credits.select(
        pl.len().cast(pl.Float64).alias("credits"),
        cast.mean().alias("cast_size_mean"),
        cast.median().alias("cast_size_median"),
        crew.mean().alias("crew_size_mean"),
        crew.median().alias("crew_size_median"),
        share(cast == 0).alias("cast_empty_share"),
        share(crew == 0).alias("crew_empty_share"),
        pl.col("crew").str.count_matches("'job': 'Director'").mean().alias("directors_mean"),
    ).row(0, named=True)
    return {k: float(v) if v is not None else math.nan for k, v in stats.items()}
