"""The Starlette application: /graphql, health, metrics and the static demo page."""

from __future__ import annotations

import base64
import copy
import hashlib
import re
import sys
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig

import schema as graphql_schema
from data.catalog import Catalog
from server import limits
from server.endpoint import GRAPHIQL_HTML, NOT_FOUND_HTTP, GraphQLEndpoint, SingleOperation
from server.hits import CachedAnswers
from server.lanes import heavy_lane
from server.observability import BUILD, configure_logging, log, metrics_payload
from server.settings import Settings

STATIC = Path(__file__).resolve().parent / "static"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def per_thread(factories: Sequence[Callable[[], SchemaExtension]]
               ) -> list[Callable[[], SchemaExtension]]:
    """Give each execution thread its own copy of an extension that is handed out shared.

    ``limits.extensions`` hands out one validation-rule extension object for every operation
    (so the validation cache, keyed by rule class, keeps hitting). Strawberry stores the
    running operation's context on the extension object, so two threads executing at once
    would overwrite each other's (and one operation could run without its depth rules). A
    shallow copy per thread keeps the same rule classes, so the cache still hits; operations
    in one thread run one at a time. Factories that already build a new object per call are
    left as they are.
    """
    wrapped: list[Callable[[], SchemaExtension]] = []
    for factory in factories:
        if factory() is not factory():
            wrapped.append(factory)
            continue
        local = threading.local()

        def copy_for_thread(factory: Callable[[], SchemaExtension] = factory,
                            local: threading.local = local) -> SchemaExtension:
            extension = getattr(local, "extension", None)
            if extension is None:
                extension = local.extension = copy.copy(factory())
            return extension

        wrapped.append(copy_for_thread)
    return wrapped


def _script_hashes(page: Path) -> str:
    """CSP sources for a page's inline scripts (GraphiQL's page configures it inline)."""
    if not page.is_file():
        return ""
    text = page.read_text(encoding="utf-8")
    return "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(text))


COMMON_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                  (b"x-frame-options", b"DENY")]
# Every answer that is not HTML (JSON, files): nothing may run or be framed.
OTHER_HEADERS = [*COMMON_HEADERS, (b"content-security-policy",
                                   b"default-src 'none'; frame-ancestors 'none'")]


class SecurityHeaders:
    """Security headers on every answer: a strict CSP for JSON and files, one that lets the
    demo page and GraphiQL run their own scripts (and nothing else) for HTML."""

    def __init__(self, app: ASGIApp, script_hashes: str, image_origin: str = "") -> None:
        self.app = app
        html_csp = ("default-src 'self'; script-src 'self'" + script_hashes + "; "
                    "style-src 'self' 'unsafe-inline'; img-src 'self' data:" + image_origin + "; "
                    "font-src 'self' "
                    "data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                    "form-action 'self'; frame-ancestors 'none'")
        self.html = [*COMMON_HEADERS, (b"content-security-policy", html_csp.encode())]
        self.other = OTHER_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                extra = self.html if content_type.startswith(b"text/html") else self.other
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings | None = None, catalog: Catalog | None = None) -> Starlette:
    """Build the app; the catalog is loaded at start-up unless one is passed in (tests)."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_json)
    schema = graphql_schema.build_schema(
        [*per_thread(limits.extensions(
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_cost=settings.max_cost,
            introspection=settings.introspection,
        )), SingleOperation, heavy_lane(settings.heavy_cost, settings.heavy_slots)],
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
        try:
            yield
        finally:
            endpoint.pool.shutdown()

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

    async def not_found(_request: Request) -> Response:
        return JSONResponse({"errors": [{"message": "not found",
                                         "extensions": {"code": NOT_FOUND_HTTP}}]},
                            status_code=404)

    # Posters and profile pictures come from the image host (TMDB's by default).
    image_host = urlsplit(settings.image_base_url)
    image_origin = f" {image_host.scheme}://{image_host.netloc}" if image_host.netloc else ""
    # Outermost, so a cache hit skips the rest of the stack: it sends the same security
    # headers itself, and leaves cross-origin requests to CORS when that is configured.
    middleware = [Middleware(CachedAnswers, endpoint=endpoint, headers=OTHER_HEADERS,
                             cors=bool(settings.cors_origins)),
                  Middleware(SecurityHeaders, script_hashes=_script_hashes(GRAPHIQL_HTML),
                             image_origin=image_origin)]
    if settings.cors_origins:
        middleware.append(Middleware(
            CORSMiddleware, allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["content-type", "x-request-id"], max_age=600,
        ))
    routes: list[BaseRoute] = [
        Route("/graphql", endpoint.handle, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics if settings.metrics_public else not_found),
        Route("/", index),
    ]
    if not settings.graphiql:
        # GraphiQL's assets go with GraphiQL: production serves neither.
        routes.append(Route("/static/graphiql/{path:path}", not_found))
    routes.append(Mount("/static", StaticFiles(directory=STATIC, check_dir=False),
                        name="static"))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.endpoint = endpoint
    app.state.settings = settings
    return app


def app_from_env() -> Starlette:
    """uvicorn factory for worker processes: settings come from MOVIES_* variables."""
    settings = Settings.from_env()
    # Process-wide, so set here, in the worker, and not by create_app (tests, benchmarks).
    sys.setswitchinterval(settings.switch_interval_ms / 1000)
    return create_app(settings)
