"""Synthetic MovieLens ``ratings.csv`` + ``links.csv`` for a synthetic movies file.

Calibrated on the development half of the real ratings (336 viewers, 49,135 ratings; the
constants below were measured on it once, the file itself is not needed):

* **viewer activity** is lognormal, median 70 ratings, sigma 1.20 (the dev half's p10 / p50 /
  p90 / max are 23 / 70 / 326 / 2,391), at least 20 ratings per viewer as in MovieLens;
  the number of viewers is set so that scale 1 holds the full file's 26,024,289 ratings;
* **item popularity** follows the movie's TMDB vote count: a rating goes to a movie with
  probability proportional to ``(1 + vote_count) ** 0.59`` (the dev half's log-log slope of
  ratings per movie against vote count; correlation 0.75), so it is heavy-tailed;
* **taste**: every viewer has a favourite genre and draws half of their ratings from it, so
  co-liked pairs cluster as real ones do;
* **rating values**: a rating is a like (>= 4) with probability
  ``sigmoid(0.9 * (vote_average - 6.5))``: the dev half's slope (0.16 / 0.32 / 0.54 / 0.72
  likes at averages 5 / 6 / 7 / 8), its midpoint moved so that half of the ratings are likes
  as in the dev half (the synthetic movies' averages are lower than those of rated real
  ones); likes and dislikes take the dev half's value frequencies.

Draws are with replacement; a viewer's repeated movies are dropped, as the real file has one
rating per (viewer, movie), and the viewer draws again until they reach their activity (a few
rounds at most), so scale 1 writes the full file's count. Same seed -> same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

FULL_RATINGS = 26_024_289
ACTIVITY_MEDIAN = 70.0
ACTIVITY_SIGMA = 1.20
MIN_ACTIVITY = 20
MAX_ACTIVITY = 20_000
TOP_UP_ROUNDS = 50  # redraws for viewers whose draws repeated a movie
POPULARITY_EXPONENT = 0.59
FAVOURITE_SHARE = 0.5
LIKE_SLOPE, LIKE_MIDPOINT = 0.9, 6.5
LIKED_VALUES = ((4.0, 13_331), (4.5, 4_148), (5.0, 7_079))
OTHER_VALUES = ((0.5, 734), (1.0, 1_788), (1.5, 975), (2.0, 3_626), (2.5, 2_276), (3.0, 9_650),
                (3.5, 5_528))
FIRST_TIME, LAST_TIME = 789_652_009, 1_476_640_644  # the dev half's timestamp range


@dataclass(frozen=True)
class RatingsSummary:
    viewers: int
    ratings: int
    movies: int
    likes: int


def _movies(movies_csv: Path) -> pl.DataFrame:
    """id, vote_count, vote_average and first genre of the well-formed rows (the raw file's
    quirks, such as shifted rows, are simply skipped)."""
    raw = pl.read_csv(movies_csv, infer_schema=False,
                      columns=["id", "imdb_id", "vote_count", "vote_average", "genres"])
    return (
        raw.select(
            id=pl.col("id").cast(pl.Int64, strict=False),
            imdb=pl.col("imdb_id").str.extract(r"tt(\d+)"),
            votes=pl.col("vote_count").cast(pl.Float64, strict=False).fill_null(0.0),
            average=pl.col("vote_average").cast(pl.Float64, strict=False).fill_null(0.0),
            genre=pl.col("genres").str.extract(r"'name': '([^']+)'").fill_null(""),
        )
        .drop_nulls("id")
        .unique("id", keep="first")
        .sort("id")
    )


def _values(rng: np.random.Generator, table: tuple[tuple[float, int], ...], n: int
            ) -> np.ndarray:
    values = np.asarray([v for v, _ in table], dtype=np.float32)
    weights = np.asarray([w for _, w in table], dtype=np.float64)
    return values[rng.choice(values.size, size=n, p=weights / weights.sum())]


def generate_ratings(scale: float, movies_csv: Path, out: Path, seed: int = 0) -> RatingsSummary:
    """Write ``ratings.csv`` and ``links.csv`` into ``out`` for the movies of ``movies_csv``."""
    rng = np.random.default_rng([seed, 7])
    movies = _movies(movies_csv)
    n = movies.height
    weight = (1.0 + movies["votes"].to_numpy()) ** POPULARITY_EXPONENT
    genre_of = movies["genre"].rank("dense").cast(pl.Int64).to_numpy() - 1
    genre_count = int(genre_of.max()) + 1

    # Viewers and how many ratings each makes: as many viewers as it takes for their
    # activities to add up to the target (the clipped lognormal's mean is not the formula's).
    target = max(1, round(FULL_RATINGS * scale))
    mean = np.exp(np.log(ACTIVITY_MEDIAN) + ACTIVITY_SIGMA**2 / 2)
    activity = np.clip(
        rng.lognormal(np.log(ACTIVITY_MEDIAN), ACTIVITY_SIGMA, round(1.5 * target / mean) + 10),
        MIN_ACTIVITY, min(MAX_ACTIVITY, n),
    ).astype(np.int64)
    viewers = min(activity.size, int(np.searchsorted(np.cumsum(activity), target)) + 1)
    activity = activity[:viewers]
    favourite = rng.choice(genre_count, size=viewers, p=np.bincount(
        genre_of, weights=weight, minlength=genre_count) / weight.sum())

    # Each rating: from the viewer's favourite genre or from the whole catalogue.
    pools = [np.arange(n)] + [np.flatnonzero(genre_of == g) for g in range(genre_count)]
    cdfs = [np.cumsum(weight[pool]) for pool in pools]

    def draw(viewer: np.ndarray) -> np.ndarray:
        item = np.empty(viewer.size, dtype=np.int64)
        from_favourite = rng.random(viewer.size) < FAVOURITE_SHARE
        which = np.where(from_favourite, favourite[viewer] + 1, 0)
        for p, (pool, cdf) in enumerate(zip(pools, cdfs, strict=True)):
            picks = np.flatnonzero(which == p)
            if picks.size == 0 or pool.size == 0:
                continue
            item[picks] = pool[np.minimum(np.searchsorted(cdf, rng.random(picks.size) * cdf[-1]),
                                          pool.size - 1)]
        return item

    # One rating per (viewer, movie), as in the real file: draws with replacement, repeats
    # dropped, and a viewer short of their activity draws the shortfall again (popular movies
    # repeat, so one round alone keeps only about 93% of the ratings at scale 1, and a heavy
    # viewer of a small catalogue needs tens of rounds). ``keys`` (viewer * n + movie) stays
    # sorted: each round's few new keys are merged in by a stable sort, linear on two runs.
    keys = np.zeros(0, dtype=np.int64)
    need = activity.copy()
    for _ in range(TOP_UP_ROUNDS):
        short = np.flatnonzero(need > 0).astype(np.int32)
        if short.size == 0:
            break
        drawn = np.repeat(short, need[short])
        new = np.unique(drawn.astype(np.int64) * n + draw(drawn))
        if keys.size:
            at = np.minimum(np.searchsorted(keys, new), keys.size - 1)
            new = new[keys[at] != new]
        keys = np.sort(np.concatenate([keys, new]), kind="stable")
        need -= np.bincount(new // n, minlength=viewers)
    viewer, item = (keys // n).astype(np.int32), (keys % n).astype(np.int32)

    average = movies["average"].to_numpy()[item]
    liked = rng.random(item.size) < 1 / (1 + np.exp(-LIKE_SLOPE * (average - LIKE_MIDPOINT)))
    rating = np.where(liked, _values(rng, LIKED_VALUES, item.size),
                      _values(rng, OTHER_VALUES, item.size))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({
        "userId": viewer + 1,
        "movieId": item + 1,
        "rating": rating,
        "timestamp": rng.integers(FIRST_TIME, LAST_TIME, size=item.size),
    }).write_csv(out / "ratings.csv")
    movies.select(
        movieId=pl.int_range(1, n + 1, dtype=pl.Int32),
        imdbId=pl.col("imdb"),
        tmdbId=pl.col("id"),
    ).write_csv(out / "links.csv")
    return RatingsSummary(viewers=int(viewer.max()) + 1 if viewer.size else 0,
                          ratings=int(item.size), movies=n, likes=int(liked.sum()))
