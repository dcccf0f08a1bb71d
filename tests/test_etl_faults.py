"""ETL faults: a run killed part-way and unusable input leave the published build as it was.

The previous build is a copy of the session's sample build, published at ``<tmp>/build`` with
the real ``etl.publish.publish``. The kill tests start the real ``movies etl`` console script,
wait until its temporary version directory under ``<tmp>/.build-versions/`` holds a file (the
run is writing its tables), and signal it there; the three runs (SIGKILL, SIGTERM, SIGINT) go
concurrently, since most of each one's time is interpreter start-up. The corrupt-input tests
call the same command in-process.
"""

from __future__ import annotations

import csv
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
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from cli.main import EXIT_INPUT, app
from data.catalog import Catalog
from data.paths import SAMPLE_DIR
from etl import extract
from etl import publish as pub

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


# --- one bad record is rejected, not the file ---------------------------------------------------


def _keywords(path: Path, body: bytes) -> Path:
    path.write_bytes(b"id,keywords\n" + body)
    return path


def _rejects(raw: extract.RawTable) -> list[tuple[int, str, str | None, str]]:
    return raw.ragged


def test_broken_quote_rejects_its_record_and_keeps_the_rest(tmp_path: Path) -> None:
    path = _keywords(tmp_path / "keywords.csv", (
        b"862,\"[{'id': 931, 'name': 'jealousy'}]\"\n"
        b"8844,\"[{'id': 10090, 'name': 'board game'}]\n"  # the quote never closes here ...
        b"15602,\"[{'id': 1495, 'name': 'fishing'}]\"\n"  # ... so it swallows this line
        b"31357,\"[]\"\n"
    ))
    raw = extract.read_raw(path, "keywords")
    assert raw.frame["id"].to_list() == ["862", "15602", "31357"]
    assert raw.frame["record"].to_list() == [1, 3, 4]
    [(record, raw_id, reason, detail)] = _rejects(raw)
    assert (record, raw_id, reason) == (2, "8844", extract.BROKEN_QUOTING)
    assert detail.startswith("line 3: ")
    assert raw.records == 4  # in = kept + rejected


def test_non_utf8_byte_rejects_its_record_and_keeps_the_rest(tmp_path: Path) -> None:
    path = _keywords(tmp_path / "keywords.csv",
                     b"862,[]\n8844,\"[{'id': 1, 'name': 'caf\xe9'}]\"\n15602,[]\n")
    raw = extract.read_raw(path, "keywords")
    assert raw.frame["id"].to_list() == ["862", "15602"]
    assert _rejects(raw) == [(2, "8844", extract.NOT_UTF8, "line 3: bytes that are not UTF-8")]


def test_mostly_unreadable_file_is_refused(tmp_path: Path) -> None:
    latin1 = "".join(f"{i},\"[{{'id': {i}, 'name': 'caf\u00e9'}}]\"\n" for i in range(1, 9))
    path = _keywords(tmp_path / "keywords.csv", b"1,[]\n" + latin1.encode("latin-1"))
    with pytest.raises(extract.InputError, match=r"not UTF-8 text \(8 of 9 records unreadable"):
        extract.read_raw(path, "keywords")


def test_duplicate_header_names_are_refused(tmp_path: Path) -> None:
    # Regression: a second id column reached the recommender fit and crashed it.
    path = tmp_path / "keywords.csv"
    path.write_text("id,keywords,id\n862,[],863\n")
    with pytest.raises(extract.InputError) as info:
        extract.read_raw(path, "keywords")
    assert info.value.problem == "duplicate column names: id"


def test_huge_cell_rejects_its_record(tmp_path: Path) -> None:
    huge = b'8844,"' + b"x" * (10 << 20) + b'"\n'  # a 10 MB cell
    path = _keywords(tmp_path / "keywords.csv", b"862,[]\n" + huge + b"15602,[]\n")
    raw = extract.read_raw(path, "keywords")
    assert raw.frame["id"].to_list() == ["862", "15602"]
    [(record, raw_id, reason, detail)] = _rejects(raw)
    assert (record, raw_id, reason) == (2, "8844", extract.CELL_TOO_LARGE)
    assert detail.startswith("line 3: ")
    assert raw.frame.select(pl.col("keywords").str.len_chars().max()).item() == 2


