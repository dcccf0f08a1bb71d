"""Offline evaluation of the recommender against simple baselines, on a warehouse build.

Every movie of the build is a query; each recommender returns its top ``k`` other movies, and
four numbers describe the lists (higher is better for the first three):

* **same-collection hit rate @k**: over the queries that have at least one collection sibling
  in the data, the share whose top k contains one (Star Wars -> The Empire Strikes Back);
* **genre Jaccard @k**: over the queries with genres, the mean Jaccard similarity of the
  query's genres and each recommended movie's genres (a missing slot counts 0);
* **coverage**: the share of the catalogue that appears in at least one top-k list;
* **popularity bias**: the mean popularity percentile of the recommended movies (0.5 is
  neutral: what uniformly random picks score; 1.0 is always the most popular movie).

The recommenders, side by side:

* **random**: k uniformly random other movies (seeded);
* **most popular**: the k most popular movies (by TMDB popularity), minus the query;
* **overview TF-IDF**: the assignment's baseline, ``TfidfVectorizer(stop_words="english")`` on
  the overview alone and plain cosine;
* **ours**: ``data.recommender`` with ``DEFAULT_WEIGHTS``, and **ours without collection**
  (the same weights with collection 0), so the collection hit rate is not trivially bought.

Every recommender excludes the query and its same-title-same-year duplicates, as the API does.
Similarities are computed in blocks of rows (a block x N dense slab at a time), never as a
dense N x N matrix. ``search_weights`` is the coordinate search that chose ``DEFAULT_WEIGHTS``
(see ``data/recommender.py``); run ``python -m evaluation.recommender BUILD [--search]``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp
from rich.table import Table
from scipy.stats import rankdata
from sklearn.feature_extraction.text import TfidfVectorizer

from data.catalog import read_table
from data.contract import TABLES
from data.recommender import (
    DEFAULT_WEIGHTS,
    FIELDS,
    Index,
    MovieVectorizer,
    documents,
    top_rows,
)

BLOCK = 512  # query rows per similarity slab: BLOCK x N float32 at a time
LATENCY_SAMPLES = 200

Lists = np.ndarray  # (queries, k) movie rows, best first, -1 where fewer than k were found


# --- ground truth ------------------------------------------------------------------------


@dataclass(frozen=True)
class Truth:
    """What the metrics compare against, per movie row (rows in movie-id order)."""

    ids: np.ndarray
    collection: np.ndarray  # collection id, -1 for none
    genres: np.ndarray  # (N, G) bool
    popularity: np.ndarray
    percentile: np.ndarray  # popularity percentile in [0, 1]; the catalogue mean is 0.5
    twins: list[np.ndarray]  # per row: the row itself and same-title-same-year rows

    @property
    def n(self) -> int:
        return int(self.ids.size)

    @classmethod
    def from_tables(cls, tables: Mapping[str, pl.DataFrame]) -> Truth:
        movies = tables["movies"].sort("id").with_row_index("row")
        n = movies.height
        genre_ids = tables["genres"]["id"].sort().to_list()
        column = {g: i for i, g in enumerate(genre_ids)}
        links = tables["movie_genres"].join(movies.select("row", movie_id="id"), on="movie_id")
        genres = np.zeros((n, len(genre_ids)), dtype=bool)
        genres[
            links["row"].to_numpy(),
            np.fromiter((column[g] for g in links["genre_id"].to_list()), dtype=np.int64),
        ] = True
        popularity = movies["popularity"].fill_null(0.0).to_numpy().astype(np.float64)
        groups = movies.group_by("title_key", "release_year").agg("row")["row"].to_list()
        twins: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * n
        for group in groups:
            rows = np.asarray(group, dtype=np.int64)
            for row in group:
                twins[row] = rows
        return cls(
            ids=movies["id"].to_numpy(),
            collection=movies["collection_id"].fill_null(-1).to_numpy(),
            genres=genres,
            popularity=popularity,
            percentile=(rankdata(popularity) - 0.5) / n,
            twins=twins,
        )

    def sibling_queries(self) -> np.ndarray:
        """Rows whose collection has another movie that is not a duplicate of the row."""
        has = self.collection >= 0
        ids, counts = np.unique(self.collection[has], return_counts=True)
        size = dict(zip(ids.tolist(), counts.tolist(), strict=True))
        rows = []
        for row in np.flatnonzero(has):
            c = self.collection[row]
            twins_in = int((self.collection[self.twins[row]] == c).sum())
            if size[c] - twins_in > 0:
                rows.append(row)
        return np.asarray(rows, dtype=np.int64)

    def genre_queries(self) -> np.ndarray:
        return np.flatnonzero(self.genres.any(axis=1))

    def expected_random_jaccard(self) -> float:
        """The genre Jaccard a uniformly random other movie scores, averaged over the genre
        queries (computed over the distinct genre sets, so it stays cheap)."""
        sets, inverse, counts = np.unique(
            self.genres, axis=0, return_inverse=True, return_counts=True
        )
        inverse = inverse.ravel()
        s = sets.astype(np.float64)
        inter = s @ s.T
        union = s.sum(1)[:, None] + s.sum(1)[None, :] - inter
        jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        # Mean over the other N - 1 movies: every movie, minus the query itself.
        per_set = (jac @ counts - np.diag(jac)) / (self.n - 1)
        queries = self.genre_queries()
        return float(per_set[inverse[queries]].mean())


# --- metrics -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    name: str
    description: str
    collection_hit_rate: float
    genre_jaccard: float
    coverage: float
    popularity_bias: float


def jaccard_rows(truth: Truth, queries: np.ndarray, lists: Lists) -> np.ndarray:
    """Per query: the mean genre Jaccard of its k slots (a missing slot scores 0)."""
    query_genres = truth.genres[queries][:, None, :]
    valid = lists[queries] >= 0
    rec_genres = truth.genres[np.where(valid, lists[queries], 0)] & valid[..., None]
    inter = (query_genres & rec_genres).sum(-1)
    union = (query_genres | rec_genres).sum(-1)
    jac = np.where(valid, inter / np.maximum(union, 1), 0.0)
    return jac.mean(axis=1)


def measure(
    name: str, description: str, lists: Lists, truth: Truth, queries: np.ndarray | None = None
) -> Scores:
    """The four metrics of ``lists`` over every query (or only the rows ``queries``)."""
    chosen = np.ones(truth.n, dtype=bool) if queries is None else np.isin(
        np.arange(truth.n), queries
    )
    siblings = truth.sibling_queries()
    siblings = siblings[chosen[siblings]]
    genre_queries = truth.genre_queries()
    genre_queries = genre_queries[chosen[genre_queries]]
    valid = lists >= 0
    in_collection = truth.collection[np.where(valid, lists, 0)] == truth.collection[:, None]
    hits = (in_collection & valid)[siblings].any(axis=1)
    recommended = lists[chosen][valid[chosen]]
    return Scores(
        name=name,
        description=description,
        collection_hit_rate=float(hits.mean()) if siblings.size else float("nan"),
        genre_jaccard=float(jaccard_rows(truth, genre_queries, lists).mean()),
        coverage=float(np.unique(recommended).size / truth.n),
        popularity_bias=float(truth.percentile[recommended].mean()),
    )


# --- recommenders ------------------------------------------------------------------------


def random_lists(truth: Truth, k: int, seed: int) -> Lists:
    """k distinct, uniformly random other movies per query."""
    rng = np.random.default_rng(seed)
    lists = np.full((truth.n, k), -1, dtype=np.int64)
    for row in range(truth.n):
        taken: list[int] = []
        skip = set(truth.twins[row].tolist()) | {row}
        target = min(k, truth.n - len(skip))
        while len(taken) < target:
            for pick in rng.integers(0, truth.n, size=2 * k).tolist():
                if pick not in skip:
                    skip.add(pick)
                    taken.append(pick)
                    if len(taken) == target:
                        break
        lists[row, : len(taken)] = taken
    return lists


def popular_lists(truth: Truth, k: int) -> Lists:
    """The k most popular movies (ties by id), minus the query and its duplicates."""
    order = np.lexsort((np.arange(truth.n), -truth.popularity))
    lists = np.full((truth.n, k), -1, dtype=np.int64)
    for row in range(truth.n):
        skip = set(truth.twins[row].tolist()) | {row}
        head = [r for r in order[: k + len(skip)].tolist() if r not in skip][:k]
        lists[row, : len(head)] = head
    return lists


def knn_lists(matrix: sp.csr_matrix, truth: Truth, k: int, queries: np.ndarray | None = None,
              boost: np.ndarray | None = None) -> Lists:
    """Top-k cosine neighbours of every row of an L2-normalised ``matrix``, computed in
    BLOCK-row slabs with the recommender's own ranking rule (``top_rows``). ``boost`` (per
    movie) is added to every score, for blending experiments."""
    rows = np.arange(truth.n) if queries is None else queries
    lists = np.full((truth.n, k), -1, dtype=np.int64)
    transposed = matrix.T.tocsr()
    for start in range(0, rows.size, BLOCK):
        block = rows[start : start + BLOCK]
        slab = (matrix[block] @ transposed).toarray()
        if boost is not None:
            slab += boost[None, :]
        for i, row in enumerate(block.tolist()):
            exclude = np.union1d(truth.twins[row], [row])
            best = [nb.row for nb in top_rows(slab[i], k, exclude)]
            lists[row, : len(best)] = best
    return lists


def overview_matrix(docs: pl.DataFrame) -> sp.csr_matrix:
    """The assignment's baseline: TF-IDF of the overview alone (rows L2-normalised)."""
    vectorizer = TfidfVectorizer(stop_words="english")
    return vectorizer.fit_transform(docs["overview"].fill_null("").to_list()).tocsr()


