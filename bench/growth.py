"""How cost grows with the catalogue: ETL time and RSS, start-up, and recommendation latency
over synthetic twins of several scales, as a table and a PNG plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import measure
from bench.suite import Step, bench_startup, etl_ours, prepare_inputs

SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)

_RECOMMEND = """
    import json, time, statistics
    from pathlib import Path
    from data.catalog import Catalog
    from data import lookups
    cat = Catalog.load(Path({build!r}))
    rows = (-cat.movies.numbers("vote_count")).argsort(kind="stable")[:100].tolist()
    times = []
    for row in rows:
        start = time.perf_counter()
        lookups.recommend(cat, row, 5)
        times.append(time.perf_counter() - start)
    print(json.dumps({{"p50_ms": statistics.median(times) * 1000,
                      "index_mb": cat.index.nbytes / 2**20}}))
"""


def growth(workdir: Path, scales: tuple[float, ...], seed: int, step: Step) -> list[dict[str, Any]]:
    rows = []
    for scale in scales:
        inputs = prepare_inputs(scale, seed, workdir, step)
        build = workdir / f"build-{scale:g}"
        step(f"growth: ETL at scale {scale:g}")
        etl = etl_ours(inputs, build)
        start = bench_startup(build, 1, step)
        rec = measure.run_measured(measure.python_snippet(_RECOMMEND.format(build=str(build))))
        stats = json.loads(rec.stdout.strip().splitlines()[-1])
        manifest = json.loads((build / "manifest.json").read_text())
        rows.append({
            "scale": scale,
            "movies": manifest["tables"]["movies"],
            "cast": manifest["tables"]["cast"],
            "etl_s": round(etl.seconds, 2),
            "etl_rss_mb": round(etl.peak_rss / 2**20),
            "startup_s": start["startup_s"],
            "server_rss_mb": start["rss_mb"],
            "recommend_p50_ms": round(stats["p50_ms"], 3),
            "index_mb": round(stats["index_mb"], 1),
        })
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    head = ("| scale | movies | cast rows | ETL | ETL peak RSS | start-up | server RSS | "
            "recommendation p50 | index |")
    lines = [head, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(
            f"| {r['scale']:g} | {r['movies']:,} | {r['cast']:,} | {r['etl_s']:.1f} s | "
            f"{r['etl_rss_mb']} MB | {r['startup_s']:.2f} s | {r['server_rss_mb']:.0f} MB | "
            f"{r['recommend_p50_ms']:.2f} ms | {r['index_mb']:.0f} MB |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    movies = [r["movies"] for r in rows]
    panels = [("etl_s", "ETL wall time (s)"), ("etl_rss_mb", "ETL peak RSS (MB)"),
              ("startup_s", "server start-up (s)"), ("server_rss_mb", "server RSS (MB)"),
              ("recommend_p50_ms", "recommendation p50 (ms)"), ("index_mb", "index memory (MB)")]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for ax, (key, title) in zip(axes.flat, panels, strict=True):
        values = [r[key] for r in rows]
        ax.plot(movies, values, "o-", color="#2563eb")
        # A straight line through the first point: what linear growth would look like.
        ax.plot(movies, [values[0] * m / movies[0] for m in movies], "--", color="#9ca3af",
                label="linear from the smallest")
        ax.set_title(title)
        ax.set_xlabel("movies (thousands)")
        ax.xaxis.set_major_formatter(lambda x, _pos: f"{x / 1000:g}")
        ax.grid(alpha=0.3)
    axes.flat[0].legend()
    fig.suptitle("Growth with catalogue size (synthetic twins)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
