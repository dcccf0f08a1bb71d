"""The benchmark's baseline must answer correctly on the real sample, or timing it means nothing."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bench.baseline import BaselineData, baseline_etl, build_similarity
from bench.baseline_app import create_app

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
MOVIES = SAMPLE / "movies_dataset.csv.gz"
CREDITS = SAMPLE / "credits.csv.gz"


@pytest.fixture(scope="module")
def data() -> BaselineData:
    return baseline_etl(MOVIES, CREDITS)


def _raw_rows() -> list[dict[str, str]]:
    with gzip.open(MOVIES, "rt", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _release_dates() -> list[dt.date]:
    """Release dates of rows with a numeric id, parsed without pandas."""
    dates = []
    for row in _raw_rows():
        if not row["id"].isdigit():
            continue
        try:
            dates.append(dt.datetime.strptime(row["release_date"], "%Y-%m-%d").date())
        except ValueError:
            continue
    return dates


def test_etl_shape_and_facts(data: BaselineData) -> None:
    movies = data.movies
    toy = movies[movies["id"] == 862].iloc[0]
    assert toy["title"] == "Toy Story"
    assert toy["release_year"] == 1995
    assert toy["return"] == pytest.approx(373554033 / 30000000)
    assert "Tom Hanks" in toy["cast"]
    assert toy["directors"] == ["John Lasseter"]
    assert toy["belongs_to_collection"] == "Toy Story Collection"
    assert "Animation" in toy["genres"]
    assert not {"video", "imdb_id", "adult", "original_title", "poster_path", "homepage"} & set(
        movies.columns
    )
    assert movies["release_date"].notna().all()
    assert len(movies) == len(_release_dates())  # left merge: no movie lost or duplicated
    assert data.similarity.shape == (len(movies), len(movies))  # sample < 5,000 rows
    assert data.similarity_bytes == 8 * len(movies) ** 2


def test_months_and_days_match_independent_count(data: BaselineData) -> None:
    dates = _release_dates()
    octubre = data.cantidad_filmaciones_mes("octubre")
    assert octubre["cantidad"] == sum(d.month == 10 for d in dates) > 0
    assert octubre["mensaje"].startswith(f"{octubre['cantidad']} cantidad de películas")
    lunes = data.cantidad_filmaciones_dia("lunes")
    assert lunes["cantidad"] == sum(d.weekday() == 0 for d in dates) > 0
    assert data.cantidad_filmaciones_dia("Sábado")["cantidad"] == sum(
        d.weekday() == 5 for d in dates
    )
    assert "error" in data.cantidad_filmaciones_mes("brumario")


def test_titles(data: BaselineData) -> None:
    score = data.score_titulo("toy story")
    assert (score["titulo"], score["anio"]) == ("Toy Story", 1995)
    assert score["score"] == pytest.approx(21.95)
    votos = data.votos_titulo("Toy Story")
    assert votos["votos"] == 5415 and votos["promedio"] == pytest.approx(7.7)
    low = data.votos_titulo("Grumpier Old Men")  # 92 votes
    assert "votos" not in low and "no cumple" in low["mensaje"]
    assert "error" in data.score_titulo("No Such Movie 1234")


def test_actor_and_director(data: BaselineData) -> None:
    hanks = data.get_actor("Tom Hanks")
    assert hanks["cantidad_filmaciones"] > 0
    assert hanks["retorno_promedio"] == pytest.approx(
        hanks["retorno_total"] / hanks["cantidad_filmaciones"]
    )
    lasseter = data.get_director("John Lasseter")
    toy = [p for p in lasseter["peliculas"] if p["titulo"] == "Toy Story"]
    assert toy and toy[0]["fecha_lanzamiento"] == "1995-10-30"
    assert toy[0]["costo"] == 30000000 and toy[0]["ganancia"] == 373554033
    assert "error" in data.get_actor("Nobody At All")


def test_recommendation(data: BaselineData) -> None:
    rec = data.recomendacion("Toy Story")["recomendaciones"]
    assert len(rec) == 5 and "Toy Story" not in rec
    assert all(isinstance(t, str) for t in rec)


def test_max_movies_caps_matrix(data: BaselineData) -> None:
    small = BaselineData(data.movies, *build_similarity(data.movies, max_movies=100))
    assert small.similarity.shape == (100, 100)
    assert len(small.movies) > 100  # the cap only limits the recommender
    assert "error" in small.recomendacion(small.movies["title"].iloc[-1] + " (absent)")


def test_malformed_ids_are_dropped(tmp_path: Path) -> None:
    rows = _raw_rows()[:3]
    shifted = dict(rows[0], id="1997-08-20", title="Shifted row")  # like the full file's 3 rows
    path = tmp_path / "movies.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, shifted])
    with gzip.open(CREDITS, "rt", encoding="utf-8", newline="") as fh:
        credit_rows = list(csv.reader(fh))[:4]  # header + 3 rows keep this test fast
    credits = tmp_path / "credits.csv"
    with credits.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(credit_rows)
    data = baseline_etl(path, credits)
    assert len(data.movies) == 3 and "Shifted row" not in set(data.movies["title"])


def test_http(data: BaselineData) -> None:
    client = TestClient(create_app(data))
    r = client.get("/cantidad_filmaciones_mes/octubre")
    assert r.status_code == 200 and r.json()["cantidad"] > 0
    assert client.get("/cantidad_filmaciones_dia/lunes").json()["cantidad"] > 0
    assert client.get("/score_titulo/Toy Story").json()["anio"] == 1995
    assert client.get("/votos_titulo/Toy%20Story").json()["votos"] == 5415
    assert client.get("/get_actor/Tom Hanks").json()["cantidad_filmaciones"] > 0
    assert client.get("/get_director/John Lasseter").json()["retorno_total"] > 0
    rec = client.get("/recomendacion/Toy Story").json()["recomendaciones"]
    assert len(rec) == 5 and "Toy Story" not in rec
    assert client.get("/score_titulo/No Such Movie 1234").status_code == 404
    assert client.get("/").json()["status"] == "ok"


def test_http_mix_is_answered(data: BaselineData, sample_build: Path) -> None:
    """The benchmark's GET mix gets answers, never a server error: wrk cannot tell a 404
    from a 500, so this is where the baseline's non-2xx count is known to be only misses."""
    from bench.suite import http_mixes, pick_parameters

    client = TestClient(create_app(data))
    paths = http_mixes(pick_parameters(sample_build))[2]
    statuses = [client.get(path).status_code for path in paths]
    assert set(statuses) <= {200, 404}
    assert statuses.count(200) > len(statuses) // 2