# --- the evaluation ----------------------------------------------------------------------


@dataclass
class Prepared:
    """A build read once: tables, documents, truth and every field's fitted block, so many
    weightings can be scored without refitting."""

    tables: dict[str, pl.DataFrame]
    docs: pl.DataFrame
    truth: Truth
    vectorizer: MovieVectorizer
    blocks: dict[str, sp.csr_matrix]

    @classmethod
    def load(cls, build: Path) -> Prepared:
        tables = {name: read_table(Path(build), name) for name in TABLES if name != "rejects"}
        return cls.from_tables(tables)

    @classmethod
    def from_tables(cls, tables: dict[str, pl.DataFrame]) -> Prepared:
        docs = documents(tables)
        vectorizer = MovieVectorizer(weights={name: 1.0 for name in FIELDS})
        blocks = vectorizer.fit_blocks(docs)
        return cls(tables, docs, Truth.from_tables(tables), vectorizer, blocks)

    def index(self, weights: Mapping[str, float]) -> Index:
        """Equal to ``Index.fit(docs, weights)``: per-field fits do not depend on weights."""
        vectorizer = self.vectorizer.reweighted(weights)
        return Index(vectorizer, vectorizer.combine(self.blocks), self.docs["movie_id"].to_numpy())


@dataclass(frozen=True)
class EvaluationReport:
    k: int
    seed: int
    movies: int
    collection_queries: int
    genre_queries: int
    expected_random_jaccard: float
    weights: dict[str, float]
    rows: list[Scores]
    index_bytes: int
    latency_ms: float  # median time of one ``Index.similar`` call (top 5)
    seconds: float
    lists: dict[str, Lists] = field(repr=False, default_factory=dict)

    def row(self, name: str) -> Scores:
        return next(r for r in self.rows if r.name == name)


