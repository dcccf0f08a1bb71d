"""ETL faults: a run killed part-way and unusable input leave the published build as it was.

The previous build is a copy of the session's sample build, published at ``<tmp>/build`` with
the real ``etl.publish.publish``. The kill tests start the real ``movies etl`` console script,
wait until its temporary version directory under ``<tmp>/.build-versions/`` holds a file (the
run is writing its tables), and signal it there; the three runs (SIGKILL, SIGTERM, SIGINT) go
concurrently, since most of each one's time is interpreter start-up. The corrupt-input tests
call the same command in-process.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from data.catalog import Catalog
from data.paths import SAMPLE_DIR
from etl import publish as pub
from server.cli import EXIT_INPUT, app

MOVIES_CLI = Path(sys.executable).with_name("movies")
REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 240  # interpreter start-up plus reading and transforming the sample


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Snapshot:
    target: str  # what the build symlink points to
    files: dict[str, str]  # relative path -> sha256 of every file in the build
    versions: frozenset[str]  # entries of the versions directory


def _snapshot(out: Path) -> Snapshot:
    build = out.resolve(strict=True)
    files = {str(p.relative_to(build)): _sha256(p) for p in sorted(build.rglob("*"))
             if p.is_file()}
    return Snapshot(os.readlink(out), files,
                    frozenset(p.name for p in pub.versions_dir(out).iterdir()))


def _publish_copy(sample_build: Path, out: Path) -> Snapshot:
    """Publish a copy of the sample build at ``out`` the way the ETL does; snapshot it."""
    version = pub.versions_dir(out) / "20000101T000000000000-0ldb0ild.tmp"
    shutil.copytree(sample_build.resolve(strict=True), version)
    pub.publish(version, out)
    snap = _snapshot(out)
    assert "manifest.json" in snap.files and "movies.parquet" in snap.files
    return snap


def _assert_servable(out: Path, before: Snapshot) -> None:
    assert out.is_symlink()
    assert os.readlink(out) == before.target
    after = _snapshot(out)
    assert after.files == before.files  # same files, byte for byte (manifest included)
    catalog = Catalog.load(out)
    assert catalog.n_movies > 4000
    assert catalog.manifest["tables"]["movies"] == catalog.n_movies


# --- a run killed part-way -------------------------------------------------------------------


@dataclass
class KilledRun:
    sig: signal.Signals
    out: Path
    before: Snapshot
    proc: subprocess.Popen[bytes] | None = None
    stderr: Path | None = None
    temp_seen: list[str] = field(default_factory=list)  # the run's version dir, when signalled
    problem: str | None = None


def _watch_and_signal(run: KilledRun) -> None:
    """Wait for the run's temporary build to hold a file, then send the signal."""
    assert run.proc is not None
    versions = pub.versions_dir(run.out)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if run.proc.poll() is not None:
            run.problem = f"exited with {run.proc.returncode} before writing a build"
            return
        for entry in versions.iterdir():
            if entry.suffix == ".tmp" and any(entry.iterdir()):
                run.proc.send_signal(run.sig)
                run.temp_seen.append(entry.name)
                return
        time.sleep(0.005)
    run.proc.kill()
    run.problem = f"no temporary build within {START_TIMEOUT_S} s"


@pytest.fixture(scope="module")
def killed_runs(tmp_path_factory: pytest.TempPathFactory,
                sample_build: Path) -> Iterator[dict[signal.Signals, KilledRun]]:
    assert MOVIES_CLI.is_file(), MOVIES_CLI
    runs: dict[signal.Signals, KilledRun] = {}
    for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
        root = tmp_path_factory.mktemp(f"killed-{sig.name.lower()}")
        out = root / "build"
        runs[sig] = KilledRun(sig, out, _publish_copy(sample_build, out))
    threads = []
    for run in runs.values():
        run.stderr = run.out.parent / "etl.stderr"
        with run.stderr.open("wb") as err:
            run.proc = subprocess.Popen([str(MOVIES_CLI), "etl", "--out", str(run.out)],
                                        cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
        threads.append(threading.Thread(target=_watch_and_signal, args=(run,)))
        threads[-1].start()
    try:
        for thread in threads:
            thread.join()
        for run in runs.values():
            assert run.proc is not None
            run.proc.wait(timeout=60)
        yield runs
    finally:
        for run in runs.values():
            if run.proc is not None and run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT],
                         ids=lambda s: s.name)
