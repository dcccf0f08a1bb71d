"""The ``movies`` command line: one Typer app whose subcommands cover the whole project.

Heavy imports stay inside the commands so ``movies --help`` is instant.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

app = typer.Typer(
    help="GraphQL API and recommender over TMDB's The Movies Dataset.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True)


@app.callback()
def _root() -> None:
    """GraphQL API and recommender over TMDB's The Movies Dataset."""

log = logging.getLogger("movies")

# Exit codes shared by the commands.
EXIT_INPUT = 2  # an input file is missing, not CSV, or has the wrong columns
EXIT_INVALID = 3  # the built tables broke the contract; nothing was published


@contextmanager
def progress(title: str) -> Iterator[Callable[[str], Any]]:
    """A step reporter: a live Rich spinner on a terminal, plain log lines otherwise."""
    if err.is_terminal:
        with err.status(title) as status:
            yield lambda step: (status.update(f"{title}: {step}"), err.log(step))
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
        yield lambda step: log.info("%s: %s", title, step)


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def build_warehouse(
    movies: Path | None, credits: Path | None, keywords: Path | None, out: Path,
    ratings: Path | None = None, links: Path | None = None,
) -> dict[str, Any]:
    """Run the ETL (and fit the recommender) from the given or default inputs; viewers'
    ratings (given, or ratings.csv + links.csv in data/raw/) add the co-liked signal."""

    from data.paths import RAW_DIR
    from data.recommender import fit_index
    from etl.pipeline import Inputs, default_inputs, run
    from etl.ratings import find_raw, with_coliked

    defaults = default_inputs()
    inputs = Inputs(
        movies=movies or defaults.movies,
        credits=credits or defaults.credits,
        keywords=keywords if keywords is not None else (
            defaults.keywords if movies is None else None
        ),
    )
    if ratings is None and links is None and inputs.movies.parent == RAW_DIR:
        # Only with the user's own full files: ratings of data/raw/ describe those movies.
        ratings, links = find_raw(RAW_DIR)
        if ratings is None or links is None:
            ratings = links = None
    fit = with_coliked(fit_index, ratings, links)
    with progress("etl") as step:
        return run(inputs, out, step=step, fit_index=fit)


def _print_summary(manifest: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="ETL summary: every input record is kept or rejected")
    for column in ("file", "in", "kept", "rejected", "rejects by reason"):
        left = column in ("file", "rejects by reason")
        table.add_column(column, justify="left" if left else "right")
    for file, row in manifest["summary"].items():
        reasons = ", ".join(f"{k}={v}" for k, v in row["by_reason"].items()) or "-"
        table.add_row(file, str(row["in"]), str(row["kept"]), str(row["rejected"]), reasons)
    Console().print(table)
    tables = ", ".join(f"{name}={rows:,}" for name, rows in manifest["tables"].items())
    Console().print(f"tables: {tables}\nbuilt in {manifest['duration_s']:.1f} s")


