"""The command line refuses bad options with one ``error:`` line and exit code 2, before it
does anything (no build written, no server started, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

MISSING = "/nonexistent/movies-graph-test"

REFUSED = [
    (["serve", "--port", "80000"], "--port"),
    (["serve", "--port", "0"], "--port"),
    (["serve", "--port", "http"], "--port"),
    (["serve", "--workers", "0"], "--workers"),
    (["serve", "--data", MISSING], "--data"),
    (["serve", "--profile", "prod"], "--profile"),
    (["serve", "--bogus"], "--bogus"),
    (["evaluate", "--data", MISSING], "--data"),
    (["evaluate", "--ratings", MISSING, "--links", MISSING], "--ratings"),
    (["evaluate", "--ratings", __file__], "--links"),
    (["eda", "--data", MISSING], "--data"),
    # The ETL names the missing file itself (its own one-line InputError, also exit 2).
    (["etl", "--movies", MISSING], MISSING),
    (["etl", "--credits", MISSING], MISSING),
    (["etl", "--keywords", MISSING], MISSING),
    (["synth", "--out", MISSING, "--scale", "11"], "--scale"),
    (["synth", "--out", MISSING, "--scale", "0"], "--scale"),
    (["synth", "--out", MISSING, "--scale", "-1"], "--scale"),
    (["bench", "--scale", "20"], "--scale"),
    (["bench", "--repeats", "0"], "--repeats"),
    (["bench", "--seconds", "0"], "--seconds"),
    (["bench", "--levels", "1,x"], "--levels"),
    (["bench", "--levels", "0,8"], "--levels"),
    (["bench", "--growth", "0.5,20"], "--growth"),
    (["bench", "--max-baseline", "0"], "--max-baseline"),
    (["bench", "--soak-seconds", "-5"], "--soak-seconds"),
    (["bench", "--search", "--data", MISSING], "--data"),
    (["no-such-command"], "no-such-command"),
]


def invoke(args: list[str]) -> object:
    # A wide terminal, so Rich does not wrap help lines inside its boxes.
    return CliRunner().invoke(app, args, prog_name="movies", env={"COLUMNS": "200"})


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(("args", "named"), REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_bad_option_is_one_line_and_exit_2(args: list[str], named: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # anything written by mistake would land here
    result = invoke(args)
    assert result.exit_code == 2, result.output
    lines = _lines(result.output)
    assert len(lines) == 1, result.output
    assert lines[0].startswith(("movies", "error:")) and "error:" in lines[0], lines[0]
    assert named in lines[0]
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []
    assert not Path(MISSING).exists()


@pytest.mark.parametrize(("variable", "value"), [("MOVIES_PROFILE", "prod"),
                                                   ("MOVIES_PORT", "99999"),
                                                   ("MOVIES_WORKERS", "many")])
def test_bad_environment_is_one_line_and_exit_2(variable: str, value: str, sample_build: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(variable, value)
    result = invoke(["serve", "--data", str(sample_build)])
    assert result.exit_code == 2, result.output
    lines = _lines(result.output)
    assert len(lines) == 1 and variable.removeprefix("MOVIES_").lower() in lines[0].lower(), lines


def test_version() -> None:
    from importlib.metadata import version

    result = invoke(["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"movies-graph {version('movies-graph')}"


def test_help_shows_defaults() -> None:
    result = invoke(["serve", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for default in ("default 8000", "default 127.0.0.1", "default 1", "default development",
                    "1<=x<=65535", "development|production"):
        assert default in text, default
    bench = " ".join(invoke(["bench", "--help"]).output.split())
    assert "[default: 3]" in bench and "[default: 1,8,32,64]" in bench
