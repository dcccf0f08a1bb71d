"""The /graphql HTTP endpoint: GraphQL over HTTP, persisted queries, caching, execution, logs.

It speaks the GraphQL-over-HTTP specification: the response media type is negotiated from
``Accept``; with ``application/graphql-response+json`` a request error (the document does
not parse or validate, variables do not coerce: no ``data``) is a 4xx and carries no
``data`` entry, while ``application/json`` (and ``*/*`` or no ``Accept``) keeps the legacy
rules, 200 for every GraphQL-level answer. Mutations over GET are 405 with ``Allow: POST``.
Every problem is answered as GraphQL-shaped JSON with an ``extensions.code``.

Strawberry's HTTP view is not used: it has no ``application/graphql-response+json`` and so
none of its status rules, answers transport problems in plain text, reads bodies without a
size bound and runs resolvers on the event loop. What this endpoint takes from Strawberry is
the part that carries the spec's rules: the schema's ``allowed_operation_types`` (how GET
refuses mutations) and its parsing, validation and execution.

Execution runs in a bounded thread pool, so the event loop (and /healthz) stays free while
a slow query runs; the request's deadline holds cooperatively inside resolvers and as a hard
stop here.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import strawberry
import structlog
from graphql import OperationDefinitionNode
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from data import deadline
from data.catalog import Catalog
from data.errors import (  # the one registry of codes
    BAD_REQUEST,
    BATCH_TOO_LARGE,
    INTERNAL,
    METHOD_NOT_ALLOWED,
    NOT_ACCEPTABLE,
    PAYLOAD_TOO_LARGE,
    PERSISTED_QUERY_NOT_FOUND,
    REQUEST_TIMEOUT,
    SERVER_BUSY,
    TIMEOUT,
    UNCACHEABLE,
    UNSUPPORTED_MEDIA_TYPE,
)
from data.errors import NOT_FOUND as NOT_FOUND_HTTP
from server import limits
from server.cache import Answer, PersistedQueries, ResponseCache, etag, request_key, sha256_hex
from server.observability import (
    CACHE,
    CACHE_HITS,
    ERRORS,
    REQUESTS,
    OperationLabels,
    log,
    series,
)
from server.pool import ExecutionPool, Saturated
from server.settings import Settings

APPLICATION_JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
REQUEST_TYPES = (APPLICATION_JSON, GRAPHQL_RESPONSE_JSON)
# Status of a request error (no data) under application/graphql-response+json, by code;
# every other request error is the client's: 400.
REQUEST_ERROR_STATUS: dict[str, int] = {PERSISTED_QUERY_NOT_FOUND: 404, INTERNAL: 500, TIMEOUT: 504}
# The hard stop comes this long after the deadline, so a resolver's own deadline check
# (which answers with the data gathered so far) normally wins.
HARD_STOP_GRACE_S = 0.25
NO_STORE = "no-store"
# GraphiQL with vendored assets (server/static/graphiql/README.md): it loads nothing from
# outside the app, unlike strawberry's page, which loads React and GraphiQL from unpkg.com.
GRAPHIQL_HTML = Path(__file__).resolve().parent / "static" / "graphiql" / "index.html"


class RequestFailed(Exception):
    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


def _error_payload(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def negotiate(accept: str | None) -> str | None:
    """The response media type for an ``Accept`` header, None when it allows neither.

    No header, ``*/*`` and ``application/*`` mean application/json (the spec's legacy
    default); application/graphql-response+json is chosen when named with a quality at least
    that of application/json. The most specific range decides each type's quality.
    """
    if not accept or not accept.strip():
        return APPLICATION_JSON
    best: dict[str, tuple[int, float]] = {}  # media type -> (specificity, quality)
    for part in accept.split(","):
        media_range, *params = part.split(";")
        media_range = media_range.strip().lower()
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        if media_range == GRAPHQL_RESPONSE_JSON:
            targets = {GRAPHQL_RESPONSE_JSON: 2}
        elif media_range == APPLICATION_JSON:
            targets = {APPLICATION_JSON: 2}
        elif media_range == "application/*":
            targets = {APPLICATION_JSON: 1}
        elif media_range == "*/*":
            targets = {APPLICATION_JSON: 0}
        else:
            continue
        for target, specificity in targets.items():
            if target not in best or specificity > best[target][0]:
                best[target] = (specificity, quality)
    spec_q = best.get(GRAPHQL_RESPONSE_JSON, (0, 0.0))[1]
    json_q = best.get(APPLICATION_JSON, (0, 0.0))[1]
    if spec_q <= 0 and json_q <= 0:
        return None
    return GRAPHQL_RESPONSE_JSON if spec_q >= json_q else APPLICATION_JSON


def _etag_matches(header: str, tag: str) -> bool:
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == tag:
            return True
    return False