def latency_ms(index: Index, samples: int = LATENCY_SAMPLES, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, index.matrix.shape[0], size=samples)
    times = []
    for row in rows.tolist():
        start = time.perf_counter()
        index.similar(row, 5, np.asarray([row]))
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def evaluate(
    build: Path, k: int = 5, seed: int = 0, weights: Mapping[str, float] | None = None,
    prepared: Prepared | None = None,
) -> EvaluationReport:
    started = time.perf_counter()
    data = prepared or Prepared.load(build)
    truth = data.truth
    weights = dict(weights or DEFAULT_WEIGHTS)
    ours = data.index(weights)
    without = data.index(weights | {"collection": 0.0})
    runs: list[tuple[str, str, Callable[[], Lists]]] = [
        ("random", f"uniformly random other movies (seed {seed})",
         lambda: random_lists(truth, k, seed)),
        ("most popular", "the k most popular movies", lambda: popular_lists(truth, k)),
        ("overview TF-IDF", "assignment baseline: overview only, cosine",
         lambda: knn_lists(overview_matrix(data.docs), truth, k)),
        ("ours", "weighted multi-field TF-IDF (DEFAULT_WEIGHTS)",
         lambda: knn_lists(ours.matrix, truth, k)),
        ("ours without collection", "the same weights, collection field 0",
         lambda: knn_lists(without.matrix, truth, k)),
    ]
    rows, lists = [], {}
    for name, description, run in runs:
        lists[name] = run()
        rows.append(measure(name, description, lists[name], truth))
    return EvaluationReport(
        k=k,
        seed=seed,
        movies=truth.n,
        collection_queries=int(truth.sibling_queries().size),
        genre_queries=int(truth.genre_queries().size),
        expected_random_jaccard=truth.expected_random_jaccard(),
        weights={name: w for name, w in weights.items() if w > 0},
        rows=rows,
        index_bytes=ours.nbytes,
        latency_ms=latency_ms(ours),
        seconds=time.perf_counter() - started,
        lists=lists,
    )


# --- output ------------------------------------------------------------------------------

COLUMNS = ("recommender", "collection hit @k", "genre Jaccard @k", "coverage", "popularity bias")


def _cells(report: EvaluationReport, scores: Scores) -> list[str]:
    return [
        scores.name,
        f"{scores.collection_hit_rate:.3f}",
        f"{scores.genre_jaccard:.3f}",
        f"{scores.coverage:.3f}",
        f"{scores.popularity_bias:.3f}",
    ]