def test_quote_that_never_closes_swallows_no_more_than_the_cap(tmp_path: Path) -> None:
    rest = b"".join(b"%d,[]\n" % i for i in range(100, 100 + 150_000))  # ~1.4 MB, no quotes
    path = _keywords(tmp_path / "keywords.csv", b"862,\"[\n" + rest)
    raw = extract.read_raw(path, "keywords")
    assert raw.frame.height == 150_000  # every later record is read again and kept
    assert [r[2] for r in _rejects(raw)] == [extract.CELL_TOO_LARGE]


def _small_inputs(directory: Path, *broken: bytes) -> tuple[Path, Path]:
    """Real sample rows for Toy Story and Jumanji, with the ``broken`` records between."""
    directory.mkdir(parents=True, exist_ok=True)
    with gzip.open(SAMPLE_DIR / "movies_dataset.csv.gz", "rb") as handle:
        lines = handle.read().split(b"\n")
    header = lines[0]
    toy = next(line for line in lines if b",862," in line and b"Toy Story" in line)
    jumanji = next(line for line in lines if b",8844," in line and b"Jumanji" in line)
    movies = directory / "movies.csv"
    movies.write_bytes(b"\n".join([header, toy, *broken, jumanji]) + b"\n")
    with gzip.open(SAMPLE_DIR / "credits.csv.gz", "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        c_header = next(reader)
        rows = [row for row in reader if row[c_header.index("id")] in ("862", "8844")]
    credits = directory / "credits.csv"
    with credits.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(c_header)
        writer.writerows(rows)
    return movies, credits


def test_run_accounts_for_unreadable_records(tmp_path: Path) -> None:
    from etl.inputs import Inputs
    from etl.pipeline import run

    movies, credits = _small_inputs(tmp_path / "raw", b"False,,0,[],,15602,x\xff",
                                    b'False,,0,"[]"x,,31357,y')
    manifest = run(Inputs(movies, credits, None), tmp_path / "build")
    summary = manifest["summary"]["movies"]
    assert summary == {"in": 4, "kept": 2, "rejected": 2,
                       "by_reason": {extract.BROKEN_QUOTING: 1, extract.NOT_UTF8: 1}}
    rejects = pl.read_parquet(tmp_path / "build" / "rejects.parquet").sort("record")
    assert rejects.select("record", "raw_id", "reason").rows() == [
        (2, "15602", extract.NOT_UTF8), (3, "31357", extract.BROKEN_QUOTING)]
    assert rejects["detail"].to_list() == [
        "line 3: bytes that are not UTF-8", "line 4: ',' expected after '\"'"]
    catalog = Catalog.load(tmp_path / "build")
    assert catalog.n_movies == 2


# --- one run at a time per output --------------------------------------------------------------

HOLD_LOCK = """
import sys, time
from pathlib import Path
from etl import publish as pub
version = pub.new_version(Path(sys.argv[1]))
print(version, flush=True)
time.sleep(120)
"""


def test_second_run_fails_clearly_and_next_run_cleans_up_a_killed_one(tmp_path: Path) -> None:
    movies, credits = _small_inputs(tmp_path / "raw")
    out = tmp_path / "build"
    args = ["etl", "--movies", str(movies), "--credits", str(credits), "--out", str(out)]
    assert CliRunner().invoke(app, args).exit_code == 0
    before = _snapshot(out)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        held = Path(holder.stdout.readline().strip())  # the run is writing its build
        assert held.is_dir() and held.suffix == ".tmp"

        second = CliRunner().invoke(app, args)
        assert second.exit_code == EXIT_INPUT, second.output
        errors = [line for line in second.stderr.splitlines() if line.startswith("error:")]
        assert errors == [f"error: another ETL run (pid {holder.pid}) is building {out}; "
                          "wait for it to finish, or pass another --out"]
        # Nothing published, and no temporary build of its own beside the holder's.
        assert _snapshot(out) == replace(before, versions=before.versions | {held.name})
    finally:
        holder.kill()
        holder.wait()
    assert held.is_dir()  # killed mid-build: left behind, unpublished

    third = CliRunner().invoke(app, args)
    assert third.exit_code == 0, third.output
    assert not held.exists()  # the lock was free, so its temporary build was abandoned
    assert not [p for p in pub.versions_dir(out).iterdir() if p.suffix == ".tmp"]
    assert os.readlink(out) != before.target
