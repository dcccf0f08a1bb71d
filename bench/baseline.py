"""Reference baseline: the "PI MLOps" assignment done the way students did it.

This is the yardstick for the benchmark, not part of the product. It is deliberately faithful
to the assignment's approach and must stay that way (neither sabotaged nor optimised):

* ETL with pandas ``read_csv`` and ``ast.literal_eval`` applied cell by cell via ``.apply``;
* the seven endpoint functions, each scanning the whole DataFrame per request with boolean
  masks or ``.apply`` over the list columns;
* a TF-IDF recommender with a **dense** N×N float64 cosine-similarity matrix built at startup
  and an ``argsort`` of one row per request.

Memory of the dense matrix is ``8 * N**2`` bytes: 5,000 rows → 200 MB (what students capped
at so the app fitted a 512 MB free-tier instance), 10,000 → 800 MB, the full ~45,400 rows →
~16.5 GB, which does not fit on ordinary machines; hence ``max_movies``.
"""

from __future__ import annotations

import ast
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

# Students' usual cap: a 5,000-row dense matrix (200 MB) was what fitted in memory.
DEFAULT_MAX_MOVIES = 5000

DROP_COLUMNS = ["video", "imdb_id", "adult", "original_title", "poster_path", "homepage"]
LIST_COLUMNS = ["genres", "production_companies", "production_countries", "spoken_languages"]

MESES = {
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11,
    "diciembre": 12,
}  # fmt: skip
# pandas day_of_week: Monday == 0. Unaccented spellings too, since URLs are typed by hand.
DIAS = {
    "lunes": 0, "martes": 1, "miércoles": 2, "miercoles": 2, "jueves": 3, "viernes": 4,
    "sábado": 5, "sabado": 5, "domingo": 6,
}  # fmt: skip

MIN_VOTES = 2000


# --- ETL helpers: the row-by-row literal_eval the assignment's notebooks used -------------


def _literal(cell: Any) -> Any:
    """Parse one nested cell; missing or malformed cells become None."""
    if not isinstance(cell, str):
        return None
    try:
        return ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        return None


def _collection_name(cell: Any) -> Any:
    value = _literal(cell)
    return value.get("name") if isinstance(value, dict) else None


def _names(cell: Any) -> list[str]:
    value = _literal(cell)
    if not isinstance(value, list):
        return []
    return [d["name"] for d in value if isinstance(d, dict) and "name" in d]


def _directors(cell: Any) -> list[str]:
    value = _literal(cell)
    if not isinstance(value, list):
        return []
    return [d["name"] for d in value if isinstance(d, dict) and d.get("job") == "Director"]


def _as_list(value: Any) -> list[str]:
    # A left merge leaves NaN where a movie has no credits row; fillna cannot insert lists.
    return value if isinstance(value, list) else []


# --- data + the seven functions ------------------------------------------------------------


@dataclass
class BaselineData:
    """The cleaned, merged frame plus the recommender's dense matrix, all in memory."""

    movies: pd.DataFrame
    # Titles of the rows the similarity matrix covers (row i ↔ similarity[i]).
    rec_titles: pd.Series
    similarity: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def similarity_bytes(self) -> int:
        return int(self.similarity.nbytes)

    # 1
    def cantidad_filmaciones_mes(self, mes: str) -> dict[str, Any]:
        numero = MESES.get(mes.strip().lower())
        if numero is None:
            return {"error": f"Mes inválido: {mes}"}
        n = int((self.movies["release_date"].dt.month == numero).sum())
        return {
            "mes": mes,
            "cantidad": n,
            "mensaje": f"{n} cantidad de películas fueron estrenadas en el mes de {mes}",
        }

    # 2
    def cantidad_filmaciones_dia(self, dia: str) -> dict[str, Any]:
        numero = DIAS.get(dia.strip().lower())
        if numero is None:
            return {"error": f"Día inválido: {dia}"}
        n = int((self.movies["release_date"].dt.day_of_week == numero).sum())
        return {
            "dia": dia,
            "cantidad": n,
            "mensaje": f"{n} cantidad de películas fueron estrenadas en los días {dia}",
        }

    def _por_titulo(self, titulo: str) -> pd.Series | None:
        # Full-column lower() + compare on every request, as the notebooks did.
        hits = self.movies[self.movies["title"].str.lower() == titulo.strip().lower()]
        return None if hits.empty else hits.iloc[0]

    # 3
    def score_titulo(self, titulo: str) -> dict[str, Any]:
        row = self._por_titulo(titulo)
        if row is None:
            return {"error": f"Película no encontrada: {titulo}"}
        anio, score = int(row["release_year"]), round(float(row["popularity"]), 2)
        return {
            "titulo": row["title"],
            "anio": anio,
            "score": score,
            "mensaje": (
                f"La película {row['title']} fue estrenada en el año {anio} "
                f"con un score/popularidad de {score}"
            ),
        }

    # 4
    def votos_titulo(self, titulo: str) -> dict[str, Any]:
        row = self._por_titulo(titulo)
        if row is None:
            return {"error": f"Película no encontrada: {titulo}"}
        votos, anio = int(row["vote_count"]), int(row["release_year"])
        if votos < MIN_VOTES:
            return {
                "titulo": row["title"],
                "mensaje": (
                    f"La película {row['title']} no cumple la condición de tener al menos "
                    f"{MIN_VOTES} valoraciones"
                ),
            }
        promedio = float(row["vote_average"])
        return {
            "titulo": row["title"],
            "anio": anio,
            "votos": votos,
            "promedio": promedio,
            "mensaje": (
                f"La película {row['title']} fue estrenada en el año {anio}. La misma cuenta "
                f"con un total de {votos} valoraciones, con un promedio de {promedio}"
            ),
        }

    # 5
    def get_actor(self, nombre_actor: str) -> dict[str, Any]:
        # "No considerar directores": only the cast list is scanned, never the crew.
        mask = self.movies["cast"].apply(lambda names: nombre_actor in names)
        films = self.movies[mask]
        n = len(films)
        if n == 0:
            return {"error": f"Actor no encontrado: {nombre_actor}"}
        total = float(films["return"].sum())
        promedio = total / n
        return {
            "actor": nombre_actor,
            "cantidad_filmaciones": n,
            "retorno_total": total,
            "retorno_promedio": promedio,
            "mensaje": (
                f"El actor {nombre_actor} ha participado de {n} cantidad de filmaciones, "
                f"el mismo ha conseguido un retorno de {total:.2f} con un promedio de "
                f"{promedio:.2f} por filmación"
            ),
        }

    # 6
    def get_director(self, nombre_director: str) -> dict[str, Any]:
        mask = self.movies["directors"].apply(lambda names: nombre_director in names)
        films = self.movies[mask]
        if films.empty:
            return {"error": f"Director no encontrado: {nombre_director}"}
        peliculas = [
            {
                "titulo": r["title"],
                "fecha_lanzamiento": r["release_date"].strftime("%Y-%m-%d"),
                "retorno": float(r["return"]),
                "costo": float(r["budget"]),
                "ganancia": float(r["revenue"]),
            }
            for _, r in films.iterrows()
        ]
        return {
            "director": nombre_director,
            "retorno_total": float(films["return"].sum()),
            "peliculas": peliculas,
        }

    # 7
    def recomendacion(self, titulo: str) -> dict[str, Any]:
        hits = np.flatnonzero(self.rec_titles.str.lower() == titulo.strip().lower())
        if hits.size == 0:
            return {"error": f"Película no encontrada: {titulo}"}
        idx = int(hits[0])
        # Full argsort of the dense row; skip the movie itself by index, not by position 0,
        # because ties (e.g. empty overviews) can put another row first.
        order = [i for i in np.argsort(self.similarity[idx])[::-1] if i != idx][:5]
        return {
            "titulo": self.rec_titles.iloc[idx],
            "recomendaciones": self.rec_titles.iloc[order].tolist(),
        }


