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
