"""HTTP face of the baseline: the assignment's seven GET endpoints, served by uvicorn.

Run it with ``python -m bench.baseline_app --movies ... --credits ...`` (or the env vars
``BASELINE_MOVIES``, ``BASELINE_CREDITS``, ``BASELINE_MAX_MOVIES``). With ``--workers N`` each
worker process loads its own copy of the data and of the dense matrix, as a multi-worker
deployment of the original app would.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.baseline import DEFAULT_MAX_MOVIES, BaselineData, baseline_etl

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
ENV_MOVIES, ENV_CREDITS, ENV_MAX = "BASELINE_MOVIES", "BASELINE_CREDITS", "BASELINE_MAX_MOVIES"


def create_app(data: BaselineData) -> Starlette:
    def endpoint(func: Callable[[str], dict[str, Any]], param: str) -> Callable[..., Any]:
        # Sync handler: Starlette runs it in the threadpool, like a FastAPI ``def`` route.
        def handler(request: Request) -> JSONResponse:
            result = func(request.path_params[param])
            return JSONResponse(result, status_code=404 if "error" in result else 200)

        return handler

    routes = [
        Route(f"/{name}/{{{param}}}", endpoint(getattr(data, name), param), methods=["GET"])
        for name, param in [
            ("cantidad_filmaciones_mes", "mes"),
            ("cantidad_filmaciones_dia", "dia"),
            ("score_titulo", "titulo"),
            ("votos_titulo", "titulo"),
            ("get_actor", "nombre_actor"),
            ("get_director", "nombre_director"),
            ("recomendacion", "titulo"),
        ]
    ]

    def root(request: Request) -> JSONResponse:  # readiness probe for the benchmark
        return JSONResponse({"status": "ok", "movies": len(data.movies)})

    return Starlette(routes=[Route("/", root, methods=["GET"]), *routes])


def _max_movies(value: str | None) -> int | None:
    # "0" or "all" disables the cap (only sensible for small inputs: 8·N² bytes).
    if value is None or value == "":
        return DEFAULT_MAX_MOVIES
    return None if value.lower() in {"0", "all", "none"} else int(value)


def app_from_env() -> Starlette:
    """uvicorn factory: every worker builds its app from the env vars ``main`` sets."""
    data = baseline_etl(
        os.environ.get(ENV_MOVIES, str(SAMPLE_DIR / "movies_dataset.csv.gz")),
        os.environ.get(ENV_CREDITS, str(SAMPLE_DIR / "credits.csv.gz")),
        max_movies=_max_movies(os.environ.get(ENV_MAX)),
    )
    return create_app(data)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the PI-MLOps-style baseline API.")
    parser.add_argument("--movies", default=os.environ.get(ENV_MOVIES))
    parser.add_argument("--credits", default=os.environ.get(ENV_CREDITS))
    parser.add_argument(
        "--max-movies",
        default=os.environ.get(ENV_MAX),
        help=f"rows in the dense matrix (default {DEFAULT_MAX_MOVIES}; 0 = all)",
    )
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8001")))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args(argv)

    # Pass the inputs through the environment so the factory works in every worker process.
    for key, value in [
        (ENV_MOVIES, args.movies),
        (ENV_CREDITS, args.credits),
        (ENV_MAX, args.max_movies),
    ]:
        if value is not None:
            os.environ[key] = str(value)
    uvicorn.run(
        "bench.baseline_app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=not args.no_access_log,
        # With --workers > 1 uvicorn kills a worker that misses its 5 s health ping; a
        # baseline worker is busy importing sklearn and running the ETL for much longer.
        timeout_worker_healthcheck=300,
    )


if __name__ == "__main__":
    main()
