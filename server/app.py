"""The Starlette application: /graphql, health, metrics and the static demo page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from strawberry.schema.config import StrawberryConfig

import schema as graphql_schema
from data.catalog import Catalog
from server import limits
from server.endpoint import GraphQLEndpoint
from server.observability import BUILD, configure_logging, log, metrics_payload
from server.settings import Settings

STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None, catalog: Catalog | None = None) -> Starlette:
    """Build the app; the catalog is loaded at start-up unless one is passed in (tests)."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_json)
    schema = graphql_schema.build_schema(
        limits.extensions(
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_cost=settings.max_cost,
            introspection=settings.introspection,
        ),
        config=StrawberryConfig(disable_field_suggestions=not settings.field_suggestions),
    )
    endpoint = GraphQLEndpoint(schema, settings)
    endpoint.catalog = catalog

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if endpoint.catalog is None:
            # Maps the serving image; nothing proportional to the catalogue is built here.
            endpoint.catalog = Catalog.load(settings.data)
        manifest = endpoint.catalog.manifest
        BUILD.labels(str(manifest["contract_version"]), manifest["built_at"],
                     str(endpoint.catalog.n_movies)).set(1)
        log.info("ready", movies=endpoint.catalog.n_movies, build=manifest.get("path"),
                 profile=settings.profile)
        yield

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        if endpoint.catalog is None:
            return JSONResponse({"status": "loading"}, status_code=503)
        return JSONResponse({"status": "ready", "movies": endpoint.catalog.n_movies,
                             "built_at": endpoint.catalog.manifest["built_at"]})

    async def metrics(_request: Request) -> Response:
        body, content_type = metrics_payload()
        return Response(body, media_type=content_type)

    async def index(_request: Request) -> Response:
        page = STATIC / "index.html"
        if not page.is_file():
            return JSONResponse({"graphql": "/graphql"})
        return FileResponse(page)

    middleware = []
    if settings.cors_origins:
        middleware.append(Middleware(
            CORSMiddleware, allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["content-type", "x-request-id"], max_age=600,
        ))
    routes = [
        Route("/graphql", endpoint.handle, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/", index),
        Mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static"),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.endpoint = endpoint
    app.state.settings = settings
    return app


def app_from_env() -> Starlette:
    """uvicorn factory for worker processes: settings come from MOVIES_* variables."""
    return create_app(Settings.from_env())
