"""Structured JSON logs (structlog) and Prometheus metrics.

With several workers each process counts for itself; ``movies serve`` then points
PROMETHEUS_MULTIPROC_DIR at a fresh directory and /metrics aggregates all workers.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from typing import Any

import orjson
import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "movies_graphql_requests_total", "GraphQL requests", ["operation", "status"]
)
LATENCY = Histogram(
    "movies_graphql_request_seconds",
    "GraphQL request latency",
    ["operation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
ERRORS = Counter("movies_graphql_errors_total", "GraphQL errors by code", ["code"])
CACHE = Counter("movies_graphql_cache_total", "Response cache lookups", ["result"])
BUILD = Gauge(
    "movies_build_info", "The build being served", ["contract_version", "built_at", "movies"],
    multiprocess_mode="max",
)


# Operation names label metric series, and clients choose them: only the first names a worker
# sees that look like GraphQL names of modest length get series of their own, every other
# name is counted under OTHER_OPERATION, so clients cannot grow /metrics without bound.
OTHER_OPERATION = "_other"
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")


class OperationLabels:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, name: str | None) -> str:
        if name is None:
            return "-"
        if name in self._known:
            return name
        if not _NAME.fullmatch(name):
            return OTHER_OPERATION
        with self._lock:
            if len(self._known) >= self.limit:
                return OTHER_OPERATION
            self._known.add(name)
        return name


class OperationSeries:
    """One operation label's request counter (status 200) and latency histogram series,
    looked up once: ``labels()`` costs more than the update it leads to, and a cache hit is
    answered in tens of microseconds."""

    __slots__ = ("latency", "ok")

    def __init__(self, name: str) -> None:
        self.ok = REQUESTS.labels(name, "200")
        self.latency = LATENCY.labels(name)


_SERIES: dict[str, OperationSeries] = {}  # bounded: names come from OperationLabels
CACHE_HITS = CACHE.labels("hit")


def series(name: str) -> OperationSeries:
    found = _SERIES.get(name)
    if found is None:
        found = _SERIES.setdefault(name, OperationSeries(name))
    return found


def metrics_payload() -> tuple[bytes, str]:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def start_metrics_server(host: str, port: int) -> None:
    """Serve /metrics on its own listener (a private port), aggregated over the workers when
    PROMETHEUS_MULTIPROC_DIR is set; runs in a daemon thread of the calling process."""
    from prometheus_client import start_http_server

    registry = None
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    if registry is None:
        start_http_server(port, addr=host)
    else:
        start_http_server(port, addr=host, registry=registry)


def configure_logging(json: bool) -> None:
    """JSON lines on stderr (one object per event), or readable console lines. JSON is
    encoded by orjson straight to bytes and levels below INFO are filtered before any
    processing: every request logs a line, so this is on the hot path (structlog's own
    performance advice)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr, force=True)
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    factory: Any
    if json:
        processors.append(structlog.processors.JSONRenderer(serializer=orjson.dumps))
        factory = structlog.BytesLoggerFactory(file=sys.stderr.buffer)
    else:
        processors.append(structlog.dev.ConsoleRenderer())
        factory = structlog.PrintLoggerFactory(file=sys.stderr)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )


log = structlog.get_logger("movies")
