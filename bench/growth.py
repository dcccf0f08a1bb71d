"""How cost grows with the catalogue: ETL time and RSS, start-up, worker memory (RSS, USS,
PSS), catalog attach time and recommendation latency over synthetic twins of several scales,
as a table and a PNG plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import measure, targets
from bench.suite import Step, etl_ours, pick_parameters, prepare_inputs

ATTACH_REPEATS = 3

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


def growth(workdir: Path, scales: tuple[float, ...], seed: int, step: Step,
           reuse_builds: bool = False) -> list[dict[str, Any]]:
    """One row per scale. With ``reuse_builds`` an existing ``build-<scale>`` is served as it
    is and the ETL figures are those recorded when it was built (if it was built here)."""
    rows = []
    targets.compile_bytecode(targets.ours(), step)
    for scale in scales:
        inputs = prepare_inputs(scale, seed, workdir, step)
        build = workdir / f"build-{scale:g}"
        record = workdir / f"build-{scale:g}.etl.json"
        if reuse_builds and (build / "manifest.json").is_file():
            step(f"growth: reusing the build at scale {scale:g}")
            etl = json.loads(record.read_text()) if record.is_file() else {}
        else:
            step(f"growth: ETL at scale {scale:g}")
            run = etl_ours(inputs, build)
            etl = {"etl_s": round(run.seconds, 2), "etl_rss_mb": round(run.peak_rss / 2**20)}
            record.write_text(json.dumps(etl))
        attach = [targets.attach_once(targets.ours(), build)["attach_ms"]
                  for _ in range(ATTACH_REPEATS)]
        served = targets.served_run(targets.ours(), build, pick_parameters(build), step)
        warm = served["warm"]
        rec = measure.run_measured(measure.python_snippet(_RECOMMEND.format(build=str(build))))
        stats = json.loads(rec.stdout.strip().splitlines()[-1])
        manifest = json.loads((build / "manifest.json").read_text())
        rows.append({
            "scale": scale,
            "movies": manifest["tables"]["movies"],
            "cast": manifest["tables"]["cast"],
            "etl_s": etl.get("etl_s"),
            "etl_rss_mb": etl.get("etl_rss_mb"),
            "startup_s": served["startup_s"],
            "attach_ms": round(sorted(attach)[len(attach) // 2], 2),
            # Per worker of two, after a warm-up mix: the largest worker's figures.
            "server_rss_mb": max(w["rss_mb"] for w in warm["workers"]),
            "worker_uss_mb": warm["max_uss_mb"],
            "worker_anonymous_uss_mb": warm["max_anonymous_uss_mb"],
            "worker_pss_mb": max(w["pss_mb"] for w in warm["workers"]),
            "sum_pss_mb": warm["sum_pss_mb"],
            "recommend_p50_ms": round(stats["p50_ms"], 3),
            "index_mb": round(stats["index_mb"], 1),
        })
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    head = ("| scale | movies | cast rows | ETL | ETL peak RSS | start-up (2 workers) | attach | "
            "worker RSS | worker USS (anonymous) | worker PSS | sum PSS (2 workers) | "
            "recommendation p50 | index |")
    lines = [head, "| ---: " * 13 + "|"]
    for r in rows:
        etl = (f"{r['etl_s']:.1f} s | {r['etl_rss_mb']} MB" if r.get("etl_s") is not None
               else "- | -")
        lines.append(
            f"| {r['scale']:g} | {r['movies']:,} | {r['cast']:,} | {etl} | "
            f"{r['startup_s']:.2f} s | {r['attach_ms']:.1f} ms | {r['server_rss_mb']:.0f} MB | "
            f"{r['worker_uss_mb']:.0f} MB ({r['worker_anonymous_uss_mb']:.0f} MB) | "
            f"{r['worker_pss_mb']:.0f} MB | {r['sum_pss_mb']:.0f} MB | "
            f"{r['recommend_p50_ms']:.2f} ms | {r['index_mb']:.0f} MB |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    movies = [r["movies"] for r in rows]
    panels = [("etl_s", "ETL wall time (s)"), ("etl_rss_mb", "ETL peak RSS (MB)"),
              ("startup_s", "server start-up (s)"), ("attach_ms", "catalog attach (ms)"),
              ("server_rss_mb", "worker RSS (MB)"), ("worker_uss_mb", "worker USS (MB)"),
              ("sum_pss_mb", "sum of PSS, 2 workers (MB)"),
              ("recommend_p50_ms", "recommendation p50 (ms)"), ("index_mb", "index memory (MB)")]
    fig, axes = plt.subplots(3, 3, figsize=(13, 10))
    legend = False
    for ax, (key, title) in zip(axes.flat, panels, strict=True):
        if any(r.get(key) is None for r in rows):
            ax.set_title(f"{title}: not measured")
            ax.axis("off")
            continue
        values = [r[key] for r in rows]
        ax.plot(movies, values, "o-", color="#2563eb")
        # A straight line through the first point: what linear growth would look like.
        ax.plot(movies, [values[0] * m / movies[0] for m in movies], "--", color="#9ca3af",
                label="linear from the smallest")
        ax.set_title(title)
        ax.set_xlabel("movies (thousands)")
        ax.xaxis.set_major_formatter(lambda x, _pos: f"{x / 1000:g}")
        ax.grid(alpha=0.3)
        if not legend:
            ax.legend()
            legend = True
    fig.suptitle("Growth with catalogue size (synthetic twins)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