# --- ETL -------------------------------------------------------------------------------------


def _transform_movies(df: pd.DataFrame) -> pd.DataFrame:
    df["belongs_to_collection"] = df["belongs_to_collection"].apply(_collection_name)
    for col in LIST_COLUMNS:
        df[col] = df[col].apply(_names)

    # The full file has shifted rows whose id is a date, and string budgets/popularities.
    df["id"] = pd.to_numeric(df["id"], errors="coerce")
    df = df.dropna(subset=["id"])
    df["id"] = df["id"].astype("int64")
    for col in ["budget", "revenue", "popularity"]:
        df[col] = pd.to_numeric(df[col], errors="coerce")

    # Assignment rules.
    df["revenue"] = df["revenue"].fillna(0)
    df["budget"] = df["budget"].fillna(0)
    df = df.dropna(subset=["release_date"])
    df["release_date"] = pd.to_datetime(df["release_date"], format="%Y-%m-%d", errors="coerce")
    df = df.dropna(subset=["release_date"])  # unparseable dates are as good as missing
    df["release_year"] = df["release_date"].dt.year
    ratio = df["revenue"] / df["budget"]  # budget 0 → inf or NaN
    df["return"] = ratio.replace([np.inf, -np.inf], np.nan).fillna(0)
    return df.drop(columns=DROP_COLUMNS)


def _transform_credits(df: pd.DataFrame) -> pd.DataFrame:
    df["id"] = pd.to_numeric(df["id"], errors="coerce")
    df = df.dropna(subset=["id"])
    df["id"] = df["id"].astype("int64")
    df["cast"] = df["cast"].apply(_names)
    df["directors"] = df["crew"].apply(_directors)
    return df.drop(columns=["crew"])


def build_similarity(
    movies: pd.DataFrame, max_movies: int | None = DEFAULT_MAX_MOVIES
) -> tuple[pd.Series, np.ndarray]:
    """TF-IDF on overviews and the dense cosine matrix over the first ``max_movies`` rows."""
    subset = movies if max_movies is None else movies.head(max_movies)
    tfidf = TfidfVectorizer(stop_words="english").fit_transform(subset["overview"].fillna(""))
    similarity = cosine_similarity(tfidf)  # dense ndarray, N×N float64
    return subset["title"].reset_index(drop=True), similarity


def baseline_etl(
    movies_path: str | Path,
    credits_path: str | Path,
    max_movies: int | None = DEFAULT_MAX_MOVIES,
) -> BaselineData:
    """Load, clean and merge the raw pair, then build the recommender (the app's startup)."""
    t0 = time.perf_counter()
    movies = _transform_movies(pd.read_csv(movies_path, low_memory=False))
    credits = _transform_credits(pd.read_csv(credits_path))
    # Left merge: a movie without a credits row keeps its place in the counts (the sample has
    # credits for only ~40% of movies; on the full files inner and left differ by a few rows).
    merged = movies.merge(credits, on="id", how="left").reset_index(drop=True)
    merged["cast"] = merged["cast"].apply(_as_list)
    merged["directors"] = merged["directors"].apply(_as_list)
    t1 = time.perf_counter()
    titles, similarity = build_similarity(merged, max_movies)
    t2 = time.perf_counter()
    return BaselineData(
        movies=merged,
        rec_titles=titles,
        similarity=similarity,
        timings={"etl_s": t1 - t0, "similarity_s": t2 - t1},
    )
