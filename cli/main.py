"""The ``movies`` command line: one Typer app whose subcommands cover the whole project.

Heavy imports stay inside the commands so ``movies --help`` is instant.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup


class OneLineErrors(TyperGroup):
    """Bad options and arguments end in one ``error: ...`` line and exit code 2, instead of
    click's usage block (or a traceback, for checks made inside a command)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False,
                                  windows_expand_args=windows_expand_args, **extra)
        except typer.Abort:
            typer.echo("aborted", err=True)
            result = 1
        except typer.TyperException as exc:  # typer's (vendored click's) usage errors
            ctx = getattr(exc, "ctx", None)
            where = f"{ctx.command_path}: " if ctx is not None else ""
            message = " ".join(exc.format_message().split())  # one line, whatever it quotes
            if message:  # empty when no_args_is_help has just printed the help
                typer.echo(f"{where}error: {message}", err=True)
            result = getattr(exc, "exit_code", EXIT_INPUT)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


app = typer.Typer(
    cls=OneLineErrors,
    help="GraphQL API and recommender over TMDB's The Movies Dataset.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"movies-graph {version('movies-graph')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("movies-graph (not installed)")
        raise typer.Exit()


@app.callback()
def _root(
    _version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """GraphQL API and recommender over TMDB's The Movies Dataset."""


class Profile(StrEnum):
    development = "development"
    production = "production"


def _positive(value: float | None) -> float | None:
    if value is not None and value <= 0:
        raise typer.BadParameter(f"must be greater than 0, got {value:g}")
    return value


def _scale(value: float | None) -> float | None:
    if value is not None and not 0 < value <= 10:
        raise typer.BadParameter(f"must be in (0, 10] (1.0 = the real files' size), got {value:g}")
    return value


def _int_list(value: str) -> str:
    try:
        numbers = [int(part) for part in value.split(",")]
    except ValueError:
        raise typer.BadParameter(f"must be comma-separated whole numbers, got {value!r}") from None
    if any(n < 1 for n in numbers):
        raise typer.BadParameter(f"every level must be at least 1, got {value!r}")
    return value


def _scale_list(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        scales = [float(part) for part in value.split(",")]
    except ValueError:
        raise typer.BadParameter(f"must be comma-separated numbers, got {value!r}") from None
    for scale in scales:
        _scale(scale)
    return value


# A directory given on the command line that must already be there (a build, a report's data).
# The ETL's input files are checked by the ETL itself, which names the file and the problem.
EXISTING_DIR = {"exists": True, "file_okay": False, "dir_okay": True}
EXISTING_FILE = {"exists": True, "file_okay": True, "dir_okay": False}

log = logging.getLogger("movies")

# Exit codes shared by the commands.
EXIT_INPUT = 2  # an input file is missing, not CSV, or has the wrong columns
EXIT_INVALID = 3  # the built tables broke the contract; nothing was published
EXIT_NO_BUILD = 4  # production was asked to serve a missing or stale build


# The ETL's steps in the order etl.pipeline reports them (the keyword and recommender steps
# only run when there is a keywords file / an index to fit).
ETL_STEPS = ("read movies", "read credits", "read keywords", "transform movies",
             "transform credits", "transform keywords", "validate", "write parquet",
             "fit recommender", "checksum inputs", "publish")


@contextmanager
def progress(title: str, steps: Sequence[str] = ()) -> Iterator[Callable[[str], Any]]:
    """A step reporter: on a terminal a live Rich progress bar (a bar over ``steps`` when the
    steps are known, else a spinner), plain log lines otherwise."""
    if not err.is_terminal:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
        yield lambda step: log.info("%s: %s", title, step)
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = [SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
               TextColumn("{task.fields[step]}"), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(title, total=len(steps) or None, step="")

        def report(step: str) -> None:
            done = steps.index(step) if step in steps else None
            bar.update(task, step=step, completed=done if done is not None else None)
            err.log(step)

        yield report
        if steps:
            bar.update(task, completed=len(steps), step="done")


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def build_warehouse(
    movies: Path | None, credits: Path | None, keywords: Path | None, out: Path,
    ratings: Path | None = None, links: Path | None = None,
) -> dict[str, Any]:
    """Run the ETL (and fit the recommender) from the given or default inputs; viewers'
    ratings (given, or ratings.csv + links.csv in data/raw/) add the co-liked signal."""

    from data.paths import RAW_DIR
    from etl.inputs import Inputs, default_inputs
    from etl.pipeline import run
    from etl.ratings import find_raw, with_coliked
    from etl.vectorize import fit_index

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
    with progress("etl", ETL_STEPS) as step:
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
    movies: Annotated[Path | None, typer.Option(
        help="movies_dataset.csv or .csv.gz (default: in data/raw/, else data/sample/)")] = None,
    credits: Annotated[Path | None, typer.Option(
        help="credits.csv or .csv.gz (default: from the same place as the movies file)")] = None,
    keywords: Annotated[Path | None, typer.Option(
        help="keywords.csv or .csv.gz, optional (default: from the same place)")] = None,
    out: Annotated[Path | None, typer.Option(
        help="build directory, a symlink (default data/build)")] = None,
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


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(
        help="bind address (default 127.0.0.1; env MOVIES_HOST)")] = None,
    port: Annotated[int | None, typer.Option(
        min=1, max=65535, help="port, 1-65535 (default 8000; env MOVIES_PORT)")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, max=64, help="worker processes (default 1; env MOVIES_WORKERS)")] = None,
    data: Annotated[Path | None, typer.Option(
        help="an existing build directory (default data/build, built on first run; "
             "env MOVIES_DATA)", **EXISTING_DIR)] = None,
    profile: Annotated[Profile | None, typer.Option(
        help="production turns off GraphiQL and introspection (default development; "
             "env MOVIES_PROFILE)")] = None,
) -> None:
    """Serve the GraphQL API (GraphiQL at /graphql in development).

    In development, with no build yet (or one older than the data), the ETL runs first (on
    data/raw/ if the full files are there, else on the embedded sample), so a fresh clone
    serves real movies with this one command. Production never builds at start: it refuses
    a missing or stale build. Workers serve the build the link points to at start; send
    SIGHUP to switch them, one by one, to a newly published build.
    """
    import os

    from etl.inputs import build_problem
    from server.run import serve as run_server
    from server.settings import Settings

    if profile is not None:
        os.environ["MOVIES_PROFILE"] = profile.value
    try:
        settings = Settings.from_env(host=host, port=port, workers=workers, data=data)
    except ValueError as exc:  # a bad MOVIES_* variable
        typer.echo(f"movies serve: error: {exc}", err=True)
        raise typer.Exit(EXIT_INPUT) from None
    if not 1 <= settings.port <= 65535:
        typer.echo(f"movies serve: error: MOVIES_PORT must be 1-65535, got {settings.port}",
                   err=True)
        raise typer.Exit(EXIT_INPUT)
    # Only the default build is compared with the default inputs (data/raw/ or the sample): a
    # build given by --data or MOVIES_DATA (a mounted one) is served as it was made.
    from data.paths import DEFAULT_BUILD

    problem = build_problem(settings.data,
                            against_defaults=settings.data.absolute() == DEFAULT_BUILD)
    if problem is not None and settings.profile == "production":
        typer.echo(f"movies serve: error: {problem} (production serves only a finished "
                   f"build: run `movies etl --out {settings.data}` first)", err=True)
        raise typer.Exit(EXIT_NO_BUILD)
    if problem is not None:
        err.print(f"{problem}: building it now")
        _print_summary(build_warehouse(None, None, None, settings.data))
    base = f"http://{settings.host}:{settings.port}"
    err.print(f"serving {base}/graphql (GraphQL API) and {base}/ (demo page), "
              f"{settings.profile}, {settings.workers} worker(s)", soft_wrap=True)
    run_server(settings)


@app.command()
def eda(
    out: Annotated[Path, typer.Option(help="report directory", file_okay=False)] = Path("reports"),
    data: Annotated[Path | None, typer.Option(
        help="an existing build directory (default data/build)", **EXISTING_DIR)] = None,
) -> None:
    """Write the exploratory data analysis as one self-contained HTML report."""
    from data.paths import DEFAULT_BUILD

    try:
        from report.eda import ReportError, build_report
    except ImportError as exc:  # an install without the report extra (the container image)
        typer.echo(f"movies eda: error: the report needs the `report` extra ({exc.name} is "
                   "missing): uv sync --extra report", err=True)
        raise typer.Exit(EXIT_INPUT) from None
    try:
        with progress("eda") as step:
            path = build_report(data or DEFAULT_BUILD, out, step=step)
    except ReportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INPUT) from None
    Console().print(f"report written to {path}")


@app.command()
def bench(
    scale: Annotated[float | None, typer.Option(
        callback=_scale,
        help="synthetic twin scale in (0, 10], 1.0 = full size (default: the real sample)")] = None,
    out: Annotated[Path, typer.Option(help="work and results directory",
                                      file_okay=False)] = Path("bench/out"),
    repeats: Annotated[int, typer.Option(min=1, help="repeats of each timed run (medians)")] = 3,
    seconds: Annotated[float, typer.Option(callback=_positive,
                                           help="seconds per HTTP load level")] = 10.0,
    levels: Annotated[str, typer.Option(callback=_int_list,
                                        help="HTTP concurrency levels")] = "1,8,32,64",
    max_baseline: Annotated[int, typer.Option(
        min=1, help="movies in the baseline's dense matrix (as the assignment)")] = 5000,
    seed: Annotated[int, typer.Option(help="synthetic twin seed")] = 0,
    growth: Annotated[str | None, typer.Option(
        callback=_scale_list,
        help="run the growth curve over these scales, e.g. 0.25,0.5,1,2,4")] = None,
    soak: Annotated[bool, typer.Option(help="run the 60 s soak instead")] = False,
    hostile: Annotated[bool, typer.Option(
        help="with --soak: run the normal mix alone, then beside hostile clients (fragment "
             "explosions, maximum-cost batches, expensive resolvers)")] = False,
    soak_seconds: Annotated[float, typer.Option(callback=_positive,
                                                help="soak duration")] = 60.0,
    container: Annotated[bool, typer.Option(help="soak the image under --memory 512m with "
                                                 "podman instead (bench/container.py)")] = False,
    targets: Annotated[bool, typer.Option(
        help="measure the serving targets instead: worker USS/PSS, attach, start-up, lookups, "
             "HTTP")] = False,
    versus: Annotated[Path | None, typer.Option(help="with --targets: another checkout of the "
                                                     "project (set up with `uv sync --frozen`) "
                                                     "measured in the same run")] = None,
    reuse_builds: Annotated[bool, typer.Option(
        help="with --growth: serve existing OUT/build-<scale> builds, no new ETL")] = False,
    search: Annotated[bool, typer.Option(
        help="time searchMovies and searchPeople instead (data layer and GraphQL, "
             "in fresh processes)")] = False,
    data: Annotated[Path | None, typer.Option(
        help="with --search: an existing build to time (no ETL)", **EXISTING_DIR)] = None,
) -> None:
    """Benchmark ours against the assignment's approach; write JSON and Markdown results."""
    import json

    from bench import growth as growth_mod
    from bench import soak as soak_mod
    from bench import suite
    from bench import targets as targets_mod

    out.mkdir(parents=True, exist_ok=True)
    with progress("bench") as step:
        if search:
            from bench import search as search_mod

            found = search_mod.section(scale, out, data, repeats, seed, step)
            (out / "search.json").write_text(json.dumps(found, indent=2))
            (out / "search.md").write_text(search_mod.markdown(found))
            Console().print(search_mod.markdown(found))
            return
        if container:
            from bench import container as container_mod

            result = container_mod.run_for_scale(scale, seed, out, soak_seconds, step)
            Console().print(container_mod.markdown(result))
            raise typer.Exit(0 if container_mod.passed(result) else 1)
        if targets or versus is not None:
            found = targets_mod.run(scale, out, versus, repeats, repeats * 100, seconds,
                                    [int(c) for c in levels.split(",")], seed, step)
            (out / "targets.json").write_text(json.dumps(found, indent=2))
            (out / "targets.md").write_text(targets_mod.markdown(found))
            Console().print(targets_mod.markdown(found))
            return
        if soak:
            inputs = suite.prepare_inputs(scale, seed, out, step)
            build = out / "soak-build"
            suite.etl_ours(inputs, build)
            if hostile:
                from bench import hostile as hostile_mod

                found = hostile_mod.soak(build, soak_seconds, 32, step)
                (out / "hostile.json").write_text(json.dumps(found, indent=2))
                (out / "hostile.md").write_text(hostile_mod.markdown(found))
                Console().print(hostile_mod.markdown(found))
                raise typer.Exit(0 if "skipped" in found or all(found["met"].values()) else 1)
            result = soak_mod.soak(build, soak_seconds, 32, step)
            (out / "soak.json").write_text(json.dumps(result, indent=2))
            Console().print_json(data=result)
            ok = not result.get("errors") and result.get("rss_growth", 0) <= 0.10
            raise typer.Exit(0 if ok or "skipped" in result else 1)
        if growth:
            scales = tuple(float(s) for s in growth.split(","))
            rows = growth_mod.growth(out, scales, seed, step, reuse_builds=reuse_builds)
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
    data: Annotated[Path | None, typer.Option(
        help="an existing build directory (default data/build)", **EXISTING_DIR)] = None,
    ratings: Annotated[Path | None, typer.Option(
        help="viewers' ratings (MovieLens ratings.csv) for the co-liked measure",
        **EXISTING_FILE)] = None,
    links: Annotated[Path | None, typer.Option(help="MovieLens links.csv",
                                               **EXISTING_FILE)] = None,
    tune: Annotated[bool, typer.Option(
        help="search the prior and blends on the tuning half (needs ratings)")] = False,
    seed: Annotated[int, typer.Option(help="seed of the random baseline")] = 0,
    markdown: Annotated[bool, typer.Option(help="print a Markdown table")] = False,
    search: Annotated[bool, typer.Option(help="measure search instead (typos, prefixes, "
                                              "gibberish)")] = False,
) -> None:
    """Measure recommendation quality: random, most-popular, the assignment's baseline, ours.

    With --search, measure search: top-1/top-5 accuracy per kind of query, gibberish."""
    from data.paths import DEFAULT_BUILD
    from evaluation import recommender as evaluation

    if search:
        from evaluation import search as search_evaluation

        found = search_evaluation.evaluate(data or DEFAULT_BUILD, seed=seed)
        typer.echo(search_evaluation.markdown(found)) if markdown else Console().print(
            search_evaluation.render(found))
        raise typer.Exit(0 if all(g["met"] for g in found["goals"]) else 1)
    if (ratings is None) != (links is None) or (tune and ratings is None):
        typer.echo("error: --ratings and --links go together (and --tune needs them)", err=True)
        raise typer.Exit(EXIT_INPUT)
    if tune:
        assert ratings is not None and links is not None
        prepared = evaluation.Prepared.load(data or DEFAULT_BUILD)
        read = evaluation.Ratings.read(ratings, links, prepared.truth.ids)
        Console().print(evaluation.tune(prepared, read, log=lambda line: err.log(line)))
        return
    with progress("evaluate", (*evaluation.STEPS, *evaluation.RECOMMENDERS)) as step:
        report = evaluation.evaluate(data or DEFAULT_BUILD, ratings, links, seed=seed, step=step)
    if markdown:
        typer.echo(evaluation.markdown(report))
    else:
        Console().print(evaluation.render(report))


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="directory for the three raw CSV files",
                                      file_okay=False)],
    scale: Annotated[float, typer.Option(
        callback=_scale, help="in (0, 10]; 1.0 = the real files' size")] = 1.0,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same bytes)")] = 0,
    ratings: Annotated[bool, typer.Option(
        help="also write MovieLens-like ratings.csv + links.csv")] = True,
) -> None:
    """Generate a synthetic twin of the raw files, calibrated on the embedded real sample."""
    from dataclasses import asdict

    from bench.synth import generate
    from bench.synth_ratings import generate_ratings

    with progress("synth") as step:
        summary = generate(scale, out, seed=seed, progress=step)
    result = summary.as_dict()
    if ratings:
        with progress("synth") as step:
            step("ratings")
            made = generate_ratings(scale, out / "movies_dataset.csv", out, seed=seed)
        result["ratings"] = asdict(made)
    Console().print_json(data=result)
