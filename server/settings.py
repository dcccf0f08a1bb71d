"""Server settings: defaults per profile, overridden by MOVIES_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

# Not schema.images: the supervisor reads settings, and importing schema/ builds every type.
from data.paths import DEFAULT_BUILD, TMDB_IMAGE_BASE_URL

PROFILES = ("development", "production")


@dataclass(frozen=True)
class Settings:
    profile: str = "development"
    data: Path = DEFAULT_BUILD
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    graphiql: bool = True
    introspection: bool = True
    field_suggestions: bool = True
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    max_body_bytes: int = 256 * 1024
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 3000
    max_cost: int = 25_000
    max_batch: int = 10
    timeout_s: float = 5.0
    cache_bytes: int = 64 * 1024 * 1024  # counted as memory held: bodies, keys and entries
    cache_entries: int = 100_000
    apq_entries: int = 10_000
    apq_bytes: int = 16 * 1024 * 1024
    cache_max_age_s: int = 300
    log_json: bool = True
    # Execution runs in a pool of threads off the event loop; at most threads + queue
    # requests execute or wait per worker, the next ones are answered 503 at once.
    exec_threads: int = 4
    exec_queue: int = 64
    # Operations priced at heavy_cost or more execute at most heavy_slots at a time per
    # worker (server/lanes.py), so cheap ones are not starved of the interpreter lock.
    heavy_cost: int = 2_000
    heavy_slots: int = 1
    # How long a thread may hold the interpreter lock while another waits for it (Python's
    # default is 5 ms): the event loop's wait for its turn, behind busy execution threads.
    switch_interval_ms: float = 1.0
    # /metrics on the public port (development), or only on a separate listener bound to
    # metrics_host:metrics_port when that port is set (0: none).
    metrics_public: bool = True
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    # Distinct operationName labels per worker; others are counted under one label.
    metrics_operations: int = 100
    # Connection guards (uvicorn): idle keep-alive, request headers and body must arrive
    # within these times; concurrent connections per worker are capped.
    keep_alive_s: int = 5
    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    max_connections: int = 1000
    # TMDB's documented image base URL; posterUrl / profileUrl append size and path to it.
    image_base_url: str = TMDB_IMAGE_BASE_URL

    @classmethod
    def for_profile(cls, profile: str) -> Settings:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}")
        if profile == "production":
            return cls(profile=profile, graphiql=False, introspection=False,
                       field_suggestions=False, metrics_public=False)
        return cls(profile=profile)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Profile defaults, then MOVIES_<FIELD> variables, then explicit overrides."""
        env = os.environ if environ is None else environ
        settings = cls.for_profile(env.get("MOVIES_PROFILE", "development"))
        # Keyed by field name, so each value has its own field's type.
        changes: dict[str, Any] = {}
        for spec in fields(cls):
            raw = env.get(f"MOVIES_{spec.name.upper()}")
            if raw is None or spec.name == "profile":
                continue
            current = getattr(settings, spec.name)
            if isinstance(current, bool):
                changes[spec.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif isinstance(current, tuple):
                changes[spec.name] = tuple(o.strip() for o in raw.split(",") if o.strip())
            elif isinstance(current, Path):
                changes[spec.name] = Path(raw)
            else:
                try:
                    changes[spec.name] = type(current)(raw)
                except ValueError:
                    raise ValueError(f"MOVIES_{spec.name.upper()}={raw!r} is not a valid "
                                     f"{type(current).__name__}") from None
        changes.update({k: v for k, v in overrides.items() if v is not None})
        return replace(settings, **changes)

    def to_env(self) -> dict[str, str]:
        """The settings as MOVIES_* variables, so worker processes rebuild the same ones."""
        env = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, tuple):
                value = ",".join(value)
            env[f"MOVIES_{spec.name.upper()}"] = str(value)
        return env