@app.command()
def etl(
    movies: Annotated[Path | None, typer.Option(help="movies_dataset.csv[.gz]")] = None,
    credits: Annotated[Path | None, typer.Option(help="credits.csv[.gz]")] = None,
    keywords: Annotated[Path | None, typer.Option(help="keywords.csv[.gz] (optional)")] = None,
    out: Annotated[Path | None, typer.Option(help="build directory (a symlink)")] = None,
    ratings: Annotated[Path | None, typer.Option(
        help="MovieLens ratings.csv: adds the co-liked signal (needs --links)")] = None,
    links: Annotated[Path | None, typer.Option(help="MovieLens links.csv")] = None,
) -> None:
    """Parse, clean and normalise the raw files into a validated Parquet build.

    Inputs default to data/raw/ when the full files are there, else the embedded sample;
    ratings.csv + links.csv in data/raw/ are used when present.
    """
    from data.paths import DEFAULT_BUILD
    from etl.extract import InputError
    from etl.publish import ValidationFailed
    from etl.ratings import RatingsError

    # SIGTERM unwinds like Ctrl-C, so the half-written build is removed on the way out.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        manifest = build_warehouse(movies, credits, keywords, out or DEFAULT_BUILD, ratings,
                                   links)
    except (InputError, RatingsError) as exc:
        typer.echo(f"error: {exc.path}: {exc.problem}", err=True)
        raise typer.Exit(EXIT_INPUT) from None
    except ValidationFailed as exc:
        typer.echo(f"error: the built tables break the contract: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    except FileExistsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INPUT) from None
    _print_summary(manifest)


def _inputs_changed(manifest: dict[str, Any]) -> str | None:
    """Why the default inputs (data/raw/ or the sample) differ from those of the build, if
    they do: another file, or the same file with another size or time."""
    from etl.pipeline import default_inputs

    built = manifest.get("inputs", {})
    for kind, path in vars(default_inputs()).items():
        if path is None:
            continue
        before = built.get(kind, {})
        if before.get("path") != str(path) or before.get("bytes") != path.stat().st_size:
            return f"{kind} is now {path}"
        if path.stat().st_mtime > before.get("mtime", float("inf")):
            return f"{path} changed"
    return None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address [MOVIES_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="port [MOVIES_PORT]")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes [MOVIES_WORKERS]")] = None,
    data: Annotated[Path | None, typer.Option(help="build directory [MOVIES_DATA]")] = None,
    profile: Annotated[
        str | None, typer.Option(help="development or production [MOVIES_PROFILE]")
    ] = None,
) -> None:
    """Serve the GraphQL API (GraphiQL at /graphql in development).

    With no build yet, the ETL runs first (on data/raw/ if the full files are there, else on
    the embedded sample), so a fresh clone serves real movies with this one command.
    """
    import os
    import tempfile

    import uvicorn

    from data.catalog import BuildError, read_manifest
    from server.settings import Settings

    if profile is not None:
        os.environ["MOVIES_PROFILE"] = profile
    settings = Settings.from_env(host=host, port=port, workers=workers, data=data)
    reason = None
    try:
        manifest = read_manifest(settings.data)
        if data is None and (changed := _inputs_changed(manifest)):
            reason = f"the build is older than the data: {changed}"
    except BuildError as exc:
        reason = str(exc)
    if reason is not None:
        err.print(f"{reason}: building it now")
        _print_summary(build_warehouse(None, None, None, settings.data))
    os.environ.update(settings.to_env())
    if settings.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="movies-metrics-")
    err.print(f"serving http://{settings.host}:{settings.port}/graphql "
              f"({settings.profile}, {settings.workers} worker(s))")
    uvicorn.run(
        "server.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=False,
        log_level="warning",
        # Loading a full-scale catalog can take longer than uvicorn's default ping budget.
        timeout_worker_healthcheck=120,
    )


@app.command()
def eda(
    out: Annotated[Path, typer.Option(help="report directory")] = Path("reports"),
    data: Annotated[Path | None, typer.Option(help="build directory")] = None,
) -> None:
    """Write the exploratory data analysis as one self-contained HTML report."""
    from data.paths import DEFAULT_BUILD
    from etl.eda import ReportError, build_report

    try:
        with progress("eda") as step:
            path = build_report(data or DEFAULT_BUILD, out, step=step)
    except ReportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INPUT) from None
    Console().print(f"report written to {path}")