@dataclass
class Operation:
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


@dataclass
class Pending:
    """An operation that has to execute (it is not in the cache)."""

    query: str
    key: bytes
    operation: Operation


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


class AmbiguousOperation(CannotGetOperationTypeError):
    def as_http_error_reason(self) -> str:
        return "the document holds several operations: say which one in operationName"


class SingleOperation(SchemaExtension):
    """Refuses a document of several operations without an ``operationName``, as GraphQL's
    GetOperation does (Strawberry would run the first one)."""

    def on_parse(self) -> Iterator[None]:
        yield
        context = self.execution_context
        document = context.graphql_document
        if document is None or context._provided_operation_name is not None:
            return
        operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
        if operations > 1:
            raise AmbiguousOperation(None)


class GraphQLEndpoint:
    def __init__(self, schema: strawberry.Schema, settings: Settings) -> None:
        self.schema = schema
        self.settings = settings
        self.cache = ResponseCache(settings.cache_bytes, settings.cache_entries)
        self.persisted = PersistedQueries(settings.apq_entries, settings.apq_bytes)
        self.pool = ExecutionPool(settings.exec_threads, settings.exec_queue)
        self.labels = OperationLabels(settings.metrics_operations)
        self.catalog: Catalog | None = None
        self._graphiql = GRAPHIQL_HTML.read_text(encoding="utf-8") if settings.graphiql else ""

    async def handle(self, request: Request) -> Response:
        request_id = (request.headers.get("x-request-id") or secrets.token_hex(16))[:64]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        media_type = APPLICATION_JSON
        try:
            response = self._graphiql_page(request)
            if response is None:
                negotiated = negotiate(request.headers.get("accept"))
                if negotiated is None:
                    raise RequestFailed(406, NOT_ACCEPTABLE, "accept application/json or "
                                        f"{GRAPHQL_RESPONSE_JSON}")
                media_type = negotiated
                response = await self._handle(request, media_type)
        except RequestFailed as exc:
            ERRORS.labels(exc.code).inc()
            REQUESTS.labels("-", str(exc.status)).inc()
            log.info("request rejected", code=exc.code, status=exc.status,
                     duration_ms=round((time.perf_counter() - started) * 1000, 3))
            headers = dict(exc.headers)
            if request.method == "GET":
                headers["cache-control"] = NO_STORE
            response = Response(orjson.dumps(_error_payload(exc.code, exc.message)),
                                status_code=exc.status, headers=headers, media_type=media_type)
        response.headers["x-request-id"] = request_id
        return response

    def _graphiql_page(self, request: Request) -> Response | None:
        """GraphiQL (or its absence) for a browser's GET without a query."""
        if request.method != "GET":
            return None
        if "query" in request.query_params or "extensions" in request.query_params:
            return None
        if "text/html" in request.headers.get("accept", "") and self.settings.graphiql:
            return HTMLResponse(self._graphiql)
        if not self.settings.graphiql:
            raise RequestFailed(404, NOT_FOUND_HTTP, "no GraphQL query in the request")
        raise RequestFailed(400, BAD_REQUEST, "no GraphQL query in the request")

    async def _handle(self, request: Request, media_type: str) -> Response:
        if request.method == "GET":
            operation = _operation({
                "query": request.query_params.get("query"),
                "variables": _json_param(request, "variables"),
                "operationName": request.query_params.get("operationName"),
                "extensions": _json_param(request, "extensions"),
            })
            # Strawberry's rule for GET: queries (and subscriptions, which this schema has
            # none of); a mutation is refused before validation with 405.
            answers = await self._execute([operation], OperationType.from_http("GET"))
            return self._respond_get(request, answers[0], media_type)
        if request.method != "POST":
            raise RequestFailed(405, METHOD_NOT_ALLOWED, "use GET or POST",
                                {"allow": "GET, POST"})
        self._check_content_type(request.headers.get("content-type", ""))
        body = await self._read_body(request)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise RequestFailed(400, BAD_REQUEST, "the request body is not valid JSON") from None
        post = OperationType.from_http("POST")
        if isinstance(payload, list):
            if not payload or len(payload) > self.settings.max_batch:
                raise RequestFailed(400, BATCH_TOO_LARGE,
                                    f"a batch holds 1 to {self.settings.max_batch} operations")
            answers = await self._execute([_operation(item) for item in payload], post)
            bodies = [self._body(answer, media_type)[0] for answer in answers]
            return Response(b"[" + b",".join(bodies) + b"]", media_type=media_type)
        answers = await self._execute([_operation(payload)], post)
        body, status = self._body(answers[0], media_type)
        return Response(body, status_code=status, media_type=media_type)

    @staticmethod
    def _body(answer: Answer, media_type: str) -> tuple[bytes, int]:
        if media_type == GRAPHQL_RESPONSE_JSON and answer.spec_body is not None:
            return answer.spec_body, answer.spec_status
        return answer.body, 200

    @staticmethod
    def _check_content_type(raw: str) -> None:
        media, *params = raw.split(";")
        charset = next((v.strip().strip('"').lower() for k, _, v in
                        (p.partition("=") for p in params) if k.strip().lower() == "charset"),
                       "utf-8")
        if media.strip().lower() not in REQUEST_TYPES or charset not in ("utf-8", "utf8"):
            raise RequestFailed(415, UNSUPPORTED_MEDIA_TYPE,
                                "POST a JSON body with Content-Type: application/json "
                                "(UTF-8)", {"accept-post": APPLICATION_JSON})

    async def _read_body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestFailed(413, PAYLOAD_TOO_LARGE, f"the body exceeds {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        try:
            # A client that declares more than it sends must not hold the worker's
            # connection slot: the whole body has body_timeout_s to arrive.
            async with asyncio.timeout(self.settings.body_timeout_s):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise RequestFailed(413, PAYLOAD_TOO_LARGE,
                                            f"the body exceeds {limit} bytes")
                    chunks.append(chunk)
        except TimeoutError:
            raise RequestFailed(408, REQUEST_TIMEOUT, "the request body did not arrive in time",
                                {"connection": "close"}) from None
        except ClientDisconnect:
            raise RequestFailed(400, BAD_REQUEST, "the client closed the request") from None
        return b"".join(chunks)

    def _respond_get(self, request: Request, answer: Answer, media_type: str) -> Response:
        body, status = self._body(answer, media_type)
        # The representation depends on Accept; errors are never stored by shared caches.
        headers = {"vary": "accept"}
        if answer.errors:
            headers["cache-control"] = NO_STORE
            return Response(body, status_code=status, media_type=media_type, headers=headers)
        tag = etag(body, media_type)
        headers.update({"etag": tag,
                        "cache-control": f"public, max-age={self.settings.cache_max_age_s}"})
        if _etag_matches(request.headers.get("if-none-match", ""), tag):
            return Response(status_code=304, headers=headers)
        return Response(body, status_code=status, media_type=media_type, headers=headers)

    # --- operations ----------------------------------------------------------------------

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
                return ""  # answered as PERSISTED_QUERY_NOT_FOUND by _prepare
            return query
        if sha256_hex(operation.query) != digest.lower():
            raise RequestFailed(400, BAD_REQUEST, "provided sha256Hash does not match query")
        self.persisted.put(digest.lower(), operation.query)
        return operation.query

    def _prepare(self, operation: Operation) -> Answer | Pending:
        """On the event loop: persisted query, cache key and cache lookup (all cheap)."""
        started = time.perf_counter()
        query = self._resolve_persisted(operation)
        name = self.labels(operation.operation_name)
        if not query:
            ERRORS.labels(PERSISTED_QUERY_NOT_FOUND).inc()
            REQUESTS.labels(name, "200").inc()
            body = orjson.dumps(_error_payload(PERSISTED_QUERY_NOT_FOUND,
                                               "PersistedQueryNotFound"))
            return Answer(body, True, body, REQUEST_ERROR_STATUS[PERSISTED_QUERY_NOT_FOUND])
        try:
            key = request_key(query, operation.variables, operation.operation_name)
        except orjson.JSONEncodeError:
            raise RequestFailed(400, BAD_REQUEST, "variables are nested too deeply") from None
        cached = self.cache.get(key)
        if cached is None:
            CACHE.labels("miss").inc()
            return Pending(query, key, operation)
        self._count_hit(name, started)
        return cached

    @staticmethod
    def _count_hit(name: str, started: float) -> None:
        CACHE_HITS.inc()
        counted = series(name)
        counted.ok.inc()
        elapsed = time.perf_counter() - started
        counted.latency.observe(elapsed)
        log.info("graphql", operation=name, cache_hit=True, duration_ms=round(elapsed * 1000, 3))

    def cached_post(self, headers: dict[str, str], body: bytes, started: float
                    ) -> tuple[bytes, int, str, str] | None:
        """The answer ``handle`` would give a POST of ``body`` when its one operation is in
        the response cache: (body, status, media type, request id), counted and logged as
        ``handle`` does; None for anything else (APQ, batches, errors, misses), which then
        takes the whole way."""
        media_type = negotiate(headers.get("accept"))
        if media_type is None or len(body) > self.settings.max_body_bytes:
            return None
        try:
            self._check_content_type(headers.get("content-type", ""))
            operation = _operation(orjson.loads(body))
            if operation.extensions is not None or not operation.query:
                return None
            key = request_key(operation.query, operation.variables, operation.operation_name)
        except (RequestFailed, orjson.JSONDecodeError, orjson.JSONEncodeError):
            return None
        answer = self.cache.get(key)
        if answer is None:
            return None
        request_id = (headers.get("x-request-id") or secrets.token_hex(16))[:64]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        self._count_hit(self.labels(operation.operation_name), started)
        body, status = self._body(answer, media_type)
        return body, status, media_type, request_id

    async def _execute(self, operations: list[Operation],
                       allowed: set[OperationType]) -> list[Answer]:
        """Answers for a request's operations; one deadline covers them all."""
        deadline_at = time.monotonic() + self.settings.timeout_s
        answers: list[Answer | Pending | None] = [self._prepare(op) for op in operations]
        todo = [i for i, item in enumerate(answers) if isinstance(item, Pending)]
        if not todo:
            return answers  # type: ignore[return-value]
        jobs: list[Pending] = [answers[i] for i in todo]  # type: ignore[misc]
        for i in todo:
            answers[i] = None

        def job() -> None:
            # One cost budget for the whole request: a batch cannot multiply it.
            with limits.request_budget(self.settings.max_cost):
                for i, pending in zip(todo, jobs, strict=True):
                    if time.monotonic() >= deadline_at:
                        return  # the rest are answered TIMEOUT
                    answers[i] = self._run(pending, deadline_at, allowed)

        try:
            done = await self.pool.run(job, deadline_at + HARD_STOP_GRACE_S - time.monotonic())
        except Saturated:
            raise RequestFailed(503, SERVER_BUSY, "the server is busy; retry shortly",
                                {"retry-after": "1"}) from None
        snapshot = list(answers)  # a thread still running after the hard stop may write later
        if not done:
            log.warning("hard stop", timeout_s=self.settings.timeout_s, operations=len(todo))
        return [item if isinstance(item, Answer) else self._timeout_answer() for item in snapshot]

    def _timeout_answer(self) -> Answer:
        ERRORS.labels(TIMEOUT).inc()
        error = {"message": "the query took longer than the server allows; ask for fewer nodes",
                 "extensions": {"code": TIMEOUT}}
        return Answer(orjson.dumps({"data": None, "errors": [error],
                                    "extensions": {"cost": None}}),
                      True, orjson.dumps({"errors": [error]}), REQUEST_ERROR_STATUS[TIMEOUT])

    def _run(self, pending: Pending, deadline_at: float,
             allowed: set[OperationType]) -> Answer:
        """In a pool thread: execute one operation and encode its answer."""
        started = time.perf_counter()
        operation = pending.operation
        name = self.labels(operation.operation_name)
        limits.last_cost.set(None)
        deadline.start(max(deadline_at - time.monotonic(), 0.0))
        try:
            result = self.schema.execute_sync(
                pending.query,
                variable_values=operation.variables,
                context_value={"catalog": self.catalog,
                               "image_base_url": self.settings.image_base_url},
                operation_name=operation.operation_name,
                allowed_operation_types=allowed,
            )
        except CannotGetOperationTypeError as exc:
            # str(exc) is just the operation name (or "None"); say what is wrong instead.
            raise RequestFailed(400, BAD_REQUEST, exc.as_http_error_reason()) from None
        except InvalidOperationTypeError as exc:
            raise RequestFailed(405, METHOD_NOT_ALLOWED, exc.as_http_error_reason("GET") +
                                ": send them with POST", {"allow": "POST"}) from None
        except MissingQueryError as exc:
            raise RequestFailed(400, BAD_REQUEST, str(exc) or "cannot run that operation") from None
        finally:
            deadline.start(None)
        cost = limits.last_cost.get()
        payload: dict[str, Any] = {"data": result.data}
        codes: list[str] = []
        errors = [error.formatted for error in result.errors or ()]
        if errors:
            payload["errors"] = errors
            codes = [str((e.get("extensions") or {}).get("code", "")) for e in errors]
            for code in codes:
                ERRORS.labels(code).inc()
        payload["extensions"] = {"cost": cost}
        body = orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)
        answer = Answer(body, bool(errors))
        # A request error: nothing executed, so no data and no error with a path.
        if result.data is None and errors and not any("path" in e for e in errors):
            status = max(REQUEST_ERROR_STATUS.get(code, 400) for code in codes)
            spec = {"errors": errors, "extensions": {"cost": cost}}
            answer = Answer(body, True, orjson.dumps(spec, option=orjson.OPT_NON_STR_KEYS),
                            status)
        if not UNCACHEABLE.intersection(codes):
            self.cache.put(pending.key, answer)
        elapsed = time.perf_counter() - started
        counted = series(name)
        counted.ok.inc()
        counted.latency.observe(elapsed)
        log.info("graphql", operation=name, cache_hit=False, cost=cost, errors=codes or None,
                 duration_ms=round(elapsed * 1000, 3))
        return answer
