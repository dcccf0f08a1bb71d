"""`movies serve`: production refuses a missing or stale build instead of building one."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
from typer.testing import CliRunner

from cli.main import EXIT_NO_BUILD, app


def test_production_refuses_a_missing_build(tmp_path: Path) -> None:
    empty = tmp_path / "build"
    empty.mkdir()
    result = CliRunner().invoke(app, ["serve", "--profile", "production", "--data", str(empty)])
    assert result.exit_code == EXIT_NO_BUILD
    assert "no build at" in result.output and "movies etl" in result.output
    assert list(empty.iterdir()) == []  # nothing was built


def test_production_refuses_a_build_of_another_contract(sample_build: Path,
                                                        tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(sample_build.resolve(), old)
    manifest = orjson.loads((old / "manifest.json").read_bytes())
    (old / "manifest.json").write_bytes(orjson.dumps(manifest | {"contract_version": 1}))
    result = CliRunner().invoke(app, ["serve", "--profile", "production", "--data", str(old)])
    assert result.exit_code == EXIT_NO_BUILD
    assert "table contract 1" in result.output


def test_production_refuses_a_build_without_serving_image(sample_build: Path,
                                                          tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(sample_build.resolve(), bare)
    shutil.rmtree(bare / "serving")
    result = CliRunner().invoke(app, ["serve", "--profile", "production", "--data", str(bare)])
    assert result.exit_code == EXIT_NO_BUILD
    assert "no serving image" in result.output


def test_production_refuses_a_serving_image_of_another_format(sample_build: Path,
                                                              tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(sample_build.resolve(), old)
    meta = old / "serving" / "image.json"
    meta.write_bytes(orjson.dumps(orjson.loads(meta.read_bytes()) | {"format": 1}))
    result = CliRunner().invoke(app, ["serve", "--profile", "production", "--data", str(old)])
    assert result.exit_code == EXIT_NO_BUILD
    assert "serving image of format 1" in result.output and "movies etl" in result.output


def test_workers_keep_the_pinned_build_until_sighup(sample_build: Path, tmp_path: Path) -> None:
    """A publish does not mix builds behind one port: every worker serves the build the link
    pointed to at start (moviesLike included, whose vocabulary is mapped at attach), and
    SIGHUP moves all of them to the new one."""
    import os
    import signal
    import time

    import httpx
    from serving import free_port, serve, stop, wait_ready

    first = tmp_path / "v1"
    second = tmp_path / "v2"
    shutil.copytree(sample_build.resolve(), first)
    shutil.copytree(sample_build.resolve(), second)
    manifest = orjson.loads((second / "manifest.json").read_bytes())
    (second / "manifest.json").write_bytes(orjson.dumps(
        manifest | {"built_at": "2030-01-01T00:00:00+00:00"}))
    link = tmp_path / "build"
    link.symlink_to(first)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = serve(link, port, tmp_path / "serve.log", "--workers", "2")

    def built_at() -> set[str]:
        seen = set()
        with httpx.Client(timeout=5) as client:
            for _ in range(30):  # new connections spread over both workers
                seen.add(client.get(url + "/readyz", headers={"connection": "close"})
                         .json()["built_at"])
        return seen

    like = {"query": '{ moviesLike(text: "toys come to life", n: 1) { movie { title } } }'}
    log = tmp_path / "serve.log"

    def workers_started() -> int:
        return log.read_text(errors="replace").count("Application startup complete.")

    try:
        wait_ready(url + "/readyz", process)
        # Both workers attached (one answering is enough for /readyz): a worker still
        # starting would look for the pinned build after it is pruned below.
        deadline = time.monotonic() + 120
        while workers_started() < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert workers_started() == 2
        before = built_at()
        link.unlink()
        link.symlink_to(second)  # a new build is published
        shutil.rmtree(first)  # ... and the old one pruned: mapped files stay readable
        assert built_at() == before
        answer = httpx.post(url + "/graphql", json=like, timeout=10).json()
        assert "errors" not in answer, answer
        os.kill(process.pid, signal.SIGHUP)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and built_at() != {"2030-01-01T00:00:00+00:00"}:
            time.sleep(1)
        assert built_at() == {"2030-01-01T00:00:00+00:00"}
        assert "errors" not in httpx.post(url + "/graphql", json=like, timeout=10).json()
    finally:
        stop(process)