@app.command()
def bench(
    scale: Annotated[
        float | None, typer.Option(help="synthetic twin scale (1.0 = full size); default sample")
    ] = None,
    out: Annotated[Path, typer.Option(help="work and results directory")] = Path("bench/out"),
    repeats: Annotated[int, typer.Option(help="repeats of each timed run (medians)")] = 3,
    seconds: Annotated[float, typer.Option(help="seconds per HTTP load level")] = 10.0,
    levels: Annotated[str, typer.Option(help="HTTP concurrency levels")] = "1,8,32,64",
    max_baseline: Annotated[
        int, typer.Option(help="movies in the baseline's dense matrix (as the assignment)")
    ] = 5000,
    seed: Annotated[int, typer.Option(help="synthetic twin seed")] = 0,
    growth: Annotated[str | None, typer.Option(help="run the growth curve over these scales, "
                                                    "e.g. 0.25,0.5,1,2,4")] = None,
    soak: Annotated[bool, typer.Option(help="run the 60 s soak instead")] = False,
    soak_seconds: Annotated[float, typer.Option(help="soak duration")] = 60.0,
) -> None:
    """Benchmark ours against the assignment's approach; write JSON and Markdown results."""
    import json

    from bench import growth as growth_mod
    from bench import soak as soak_mod
    from bench import suite

    out.mkdir(parents=True, exist_ok=True)
    with progress("bench") as step:
        if soak:
            inputs = suite.prepare_inputs(scale, seed, out, step)
            build = out / "soak-build"
            suite.etl_ours(inputs, build)
            result = soak_mod.soak(build, soak_seconds, 32, step)
            (out / "soak.json").write_text(json.dumps(result, indent=2))
            Console().print_json(data=result)
            ok = not result.get("errors") and result.get("rss_growth", 0) <= 0.10
            raise typer.Exit(0 if ok or "skipped" in result else 1)
        if growth:
            scales = tuple(float(s) for s in growth.split(","))
            rows = growth_mod.growth(out, scales, seed, step)
            (out / "growth.json").write_text(json.dumps(rows, indent=2))
            (out / "growth.md").write_text(growth_mod.markdown(rows))
            growth_mod.plot(rows, out / "growth.png")
            Console().print(growth_mod.markdown(rows))
            return
        results = suite.run(scale, out, repeats, seconds,
                            [int(c) for c in levels.split(",")], max_baseline, seed, step)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    table = suite.markdown(results)
    (out / "results.md").write_text(table)
    Console().print(table)


@app.command()
def evaluate(
    data: Annotated[Path | None, typer.Option(help="build directory")] = None,
    ratings: Annotated[Path | None, typer.Option(
        help="viewers' ratings (MovieLens ratings.csv) for the co-liked measure")] = None,
    links: Annotated[Path | None, typer.Option(help="MovieLens links.csv")] = None,
    tune: Annotated[bool, typer.Option(
        help="search the prior and blends on the tuning half (needs ratings)")] = False,
    seed: Annotated[int, typer.Option(help="seed of the random baseline")] = 0,
    markdown: Annotated[bool, typer.Option(help="print a Markdown table")] = False,
) -> None:
    """Measure recommendation quality: random, most-popular, the assignment's baseline, ours."""
    from data.paths import DEFAULT_BUILD
    from evaluation import recommender as evaluation

    if (ratings is None) != (links is None) or (tune and ratings is None):
        typer.echo("error: --ratings and --links go together (and --tune needs them)", err=True)
        raise typer.Exit(EXIT_INPUT)
    for path in (ratings, links):
        if path is not None and not path.is_file():
            typer.echo(f"error: {path}: file not found", err=True)
            raise typer.Exit(EXIT_INPUT)
    if tune:
        assert ratings is not None and links is not None
        prepared = evaluation.Prepared.load(data or DEFAULT_BUILD)
        read = evaluation.Ratings.read(ratings, links, prepared.truth.ids)
        Console().print(evaluation.tune(prepared, read, log=lambda line: err.log(line)))
        return
    report = evaluation.evaluate(data or DEFAULT_BUILD, ratings, links, seed=seed)
    if markdown:
        typer.echo(evaluation.markdown(report))
    else:
        Console().print(evaluation.render(report))


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="directory for the three raw CSV files")],
    scale: Annotated[float, typer.Option(help="1.0 = the real files' size, up to 10")] = 1.0,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same bytes)")] = 0,
    ratings: Annotated[bool, typer.Option(
        help="also write MovieLens-like ratings.csv + links.csv")] = True,
) -> None:
    """Generate a synthetic twin of the raw files, calibrated on the embedded real sample."""
    from dataclasses import asdict

    from etl.synth import generate
    from etl.synth_ratings import generate_ratings

    if not 0 < scale <= 10:
        typer.echo("error: --scale must be in (0, 10]", err=True)
        raise typer.Exit(EXIT_INPUT)
    with progress("synth") as step:
        summary = generate(scale, out, seed=seed, progress=step)
    result = summary.as_dict()
    if ratings:
        with progress("synth") as step:
            step("ratings")
            made = generate_ratings(scale, out / "movies_dataset.csv", out, seed=seed)
        result["ratings"] = asdict(made)
    Console().print_json(data=result)