def _caption(report: EvaluationReport) -> str:
    return (
        f"k={report.k}, {report.movies:,} movies; {report.collection_queries:,} queries with a "
        f"collection sibling, {report.genre_queries:,} with genres; a random movie's expected "
        f"genre Jaccard is {report.expected_random_jaccard:.3f}. Index {report.index_bytes:,} "
        f"bytes, one recommendation {report.latency_ms:.2f} ms (median)."
    )


def render(report: EvaluationReport) -> Table:
    table = Table(title=f"Recommender evaluation @{report.k}", caption=_caption(report))
    for column in COLUMNS:
        table.add_column(column.replace("@k", f"@{report.k}"),
                         justify="left" if column == "recommender" else "right")
    for scores in report.rows:
        table.add_row(*_cells(report, scores))
    return table


def markdown(report: EvaluationReport) -> str:
    header = [c.replace("@k", f"@{report.k}") for c in COLUMNS]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(_cells(report, s)) + " |" for s in report.rows]
    return "\n".join(lines) + "\n\n" + _caption(report) + "\n"


# --- choosing the weights ----------------------------------------------------------------


def objective(scores: Scores) -> float:
    """What the weight search maximises, on ours *without* the collection field, in equal
    parts: finding a movie's sequels from its content alone (the collection field would buy
    it), genre agreement (on topic), and coverage (not funnelling every query to the same
    hub movies: pushing one field's weight up raises one of the first two at its cost)."""
    return scores.collection_hit_rate + scores.genre_jaccard + scores.coverage


@dataclass(frozen=True)
class SearchResult:
    weights: dict[str, float]
    search: Scores  # the chosen weights on the search half of the queries
    held_out: Scores  # ... and on the other half, which the search never saw
    tried: int


def search_weights(
    prepared: Prepared,
    start: Mapping[str, float],
    fields: Iterable[str] = ("tagline", "title", "genres", "keywords", "director", "cast",
                             "companies", "language"),
    grid: Iterable[float] = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0),
    k: int = 5,
    passes: int = 3,
    min_gain: float = 0.005,
    log: Callable[[str], object] = print,
) -> SearchResult:
    """Coordinate search over the field weights (overview stays 1.0, the scale; collection is
    left out, it is what the metric would trivially reward). For each field in turn every
    grid value is tried with the others fixed; a change is kept only if it raises
    ``objective`` by ``min_gain`` (about two collection queries), which keeps the weights
    near the simple start unless the data clearly says otherwise. Queries are the even rows;
    the odd rows are held out to show how much of the gain is overfitting."""
    grid = tuple(grid)
    truth = prepared.truth
    rows = np.arange(truth.n)
    search_rows, held_rows = rows[rows % 2 == 0], rows[rows % 2 == 1]
    cache: dict[tuple[tuple[str, float], ...], float] = {}

    def lists(weights: Mapping[str, float], queries: np.ndarray) -> Lists:
        matrix = prepared.index(dict(weights) | {"collection": 0.0}).matrix
        return knn_lists(matrix, truth, k, queries=queries)

    def score(weights: dict[str, float]) -> float:
        key = tuple(sorted(weights.items()))
        if key not in cache:
            found = measure("", "", lists(weights, search_rows), truth, search_rows)
            cache[key] = objective(found)
            log(f"{objective(found):.4f} hit={found.collection_hit_rate:.3f} "
                f"jaccard={found.genre_jaccard:.3f} coverage={found.coverage:.3f} "
                + " ".join(f"{f}={w:g}" for f, w in weights.items() if w > 0))
        return cache[key]

    best = dict(start)
    best_value = score(best)
    for _ in range(passes):
        changed = False
        for name in fields:
            for value in grid:
                trial = best | {name: float(value)}
                if trial != best and score(trial) > best_value + min_gain:
                    best, best_value, changed = trial, score(trial), True
        if not changed:
            break
    log(f"chosen: {best}")
    return SearchResult(
        weights=best,
        search=measure("search half", "", lists(best, search_rows), truth, search_rows),
        held_out=measure("held-out half", "", lists(best, held_rows), truth, held_rows),
        tried=len(cache),
    )


def main(argv: list[str]) -> None:
    from rich.console import Console

    from data.paths import DEFAULT_BUILD

    args = [a for a in argv if not a.startswith("--")]
    build = Path(args[0]) if args else DEFAULT_BUILD
    if "--search" in argv:
        prepared = Prepared.load(build)
        start = {name: DEFAULT_WEIGHTS.get(name, 0.0) for name in FIELDS}
        print(search_weights(prepared, start))
        return
    report = evaluate(build)
    Console().print(render(report))
    if "--markdown" in argv:
        print(markdown(report))


if __name__ == "__main__":
    main(sys.argv[1:])