def test_killed_run_leaves_previous_build(killed_runs: dict[signal.Signals, KilledRun],
                                          sig: signal.Signals) -> None:
    run = killed_runs[sig]
    assert run.proc is not None and run.stderr is not None
    assert run.problem is None, (run.problem, run.stderr.read_text()[-2000:])
    assert run.temp_seen, "never saw the run's temporary build"
    if sig in (signal.SIGINT, signal.SIGTERM):
        # Ctrl-C, and SIGTERM which the CLI turns into an exit: the run removes its partial
        # build on the way out and fails.
        assert run.proc.returncode != 0
        assert not (pub.versions_dir(run.out) / run.temp_seen[0]).exists()
    else:
        assert run.proc.returncode == -sig  # it really died by the signal
        # Nothing could clean up: the partial build is left behind, unpublished.
        assert (pub.versions_dir(run.out) / run.temp_seen[0]).is_dir()
    _assert_servable(run.out, run.before)


def test_killed_run_leaves_no_stray_links(killed_runs: dict[signal.Signals, KilledRun]) -> None:
    for run in killed_runs.values():
        names = {p.name for p in run.out.parent.iterdir()}
        assert not [n for n in names if n.startswith(".build.link-")], names


# --- unusable input --------------------------------------------------------------------------


def _truncated_gzip(path: Path) -> None:
    data = (SAMPLE_DIR / "movies_dataset.csv.gz").read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flipped_gzip(path: Path) -> None:
    data = bytearray((SAMPLE_DIR / "movies_dataset.csv.gz").read_bytes())
    for i in range(4000, 4100):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _garbage(path: Path) -> None:
    path.write_bytes(random.Random(7).randbytes(200_000))


def _gzip_magic_then_garbage(path: Path) -> None:
    path.write_bytes(b"\x1f\x8b" + random.Random(8).randbytes(50_000))


def _gzipped_garbage(path: Path) -> None:
    path.write_bytes(gzip.compress(random.Random(9).randbytes(50_000)))


def _nul_bytes(path: Path) -> None:
    path.write_bytes(b"\x00" * 10_000)


def _utf16(path: Path) -> None:
    text = gzip.decompress((SAMPLE_DIR / "credits.csv.gz").read_bytes()).decode("utf-8")
    path.write_bytes(text[:100_000].encode("utf-16"))


CORRUPT: list[object] = [
    pytest.param("movies", "movies.csv.gz", _truncated_gzip, "not a readable CSV file",
                 id="movies-truncated-gzip"),
    pytest.param("movies", "movies.csv.gz", _flipped_gzip, "not a readable CSV file",
                 id="movies-corrupt-deflate-stream"),
    pytest.param("movies", "movies.csv", _garbage, "not UTF-8", id="movies-binary-garbage"),
    pytest.param("credits", "credits.csv.gz", _gzip_magic_then_garbage,
                 "not a readable CSV file", id="credits-gzip-magic-then-garbage"),
    pytest.param("credits", "credits.csv.gz", _gzipped_garbage, "not UTF-8",
                 id="credits-gzipped-garbage"),
    pytest.param("keywords", "keywords.csv", _nul_bytes, "missing columns",
                 id="keywords-nul-bytes"),
    pytest.param("credits", "credits.csv", _utf16, "not UTF-8", id="credits-utf16"),
]


@pytest.mark.parametrize(("kind", "name", "make", "problem"), CORRUPT)
def test_corrupt_input_exits_2_and_changes_nothing(
    tmp_path: Path, sample_build: Path, kind: str, name: str,
    make: Callable[[Path], None], problem: str,
) -> None:
    out = tmp_path / "build"
    before = _publish_copy(sample_build, out)
    bad = tmp_path / name
    make(bad)
    bad_sha = _sha256(bad)
    samples = {p: _sha256(p) for p in SAMPLE_DIR.iterdir() if p.is_file()}

    result = CliRunner().invoke(app, ["etl", f"--{kind}", str(bad), "--out", str(out)])

    assert result.exit_code == EXIT_INPUT, (result.stdout, result.stderr, result.exception)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"error: {bad}: "), errors[0]
    assert problem in errors[0]
    assert "Traceback" not in result.stderr
    assert _sha256(bad) == bad_sha  # the input itself is only read
    assert {p: _sha256(p) for p in samples} == samples
    _assert_servable(out, before)
    assert _snapshot(out).versions == before.versions  # not even a temporary build was made
