"""The ``movies`` command line: one Typer app whose subcommands cover the whole project.

Heavy imports stay inside the commands so ``movies --help`` is instant.
"""

from __future__ import annotations

import logging
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


def build_warehouse(
    movies: Path | None, credits: Path | None, keywords: Path | None, out: Path
) -> dict[str, Any]:
    """Run the ETL (and fit the recommender) from the given or default inputs."""

    from data.recommender import fit_index
    from etl.pipeline import Inputs, default_inputs, run

    defaults = default_inputs()
    inputs = Inputs(
        movies=movies or defaults.movies,
        credits=credits or defaults.credits,
        keywords=keywords if keywords is not None else (
            defaults.keywords if movies is None else None
        ),
    )
    with progress("etl") as step:
        return run(inputs, out, step=step, fit_index=fit_index)


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
) -> None:
    """Parse, clean and normalise the raw files into a validated Parquet build.

    Inputs default to data/raw/ when the full files are there, else the embedded sample.
    """
    from data.paths import DEFAULT_BUILD
    from etl.extract import InputError
    from etl.publish import ValidationFailed

    try:
        manifest = build_warehouse(movies, credits, keywords, out or DEFAULT_BUILD)
    except InputError as exc:
        typer.echo(f"error: {exc.path}: {exc.problem}", err=True)
        raise typer.Exit(EXIT_INPUT) from None
    except ValidationFailed as exc:
        typer.echo(f"error: the built tables break the contract: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    _print_summary(manifest)


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
    try:
        read_manifest(settings.data)
    except BuildError as exc:
        err.print(f"{exc}: building it now")
        manifest = build_warehouse(None, None, None, settings.data)
        _print_summary(manifest)
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
