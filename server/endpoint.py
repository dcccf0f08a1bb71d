"""The /graphql HTTP endpoint: request checks, persisted queries, caching, execution, logs.

Strawberry's own HTTP view answers transport problems with plain text; this endpoint answers
every problem as GraphQL-shaped JSON with an ``extensions.code``, and adds the limits, the
response cache, ETags and APQ in one place.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import strawberry
import structlog
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from data.catalog import Catalog
from data.errors import (  # the one registry of codes
    BAD_REQUEST,
    BATCH_TOO_LARGE,
    METHOD_NOT_ALLOWED,
    PAYLOAD_TOO_LARGE,
    PERSISTED_QUERY_NOT_FOUND,
    UNCACHEABLE,
    UNSUPPORTED_MEDIA_TYPE,
)
from data.errors import NOT_FOUND as NOT_FOUND_HTTP
from schema import deadline
from server import limits
from server.cache import PersistedQueries, ResponseCache, etag, request_key, sha256_hex
from server.observability import CACHE, ERRORS, LATENCY, REQUESTS, log
from server.settings import Settings

JSON_TYPES = ("application/json", "application/graphql-response+json")
# GraphiQL with vendored assets (server/static/graphiql/README.md): it loads nothing from
# outside the app, unlike strawberry's page, which loads React and GraphiQL from unpkg.com.
GRAPHIQL_HTML = Path(__file__).resolve().parent / "static" / "graphiql" / "index.html"


class RequestFailed(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status_code=status, headers=headers,
                    media_type="application/json")


def _error_payload(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


@dataclass
class Operation:
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def _operation(item: Any) -> Operation:
    if not isinstance(item, dict):
        raise RequestFailed(400, BAD_REQUEST, "a GraphQL request must be a JSON object")
    query, variables = item.get("query"), item.get("variables")
    name, extensions = item.get("operationName"), item.get("extensions")
    if not isinstance(query, str | None):
        raise RequestFailed(400, BAD_REQUEST, "query must be a string")
    if not isinstance(variables, dict | None):
        raise RequestFailed(400, BAD_REQUEST, "variables must be a JSON object")
    if not isinstance(name, str | None):
        raise RequestFailed(400, BAD_REQUEST, "operationName must be a string")
    if not isinstance(extensions, dict | None):
        raise RequestFailed(400, BAD_REQUEST, "extensions must be a JSON object")
    return Operation(query, variables, name, extensions)


def _json_param(request: Request, name: str) -> Any:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestFailed(400, BAD_REQUEST, f"{name} is not valid JSON") from None


class GraphQLEndpoint:
    def __init__(self, schema: strawberry.Schema, settings: Settings) -> None:
        self.schema = schema
        self.settings = settings
        self.cache = ResponseCache(settings.cache_bytes)
        self.persisted = PersistedQueries(settings.apq_entries)
        self.catalog: Catalog | None = None
        self._graphiql = GRAPHIQL_HTML.read_text(encoding="utf-8") if settings.graphiql else ""

    async def handle(self, request: Request) -> Response:
        request_id = (request.headers.get("x-request-id") or uuid.uuid4().hex)[:64]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            response = await self._handle(request)
        except RequestFailed as exc:
            ERRORS.labels(exc.code).inc()
            REQUESTS.labels("-", str(exc.status)).inc()
            log.info("request rejected", code=exc.code, status=exc.status,
                     duration_ms=round((time.perf_counter() - started) * 1000, 3))
            response = _json(_error_payload(exc.code, exc.message), exc.status)
        response.headers["x-request-id"] = request_id
        return response

    async def _handle(self, request: Request) -> Response:
        if request.method == "GET":
            accept = request.headers.get("accept", "")
            if "query" not in request.query_params and "extensions" not in request.query_params:
                if "text/html" in accept and self.settings.graphiql:
                    return HTMLResponse(self._graphiql)
                if not self.settings.graphiql:
                    raise RequestFailed(404, NOT_FOUND_HTTP, "no GraphQL query in the request")
                raise RequestFailed(400, BAD_REQUEST, "no GraphQL query in the request")
            operation = _operation({
                "query": request.query_params.get("query"),
                "variables": _json_param(request, "variables"),
                "operationName": request.query_params.get("operationName"),
                "extensions": _json_param(request, "extensions"),
            })
            return self._respond_get(request, self._run(operation))
        if request.method != "POST":
            raise RequestFailed(405, METHOD_NOT_ALLOWED, "use GET or POST")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in JSON_TYPES:
            raise RequestFailed(415, UNSUPPORTED_MEDIA_TYPE,
                                "POST a JSON body with Content-Type: application/json")
        body = await self._read_body(request)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise RequestFailed(400, BAD_REQUEST, "the request body is not valid JSON") from None
        if isinstance(payload, list):
            if not payload or len(payload) > self.settings.max_batch:
                raise RequestFailed(400, BATCH_TOO_LARGE,
                                    f"a batch holds 1 to {self.settings.max_batch} operations")
            operations = [_operation(item) for item in payload]
            with limits.request_budget(self.settings.max_cost):  # one budget for the batch
                bodies = [self._run(op)[0] for op in operations]
            return Response(b"[" + b",".join(bodies) + b"]", media_type="application/json")
        body, _cost = self._run(_operation(payload))
        return Response(body, media_type="application/json")

    async def _read_body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestFailed(413, PAYLOAD_TOO_LARGE, f"the body exceeds {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise RequestFailed(413, PAYLOAD_TOO_LARGE, f"the body exceeds {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _respond_get(self, request: Request, result: tuple[bytes, int | None]) -> Response:
        body, _cost = result
        tag = etag(body)
        headers = {"etag": tag, "cache-control": f"public, max-age={self.settings.cache_max_age_s}"}
        if tag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)

    def _resolve_persisted(self, operation: Operation) -> str:
        persisted = (operation.extensions or {}).get("persistedQuery")
        if persisted is None:
            if not operation.query:  # "" too: an empty query must not read as an APQ miss
                raise RequestFailed(400, BAD_REQUEST, "no GraphQL query in the request")
            return operation.query
        digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if not isinstance(digest, str) or persisted.get("version") != 1:
            raise RequestFailed(400, BAD_REQUEST, "persistedQuery needs version 1 and sha256Hash")
        if operation.query is None:
            query = self.persisted.get(digest.lower())
            if query is None:
                return ""  # answered as PERSISTED_QUERY_NOT_FOUND by _run
            return query
        if sha256_hex(operation.query) != digest.lower():
            raise RequestFailed(400, BAD_REQUEST, "provided sha256Hash does not match query")
        self.persisted.put(digest.lower(), operation.query)
        return operation.query

    def _run(self, operation: Operation) -> tuple[bytes, int | None]:
        """Execute one operation; returns the encoded response body and its cost."""
        started = time.perf_counter()
        query = self._resolve_persisted(operation)
        name = operation.operation_name or "-"
        if not query:
            ERRORS.labels(PERSISTED_QUERY_NOT_FOUND).inc()
            REQUESTS.labels(name, "200").inc()
            return orjson.dumps(_error_payload(PERSISTED_QUERY_NOT_FOUND,
                                               "PersistedQueryNotFound")), None
        key = request_key(query, operation.variables, operation.operation_name)
        cached = self.cache.get(key)
        if cached is not None:
            CACHE.labels("hit").inc()
            REQUESTS.labels(name, "200").inc()
            elapsed = time.perf_counter() - started
            LATENCY.labels(name).observe(elapsed)
            log.info("graphql", operation=name, cache_hit=True,
                     duration_ms=round(elapsed * 1000, 3))
            return cached, None
        CACHE.labels("miss").inc()
        limits.last_cost.set(None)
        deadline.start(self.settings.timeout_s)
        try:
            result = self.schema.execute_sync(
                query,
                variable_values=operation.variables,
                context_value={"catalog": self.catalog},
                operation_name=operation.operation_name,
            )
        except CannotGetOperationTypeError as exc:
            # str(exc) is just the operation name (or "None"); say what is wrong instead.
            raise RequestFailed(400, BAD_REQUEST, exc.as_http_error_reason()) from None
        except (InvalidOperationTypeError, MissingQueryError) as exc:
            raise RequestFailed(400, BAD_REQUEST, str(exc) or "cannot run that operation") from None
        finally:
            deadline.start(None)
        cost = limits.last_cost.get()
        payload: dict[str, Any] = {"data": result.data}
        codes: list[str] = []
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
            codes = [str((e.extensions or {}).get("code", "")) for e in result.errors]
            for code in codes:
                ERRORS.labels(code).inc()
        payload["extensions"] = {"cost": cost}
        body = orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)
        if not UNCACHEABLE.intersection(codes):
            self.cache.put(key, body)
        elapsed = time.perf_counter() - started
        REQUESTS.labels(name, "200").inc()
        LATENCY.labels(name).observe(elapsed)
        log.info("graphql", operation=name, cache_hit=False, cost=cost, errors=codes or None,
                 duration_ms=round(elapsed * 1000, 3))
        return body, cost
