"""Helpers for tests that start a real ``movies serve`` process on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        if process.poll() is not None:
            raise RuntimeError(f"movies serve exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("movies serve did not get ready in time")


def serve(build: Path, port: int, log: Path, *extra: str,
          env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``movies serve`` on 127.0.0.1:port over a build, its output in ``log``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MOVIES_")}
    environment.update(env or {})
    movies = Path(sys.executable).with_name("movies")
    return subprocess.Popen(
        [str(movies), "serve", "--host", "127.0.0.1", "--port", str(port), "--data", str(build),
         *extra],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env=environment,
        start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
