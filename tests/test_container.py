"""The real image, built with podman and run under a memory limit on the embedded sample.

Builds the Dockerfile (on a local Debian stand-in for python:3.11-slim when the machine cannot
pull from a registry, see bench/container.py), then checks that a container: runs the
production profile as the app user, serves the baked build under `--memory 512m`, serves a
build mounted read-only (the compose and Kubernetes variant), and that the image's `movies
etl` works as the one-off job those variants document, on a read-only root filesystem.
Everything made here (containers, images, and the base when this test made it) is removed.

Skipped only where podman cannot run at all; `.ci/run` installs podman, runc and debootstrap.
Takes several minutes (debootstrap ~80 s when the base is missing, the image build ~5 min).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench import container as ct

pytestmark = [pytest.mark.container, pytest.mark.timeout(3600)]

MEMORY = "512m"
TOY_STORY = """{ movie(id: 862) { tmdbId title releaseDate
  cast(first: 1) { nodes { actor { name } } } } }"""
APP_UID = 10001


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    reason = ct.unusable_reason()
    if reason is not None:
        pytest.skip(reason)
    made_base = ct.ensure_base_image()
    tag = f"localhost/movies-graph:test-{os.getpid()}"
    try:
        ct.build_image(tag)
        yield tag
    finally:
        ct.remove_image(tag)
        if made_base:
            ct.remove_image(ct.BASE_IMAGE)


def _image_cmd(tag: str) -> list[str]:
    import json

    out = ct.podman("image", "inspect", "-f", "{{json .Config.Cmd}}", tag).stdout
    return list(json.loads(out))


def _graphql(url: str, query: str) -> dict[str, Any]:
    response = httpx.post(url + "/graphql", json={"query": query}, timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _assert_serves_toy_story(url: str) -> None:
    body = _graphql(url, TOY_STORY)
    assert "errors" not in body, body
    movie = body["data"]["movie"]
    assert movie["tmdbId"] == 862 and movie["title"] == "Toy Story"
    assert movie["releaseDate"] == "1995-10-30"
    assert movie["cast"]["nodes"][0]["actor"]["name"] == "Tom Hanks"


def _serve_argv(cmd: list[str], *extra: str) -> list[str]:
    """The image's own command on loopback (host network: the machine is shared), plus
    ``extra``. The port goes in MOVIES_PORT, which the HEALTHCHECK follows too."""
    argv = list(cmd)
    argv[argv.index("--host") + 1] = "127.0.0.1"
    return [*argv, *extra]


def test_image_defaults_to_production_and_keeps_the_healthcheck(image: str) -> None:
    assert _image_cmd(image) == ["movies", "serve", "--profile", "production", "--host",
                                 "0.0.0.0"]
    health = ct.podman("image", "inspect", "-f", "{{json .Config.Healthcheck}}", image).stdout
    assert "/healthz" in health


def test_baked_build_serves_under_a_memory_limit(image: str) -> None:
    from bench import measure

    port = measure.free_port()
    argv = _serve_argv(_image_cmd(image), "--workers", "2")
    with ct.run_container(image, argv, port, MEMORY, env={"MOVIES_PORT": str(port)}) as box:
        ready = ct.wait_ready(box, timeout=300)
        assert ready is not None, f"not ready: {box.state()} {box.logs()}"
        _assert_serves_toy_story(box.url)
        # Production: introspection is off.
        body = _graphql(box.url, "{ __schema { queryType { name } } }")
        assert body.get("errors"), body
        assert ct.podman("healthcheck", "run", box.name, check=False).returncode == 0
        processes = ct.process_memory(box)
        workers = [p for p in processes if p["role"] == "worker"]
        assert len(workers) == 2, processes
        for proc in processes:
            status = Path(f"/proc/{proc['pid']}/status").read_text()
            uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
            assert uid_line.split()[1] == str(APP_UID), proc
        cgroup = ct.cgroup_memory(box)
        assert cgroup.get("limit_mb") == 512, cgroup
        assert not cgroup.get("oom_kills"), cgroup
        assert box.state()[0] == "running"


def test_one_off_etl_job_then_replicas_serve_its_build_read_only(
    image: str, tmp_path: Path
) -> None:
    """The compose/k8s variant: `movies etl` in the image writes a build into a volume (raw
    files read-only, root filesystem read-only), then a server mounts it read-only."""
    from bench import measure
    from data.paths import SAMPLE_DIR

    volume = tmp_path / "warehouse"
    volume.mkdir()
    os.chown(volume, APP_UID, APP_UID)
    job = ct.podman(
        "run", "--rm", "--network", "none", *ct.ULIMITS, "--memory", "2g", "--read-only",
        "--tmpfs", "/tmp", "-v", f"{SAMPLE_DIR}:/app/data/raw:ro",
        "-v", f"{volume}:/var/lib/movies", image,
        "movies", "etl", "--out", ct.MOUNTED_BUILD, check=False, timeout=900)
    assert job.returncode == 0, job.stdout[-2000:] + job.stderr[-2000:]
    build = volume / "build"
    assert build.is_symlink() and (build / "manifest.json").is_file()

    port = measure.free_port()
    argv = _serve_argv(_image_cmd(image), "--workers", "1", "--data", ct.MOUNTED_BUILD)
    name = f"movies-test-ro-{os.getpid()}"
    args = ["run", "-d", "--name", name, "--network", "host", *ct.ULIMITS,
            "--memory", MEMORY, "--memory-swap", MEMORY, "--read-only", "--tmpfs", "/tmp",
            "-e", f"MOVIES_PORT={port}", "-v", f"{volume}:/var/lib/movies:ro", image, *argv]
    ct.podman(*args)
    box = ct.Container(name, port)
    try:
        ready = ct.wait_ready(box, timeout=300)
        assert ready is not None, f"not ready: {box.state()} {box.logs()}"
        _assert_serves_toy_story(box.url)
    finally:
        ct.podman("rm", "-f", "-t", "5", name, check=False)
    shutil.rmtree(volume, ignore_errors=True)


def test_no_container_is_left_behind(image: str) -> None:
    time.sleep(0.5)
    names = subprocess.run([*ct.PODMAN, "ps", "-a", "--format", "{{.Names}}"],
                           capture_output=True, text=True, check=False).stdout.split()
    assert not [n for n in names if n.startswith(("movies-bench-", "movies-test-"))
                and str(os.getpid()) in n]


def test_smaps_rollup_of_a_process_that_owns_known_memory() -> None:
    """The memory reader itself (no podman needed): 64 MB written by a child are private to it
    and counted in its USS, PSS and RSS."""
    import sys

    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; b = bytearray(64 * 2**20); b[::4096] = "
         "b'x' * len(b[::4096]); print('ok', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ok"
        memory = ct.smaps_rollup(child.pid)
    finally:
        child.kill()
        child.wait()
    assert memory["uss_mb"] >= 64
    assert memory["uss_mb"] <= memory["pss_mb"] + 0.1 <= memory["rss_mb"] + 0.2
    assert memory["rss_mb"] < 64 + 100  # the interpreter and its libraries on top


def test_markdown_reports_a_kill_without_soak_figures() -> None:
    killed = {"memory_limit": "512m", "workers": 2, "movies": 45346, "connections": 32,
              "seconds": 60.0, "outcome": "killed", "status": "running", "exit_code": 0,
              "oom_kills": 3, "startup": {"max_worker_uss_mb": 434.8, "max_worker_rss_mb": 472.4,
                                          "cgroup_peak_mb": 512.0},
              "cgroup_at_start": {}}
    text = ct.markdown(killed)
    assert "killed" in text and "OOM kills 3" in text and "512.0 MB" in text
    assert "requests/s" not in text
    assert not ct.passed(killed)
