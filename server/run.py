"""The uvicorn launcher: worker processes under a supervisor that pins the build.

The build link (``data/build``) is resolved once, here, and every worker is handed that
version directory, so a worker that is replaced after a crash serves the same build as the
others even if a newer one was published meanwhile. SIGHUP is the documented reload: the
link is resolved again and the workers are restarted one by one onto the new version.
"""

from __future__ import annotations

import os
import socket
import tempfile
from dataclasses import replace
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess

from data.build import pin
from server.settings import Settings
from server.transport import uvicorn_options

# The supervisor imports no more than it needs before its workers can start (start-up to
# ready is the supervisor's imports plus a worker's): logging and metrics are imported where
# they are used.


class PinnedWorkers(Multiprocess):
    """uvicorn's supervisor, re-pinning the build before a SIGHUP restart."""

    def __init__(self, config: uvicorn.Config, link: Path, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets=sockets)
        self.link = link

    def handle_hup(self) -> None:
        import structlog

        pinned = pin(self.link)
        # New workers are spawned with the supervisor's environment as it is now.
        os.environ["MOVIES_DATA"] = str(pinned)
        structlog.get_logger("movies.run").warning("reload", build=str(pinned))
        super().handle_hup()


def serve(settings: Settings) -> None:
    link = settings.data
    settings = replace(settings, data=pin(link))
    os.environ.update(settings.to_env())
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Workers count for themselves; /metrics aggregates the directory they share.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="movies-metrics-")
    if settings.metrics_port:
        from server.observability import start_metrics_server

        start_metrics_server(settings.metrics_host, settings.metrics_port)
    config = uvicorn.Config(
        "server.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=False,
        # info: the supervisor's "Child process [pid] died" is how a worker's death is logged.
        log_level="info",
        timeout_worker_healthcheck=30,
        # Connection guards: idle keep-alive, a deadline for request heads, and a cap on
        # connections per worker.
        **uvicorn_options(settings),
    )
    # Always supervised, even with one worker: a dead worker is replaced and SIGHUP reloads.
    PinnedWorkers(config, link, sockets=[config.bind_socket()]).run()
