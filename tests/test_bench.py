"""Smoke run of the benchmark suite at a tiny scale: every part runs end to end and reports
sane, internally consistent numbers. The full run is `movies bench --scale 1.0` (README)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bench import growth, hostile, measure, memory, soak, suite, targets

SCALE = 0.02


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    workdir = tmp_path_factory.mktemp("bench")
    found = suite.run(SCALE, workdir, repeats=1, http_seconds=1, levels=[2], max_baseline=500,
                      seed=1, step=lambda _s: None)
    return found, workdir


def test_every_section_is_measured(results: tuple[dict[str, Any], Path]) -> None:
    found, _ = results
    assert found["data"] == f"synthetic x{SCALE:g}"
    assert found["movies"] > 0.9 * 45466 * SCALE
    for side in ("ours", "baseline"):
        assert found["etl"][side]["seconds"] > 0
        assert found["etl"][side]["peak_rss_mb"] > 10
    assert set(found["inprocess"]["ours"]) == set(suite.graphql_queries(
        {"titles": ["x"], "actors": ["x"], "directors": ["x"], "busiest_actor": ["x"]}))
    assert set(found["inprocess"]["baseline"]) <= set(found["inprocess"]["ours"])
    assert set(found["inprocess"]["data_layer"]) == set(found["inprocess"]["baseline"])
    for side in ("ours", "data_layer", "baseline"):
        for timing in found["inprocess"][side].values():
            assert 0 < timing["p50_ms"] <= timing["p99_ms"]
    assert found["startup"][1]["startup_s"] > 0 and found["startup"][2]["rss_mb"] > 0
    assert found["recommender"]["movies"] == found["movies"]


def test_http_load_has_no_errors(results: tuple[dict[str, Any], Path]) -> None:
    found, _ = results
    if not measure.wrk_available():
        pytest.skip("wrk is not installed (.ci/run installs it)")
    http = found["http"]
    for label, mixes in (("ours", ("small", "mix")), ("ours_nocache", ("mix",))):
        for mix in mixes:
            for run in http[label][mix]:
                assert run["requests"] > 0 and run["errors"] == 0, (label, mix, run)
    # The baseline answers 404 for lookups it misses and for titles outside its dense matrix
    # (README); those are answers, but a socket error or timeout is a failed run.
    for run in http["baseline"]["mix"]:
        assert run["requests"] > run["non_2xx"] and run["errors"] == run["non_2xx"], run
    for label in ("ours_cached", "bare_starlette"):
        for run in found["cached_vs_bare"][label]:
            assert run["requests"] > 0 and run["errors"] == 0, (label, run)


def test_markdown_reports_every_measure(results: tuple[dict[str, Any], Path]) -> None:
    text = suite.markdown(results[0])
    for needle in ("ETL wall time", "server start-up", "| recommendation |", "nested actor",
                   "recommender index memory", "ours, data layer"):
        assert needle in text


def test_growth_and_soak_smoke(results: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    _, workdir = results
    rows = growth.growth(workdir, (SCALE,), seed=1, step=lambda _s: None)
    assert rows[0]["movies"] > 0 and rows[0]["recommend_p50_ms"] > 0
    row = rows[0]
    assert row["attach_ms"] > 0 and 0 < row["worker_uss_mb"] <= row["server_rss_mb"]
    assert row["worker_anonymous_uss_mb"] <= row["worker_uss_mb"]
    assert row["worker_pss_mb"] <= row["server_rss_mb"] < row["sum_pss_mb"] * 2
    growth.plot(rows, tmp_path / "growth.png")
    assert (tmp_path / "growth.png").read_bytes().startswith(b"\x89PNG")
    assert "| scale |" in growth.markdown(rows)
    if not measure.wrk_available():
        pytest.skip("wrk is not installed (.ci/run installs it)")
    soaked = soak.soak(workdir / "build", seconds=2, connections=4, step=lambda _s: None)
    assert soaked["errors"] == 0 and soaked["requests"] > 0 and soaked["healthy_after"]
    # The hostile soak: every hostile request is answered (coded 2xx/4xx), never with a 5xx,
    # and the normal mix beside it keeps working (timing is for the full run, not CI).
    found = hostile.soak(workdir / "build", seconds=2, connections=4, step=lambda _s: None)
    assert found["hostile_requests"] > 0 and found["server_errors"] == 0
    assert found["beside_hostile"]["requests"] > 0 and found["healthy_after"]
    assert not [code for code in found["hostile_statuses"] if code.startswith("5")]
    assert "| 5xx answers | 0 |" in hostile.markdown(found)


def test_memory_split_adds_up() -> None:
    """The per-mapping split covers the whole process: its parts sum to smaps_rollup."""
    found = memory.process_memory(os.getpid(), None)
    parts = [found[k] for k in ("anonymous", "build_files", "other_files")]
    for key in ("rss_mb", "pss_mb", "uss_mb"):
        assert abs(sum(p[key] for p in parts) - found[key]) <= 0.5, (key, found)
    assert 0 < found["uss_mb"] <= found["pss_mb"] <= found["rss_mb"]
    assert found["anonymous"]["uss_mb"] > 0 and found["build_files"]["rss_mb"] == 0


def test_targets_against_another_checkout(tmp_path: Path) -> None:
    """The serving targets, this checkout measured against itself as the other side: both
    sides report every figure, two workers each, and the queries touched the mapped build."""
    found = targets.run(SCALE, tmp_path, targets.ROOT, repeats=1, inprocess_repeats=5,
                        http_seconds=1 if measure.wrk_available() else 0, levels=[2], seed=1,
                        step=lambda _s: None, warmup_s=1)
    for side in ("ours", "versus"):
        s = found[side]
        assert s["attach_ms"] > 0 and s["startup_s"] > 0
        for when in ("memory_ready", "memory_warm"):
            mem = s[when]
            assert len(mem["workers"]) == 2, mem
            assert 0 < mem["max_anonymous_uss_mb"] <= mem["max_uss_mb"] < mem["sum_pss_mb"]
        # Answering read the image through its maps. Only some worker: the kernel may hand
        # every warm-up connection to one of the two (a CI run saw the other idle).
        warm = s["memory_warm"]["workers"]
        assert max(w["build_files"]["rss_mb"] for w in warm) > 0, warm
        assert set(s["graphql"]) == set(suite.graphql_queries(
            {"titles": ["x"], "actors": ["x"], "directors": ["x"], "busiest_actor": ["x"]}))
    text = targets.markdown(found)
    for needle in ("private memory per worker", "sum of PSS", "Catalog.load", "new / previous"):
        assert needle in text