def test_data_layer_calls_answer_as_the_baseline(data: BaselineData, sample_build: Path) -> None:
    """The benchmark times our data layer against the baseline's functions as like for like:
    on the real sample both must give the same answers."""
    from bench.suite import data_layer_calls, pick_parameters
    from data.catalog import Catalog

    params = pick_parameters(sample_build)
    calls = data_layer_calls(Catalog.load(sample_build), params)
    assert calls["month"]().count == data.cantidad_filmaciones_mes("enero")["cantidad"]
    assert calls["weekday"]().count == data.cantidad_filmaciones_dia("lunes")["cantidad"]
    title = params["titles"][0]
    year = data.score_titulo(title)["anio"]
    assert f"en el año {year} " in calls["score"]()
    qualifies, sentence = calls["votes"]()
    assert qualifies and str(data.votos_titulo(title)["votos"]) in sentence
    actor = data.get_actor(params["actors"][0])
    assert f"de {actor['cantidad_filmaciones']} cantidad" in calls["actor"]()
    director = data.get_director(params["directors"][0])
    sentence, films = calls["director"]()
    assert f"{director['retorno_total']:.2f}" in sentence
    # Ours lists the films by release date, the baseline in table order.
    assert sorted(f["title"] for f in films) == sorted(p["titulo"] for p in director["peliculas"])
    assert len(calls["recommendation"]()) == 5
