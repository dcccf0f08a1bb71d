"""The ETL: golden facts from the embedded sample, exact row accounting, rejects, atomic
publishing, the ``movies etl`` command's handling of unusable input, the manifest and the
Parquet contract."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

import etl.inputs
import etl.pipeline
import etl.publish
from cli.main import EXIT_INPUT, EXIT_INVALID, app
from data.contract import CONTRACT_VERSION, TABLES, polars_schema
from data.paths import SAMPLE_DIR
from etl.extract import InputError
from etl.inputs import Inputs, default_inputs, find_raw
from etl.pipeline import run
from etl.publish import ValidationFailed, versions_dir

# The assignment drops original_title and poster_path too; we keep them (search, posters).
DROPPED = ("video", "imdb_id", "adult", "homepage")


def sample_inputs() -> Inputs:
    """The embedded sample (``default_inputs()`` when no full files are in data/raw/)."""
    movies, credits = find_raw(SAMPLE_DIR, "movies"), find_raw(SAMPLE_DIR, "credits")
    assert movies is not None and credits is not None
    return Inputs(movies, credits, find_raw(SAMPLE_DIR, "keywords"))


@pytest.fixture(scope="session")
def manifest(sample_build: Path) -> dict[str, Any]:
    """The manifest of the session's sample build (``sample_build`` is in conftest.py)."""
    return json.loads((sample_build / "manifest.json").read_text())


@pytest.fixture(scope="session")
def tables(sample_build: Path) -> dict[str, pl.DataFrame]:
    return {name: pl.read_parquet(sample_build / f"{name}.parquet") for name in TABLES}


def input_paths(manifest: dict[str, Any]) -> dict[str, Path]:
    return {kind: Path(meta["path"]) for kind, meta in manifest["inputs"].items()}


def count_records(path: Path) -> int:
    """CSV records after the header, counted here independently of etl.extract."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


# --- golden facts from the sample ---------------------------------------------------------


def test_default_inputs_is_the_sample_without_raw_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(etl.inputs, "RAW_DIR", tmp_path)
    assert default_inputs() == sample_inputs()
    (tmp_path / "movies_metadata.csv.gz").write_bytes(b"")
    assert default_inputs() == sample_inputs()  # credits still missing
    (tmp_path / "credits.csv").write_bytes(b"")
    assert default_inputs() == Inputs(
        tmp_path / "movies_metadata.csv.gz", tmp_path / "credits.csv", None
    )


def test_toy_story(tables: dict[str, pl.DataFrame]) -> None:
    toy = tables["movies"].filter(pl.col("id") == 862).to_dicts()
    assert len(toy) == 1
    row = toy[0]
    assert row["title"] == "Toy Story"
    assert row["title_key"] == "toy story"
    assert row["release_date"] == dt.date(1995, 10, 30)
    assert row["release_year"] == 1995
    assert row["budget"] == 30_000_000
    assert row["revenue"] == 373_554_033
    assert row["return"] == pytest.approx(373_554_033 / 30_000_000)
    assert row["collection_id"] == 10194
    collection = tables["collections"].filter(pl.col("id") == 10194)["name"].to_list()
    assert collection == ["Toy Story Collection"]


def test_toy_story_genres_in_order(tables: dict[str, pl.DataFrame]) -> None:
    genres = (
        tables["movie_genres"]
        .filter(pl.col("movie_id") == 862)
        .join(tables["genres"], left_on="genre_id", right_on="id")
        .sort("position")["name"]
        .to_list()
    )
    assert genres == ["Animation", "Comedy", "Family"]


def test_tom_hanks_is_woody(tables: dict[str, pl.DataFrame]) -> None:
    hanks = tables["people"].filter(pl.col("id") == 31).to_dicts()
    assert [p["name"] for p in hanks] == ["Tom Hanks"]
    assert hanks[0]["name_key"] == "tom hanks"
    cast = tables["cast"].filter((pl.col("movie_id") == 862) & (pl.col("person_id") == 31))
    assert cast.select("order", "character").to_dicts() == [
        {"order": 0, "character": "Woody (voice)"}
    ]


def test_john_lasseter_directed_toy_story(tables: dict[str, pl.DataFrame]) -> None:
    people = tables["people"].filter(pl.col("name") == "John Lasseter")
    assert people.height == 1
    person = people["id"][0]
    jobs = tables["crew"].filter((pl.col("movie_id") == 862) & (pl.col("person_id") == person))
    assert "Director" in jobs["job"].to_list()
    assert jobs.filter(pl.col("job") == "Director")["department"].to_list() == ["Directing"]


def test_return_rule(tables: dict[str, pl.DataFrame]) -> None:
    movies = tables["movies"]
    funded = movies.filter(pl.col("budget") > 0)
    assert funded.height > 100
    expected = (funded["revenue"] / funded["budget"]).to_list()
    assert funded["return"].to_list() == pytest.approx(expected)
    unfunded = movies.filter(pl.col("budget") == 0)
    assert unfunded.height > 100
    assert unfunded.filter(pl.col("revenue") > 0).height > 0  # revenue but no budget ...
    assert (unfunded["return"] == 0).all()  # ... is still 0, not inf
    assert movies.select(pl.col("budget", "revenue", "return").null_count().sum()).row(0) == (
        0,
        0,
        0,
    )


def test_dropped_columns_are_gone(tables: dict[str, pl.DataFrame]) -> None:
    for name, frame in tables.items():
        assert not set(DROPPED) & set(frame.columns), name


def test_original_title_and_poster_are_kept(tables: dict[str, pl.DataFrame]) -> None:
    toy = tables["movies"].filter(pl.col("id") == 862).row(0, named=True)
    assert toy["original_title"] == "Toy Story"
    assert toy["poster_path"] == "/rhIRbceoE9lR4veEXuwCC2wARtG.jpg"
    # Blank cells become nulls, never empty strings.
    assert tables["movies"].filter(pl.col("poster_path") == "").height == 0


def test_release_year_matches_release_date(tables: dict[str, pl.DataFrame]) -> None:
    movies = tables["movies"]
    assert movies["release_date"].null_count() == 0
    assert (movies["release_date"].dt.year() == movies["release_year"]).all()


# --- row reconciliation on the sample -------------------------------------------------------


def test_sample_reconciles(manifest: dict[str, Any], tables: dict[str, pl.DataFrame]) -> None:
    summary = manifest["summary"]
    paths = input_paths(manifest)
    assert set(summary) == set(paths) == {"movies", "credits", "keywords"}
    rejects = tables["rejects"]
    for file, path in paths.items():
        row = summary[file]
        assert row["in"] == count_records(path), file
        assert row["in"] == row["kept"] + row["rejected"], file
        mine = rejects.filter(pl.col("file") == file)
        assert mine.height == row["rejected"], file
        assert dict(Counter(mine["reason"].to_list())) == row["by_reason"], file
        assert mine["record"].is_unique().all(), file
        assert mine["record"].is_between(1, row["in"]).all(), file
    assert summary["movies"]["kept"] == tables["movies"].height
    if paths["movies"] == sample_inputs().movies:
        assert summary["movies"]["in"] == 4857  # the README's sample size
        assert summary["credits"]["in"] == 2004
    # Every kept credits/keywords record names a kept movie.
    for table in ("cast", "crew", "movie_keywords"):
        assert tables[table]["movie_id"].is_in(tables["movies"]["id"].implode()).all()


# --- rejects on a fixture with malformed and duplicated rows --------------------------------


def _sample_rows(path: Path, ids: set[str], id_column: str = "id") -> tuple[list[str], dict]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        at = header.index(id_column)
        rows = {row[at]: row for row in reader if row[at] in ids}
    assert set(rows) == ids
    return header, rows


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# (file, record) -> (raw_id, reason) for every record the fixture must reject.
FIXTURE_REJECTS = {
    ("movies", 2): ("8844", "bad_number"),
    ("movies", 4): ("862", "duplicate_id"),
    ("movies", 5): ("1997-08-20", "malformed_row"),
    ("movies", 6): ("15602", "missing_release_date"),
    ("movies", 7): ("31357", "unparseable_nested"),
    ("movies", 8): ("", "wrong_field_count"),
    ("movies", 9): ("tt0114709", "bad_id"),
    ("movies", 10): ("11862", "missing_title"),
    ("movies", 11): ("900002", "bad_release_date"),
    ("movies", 12): ("-5", "bad_id"),
    ("credits", 3): ("999999", "unknown_movie"),
    ("credits", 4): ("862", "duplicate_id"),
    ("credits", 5): ("15602", "unknown_movie"),
    ("credits", 6): ("900001", "unparseable_nested"),
    ("credits", 7): ("", "wrong_field_count"),  # too short to reach the id column
    ("keywords", 3): ("424242", "unknown_movie"),
    ("keywords", 4): ("8844", "duplicate_id"),
    ("keywords", 5): ("abc", "bad_id"),
}
FIXTURE_RECORDS = {"movies": 13, "credits": 7, "keywords": 5}
FIXTURE_KEPT_MOVIES = [862, 8844, 900001]


def write_fixture(directory: Path) -> Inputs:
    """Real rows from the sample plus one record for each way a record can be rejected."""
    directory.mkdir(parents=True, exist_ok=True)
    ids = {"862", "8844", "15602", "31357", "11862"}
    header, real = _sample_rows(SAMPLE_DIR / "movies_dataset.csv.gz", ids)
    col = {name: i for i, name in enumerate(header)}

    def movie(base: str, **changes: str) -> list[str]:
        row = list(real[base])
        for name, value in changes.items():
            row[col[name]] = value
        return row

    shifted = movie(
        "862",
        adult=" - Written by Ørnås",
        belongs_to_collection="0.065736",
        budget="/ff9qCepilowshEtG2GYWwzt2bs4.jpg",
        genres="[{'name': 'Carousel Productions', 'id': 11176}]",
        id="1997-08-20",
        imdb_id="0",
        original_language="104.0",
    )
    movies = [
        real["862"],  # 1 kept
        movie("8844", budget="a lot"),  # 2 bad_number (before the valid 8844 below)
        real["8844"],  # 3 kept: duplicates are decided among valid records only
        real["862"],  # 4 duplicate_id
        shifted,  # 5 malformed_row
        movie("15602", release_date=""),  # 6 missing_release_date
        movie("31357", genres="[{'id': 35, 'name': 'Comedy'"),  # 7 unparseable_nested
        ["False", "", "0", "[]"],  # 8 wrong_field_count
        movie("862", id="tt0114709"),  # 9 bad_id
        movie("11862", title="  "),  # 10 missing_title
        movie("862", id="900002", release_date="1995-13-45"),  # 11 bad_release_date
        movie("862", id="-5"),  # 12 bad_id
        movie("862", id="900001", title="No Money", budget="", revenue=""),  # 13 kept, 0s
    ]
    write_csv(directory / "movies.csv", header, movies)

    c_header, c_real = _sample_rows(SAMPLE_DIR / "credits.csv.gz", {"862", "8844", "15602"})
    c_col = {name: i for i, name in enumerate(c_header)}

    def credit(base: str, **changes: str) -> list[str]:
        row = list(c_real[base])
        for name, value in changes.items():
            row[c_col[name]] = value
        return row

    credits = [
        c_real["862"],  # 1 kept
        c_real["8844"],  # 2 kept
        credit("8844", id="999999"),  # 3 unknown_movie
        c_real["862"],  # 4 duplicate_id
        c_real["15602"],  # 5 unknown_movie: its movie was rejected
        credit("862", id="900001", cast="[{'cast_id': 1, 'character': 'x'"),  # 6 unparseable
        ["[]", "8844"],  # 7 wrong_field_count
    ]
    write_csv(directory / "credits.csv", c_header, credits)

    k_header, k_real = _sample_rows(SAMPLE_DIR / "keywords.csv.gz", {"862", "8844"})
    keywords = [
        k_real["862"],  # 1 kept
        k_real["8844"],  # 2 kept
        ["424242", "[{'id': 1, 'name': 'x'}]"],  # 3 unknown_movie
        ["8844", "[]"],  # 4 duplicate_id
        ["abc", "[]"],  # 5 bad_id
    ]
    assert k_header == ["id", "keywords"]
    write_csv(directory / "keywords.csv", k_header, keywords)
    return Inputs(directory / "movies.csv", directory / "credits.csv", directory / "keywords.csv")


@pytest.fixture(scope="module")
def fixture_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    root = tmp_path_factory.mktemp("fixture")
    inputs = write_fixture(root / "raw")
    out = root / "build"
    return run(inputs, out), out


def test_fixture_rejects_every_bad_record_for_the_right_reason(
    fixture_build: tuple[dict[str, Any], Path],
) -> None:
    _, out = fixture_build
    rejects = pl.read_parquet(out / "rejects.parquet")
    got = {(r["file"], r["record"]): (r["raw_id"], r["reason"]) for r in rejects.to_dicts()}
    assert got == FIXTURE_REJECTS
    detail = {(r["file"], r["record"]): r["detail"] for r in rejects.to_dicts()}
    assert detail[("movies", 2)] == "budget: not a non-negative number"
    assert detail[("movies", 4)] == "first kept at record 1"
    assert detail[("movies", 5)] == "id=1997-08-20 release_date=1995-10-30"
    assert detail[("movies", 7)] == "genres"
    assert detail[("movies", 8)] == "4 fields, expected 24"
    assert detail[("credits", 4)] == "first kept at record 1"
    assert detail[("credits", 6)] == "cast"
    assert detail[("credits", 7)] == "2 fields, expected 3"
    assert detail[("keywords", 4)] == "first kept at record 2"


def test_fixture_reconciles(fixture_build: tuple[dict[str, Any], Path]) -> None:
    manifest, out = fixture_build
    movies = pl.read_parquet(out / "movies.parquet")
    assert sorted(movies["id"].to_list()) == FIXTURE_KEPT_MOVIES
    summary = manifest["summary"]
    for file, count in FIXTURE_RECORDS.items():
        rejected = [key for key in FIXTURE_REJECTS if key[0] == file]
        reasons = Counter(FIXTURE_REJECTS[key][1] for key in rejected)
        assert summary[file] == {
            "in": count,
            "kept": count - len(rejected),
            "rejected": len(rejected),
            "by_reason": dict(sorted(reasons.items())),
        }, file
    assert summary["movies"]["kept"] == movies.height
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == json.loads(json.dumps(manifest))  # run() returns what it wrote


def test_fixture_kept_rows(fixture_build: tuple[dict[str, Any], Path]) -> None:
    _, out = fixture_build
    movies = pl.read_parquet(out / "movies.parquet")
    jumanji = movies.filter(pl.col("id") == 8844).to_dicts()[0]
    assert jumanji["title"] == "Jumanji" and jumanji["budget"] == 65_000_000
    no_money = movies.filter(pl.col("id") == 900001).to_dicts()[0]
    assert (no_money["budget"], no_money["revenue"], no_money["return"]) == (0.0, 0.0, 0.0)
    cast = pl.read_parquet(out / "cast.parquet")
    assert sorted(cast["movie_id"].unique().to_list()) == [862, 8844]
    keywords = pl.read_parquet(out / "movie_keywords.parquet")
    assert sorted(keywords["movie_id"].unique().to_list()) == [862, 8844]


# --- atomic publishing ------------------------------------------------------------------------


def snapshot(out: Path) -> dict[str, Any]:
    """Everything a reader of ``out`` could see, plus the versions directory listing."""
    target = out.resolve()
    return {
        "link": os.readlink(out),
        "files": {
            str(p.relative_to(target)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(target.rglob("*")) if p.is_file()
        },
        "versions": sorted(p.name for p in versions_dir(out).iterdir()),
    }


@pytest.fixture
def published(tmp_path: Path) -> tuple[Inputs, Path, dict[str, Any]]:
    inputs = write_fixture(tmp_path / "raw")
    out = tmp_path / "build"
    run(inputs, out)
    before = snapshot(out)
    assert before["versions"] == [Path(before["link"]).name]
    assert not any(name.endswith(".tmp") for name in before["versions"])
    return inputs, out, before


def assert_untouched(out: Path, before: dict[str, Any]) -> None:
    assert out.is_symlink()
    assert snapshot(out) == before
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.link")]
    assert leftovers == []


def test_failing_index_fit_leaves_previous_build(
    published: tuple[Inputs, Path, dict[str, Any]],
) -> None:
    inputs, out, before = published
    seen: list[Path] = []

    def fit_index(tables: dict[str, pl.DataFrame], version: Path) -> dict[str, Any]:
        seen.append(version)
        assert (version / "movies.parquet").is_file()  # tables were written half-way
        raise RuntimeError("recommender exploded")

    with pytest.raises(RuntimeError, match="recommender exploded"):
        run(inputs, out, fit_index=fit_index)
    assert seen and not seen[0].exists()
    assert_untouched(out, before)


def test_interrupted_run_leaves_previous_build(
    published: tuple[Inputs, Path, dict[str, Any]],
) -> None:
    inputs, out, before = published

    def fit_index(tables: dict[str, pl.DataFrame], version: Path) -> dict[str, Any]:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(inputs, out, fit_index=fit_index)
    assert_untouched(out, before)


def test_failing_write_leaves_previous_build(
    published: tuple[Inputs, Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs, out, before = published
    original = etl.publish.write_tables

    def write_one_then_fail(tables: dict[str, pl.DataFrame], directory: Path) -> None:
        name = next(iter(tables))
        original({name: tables[name]}, directory)
        assert (directory / f"{name}.parquet").is_file()
        raise OSError("disk full")

    monkeypatch.setattr(etl.publish, "write_tables", write_one_then_fail)
    with pytest.raises(OSError, match="disk full"):
        run(inputs, out)
    assert_untouched(out, before)


def test_second_build_replaces_link_and_keeps_previous(
    published: tuple[Inputs, Path, dict[str, Any]],
) -> None:
    inputs, out, before = published
    run(inputs, out)
    after = snapshot(out)
    assert after["link"] != before["link"]
    assert Path(before["link"]).name in after["versions"]  # kept for readers still on it
    assert {k: v for k, v in after["files"].items() if k != "manifest.json"} == {
        k: v for k, v in before["files"].items() if k != "manifest.json"
    }
    for _ in range(2):
        run(inputs, out)
    assert len(snapshot(out)["versions"]) == etl.publish.KEEP_BUILDS


def test_out_that_is_a_real_directory_is_not_replaced(tmp_path: Path) -> None:
    inputs = write_fixture(tmp_path / "raw")
    out = tmp_path / "build"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        run(inputs, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert list(versions_dir(out).iterdir()) == []  # no finished or temporary leftovers


def _break_primary_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the keywords step emit a duplicate (movie_id, keyword_id) pair."""
    original = etl.pipeline.build_keywords

    def broken(*args: Any, **kwargs: Any) -> Any:
        built = original(*args, **kwargs)
        links = built.tables["movie_keywords"]
        built.tables["movie_keywords"] = pl.concat([links, links.head(1)])
        return built

    monkeypatch.setattr(etl.pipeline, "build_keywords", broken)


def test_contract_violation_raises_and_leaves_previous_build(
    published: tuple[Inputs, Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs, out, before = published
    _break_primary_key(monkeypatch)
    with pytest.raises(ValidationFailed, match="movie_keywords"):
        run(inputs, out)
    assert_untouched(out, before)


def test_validate_reports_dangling_foreign_keys() -> None:
    movies = TABLES["movies"].create_empty()
    links = pl.DataFrame({"movie_id": [1], "genre_id": [2], "position": [0]})
    with pytest.raises(ValidationFailed, match=r"movie_genres\.movie_id"):
        etl.publish.validate({"movies": movies, "movie_genres": links})


# --- the command line ---------------------------------------------------------------------


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["etl", *args])


def cli_args(inputs: Inputs, out: Path, **override: Path) -> list[str]:
    paths = {"movies": inputs.movies, "credits": inputs.credits, "keywords": inputs.keywords}
    paths.update(override)
    args: list[str] = []
    for name, path in paths.items():
        args += [f"--{name}", str(path)]
    return [*args, "--out", str(out)]


def error_lines(result: Any) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


BAD_INPUTS: dict[str, tuple[str, Callable[[Path], None] | None, str]] = {
    # case: (which input, how to make the file (None: do not create it), problem text)
    "missing": ("movies", None, "file not found"),
    "binary": (
        "credits",
        lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00\x10"),
        "not UTF-8 text",
    ),
    "corrupt gzip": (
        "movies",
        lambda p: p.write_bytes(b"\x1f\x8b\x08\x00garbage that is not deflate"),
        "not a readable CSV file",
    ),
    "bad quoting": (
        "keywords",
        lambda p: p.write_text('id,keywords\n862,"[]"x\n'),
        "not a readable CSV file",
    ),
    "wrong columns": (
        "movies",
        lambda p: p.write_text("id,title\n862,Toy Story\n"),
        "not a movies file: missing columns",
    ),
    "keywords as credits": (
        "credits",
        lambda p: p.write_text("id,keywords\n862,[]\n"),
        "not a credits file: missing columns cast, crew",
    ),
    "empty": ("credits", lambda p: p.write_bytes(b""), "file is empty"),
    "header only": (
        "keywords",
        lambda p: p.write_text("id,keywords\n"),
        "file has a header but no rows",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_cli_unusable_input_exits_2(
    case: str, published: tuple[Inputs, Path, dict[str, Any]], tmp_path: Path
) -> None:
    inputs, out, before = published
    which, make, problem = BAD_INPUTS[case]
    bad = tmp_path / f"bad-{which}.csv"
    if make is not None:
        make(bad)
    result = invoke(*cli_args(inputs, out, **{which: bad}))
    assert result.exit_code == EXIT_INPUT == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert str(bad) in lines[0]
    assert problem in lines[0]
    assert "Traceback" not in result.output
    assert_untouched(out, before)


def test_cli_contract_violation_exits_3(
    published: tuple[Inputs, Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs, out, before = published
    _break_primary_key(monkeypatch)
    result = invoke(*cli_args(inputs, out))
    assert result.exit_code == EXIT_INVALID == 3, result.output
    lines = error_lines(result)
    assert len(lines) == 1 and "break the contract" in lines[0] and "movie_keywords" in lines[0]
    assert_untouched(out, before)


def test_input_error_names_file_and_problem(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(InputError) as info:
        run(Inputs(missing, missing, None), tmp_path / "build")
    assert info.value.path == missing and info.value.problem == "file not found"
    assert not (tmp_path / "build").exists()
    assert not versions_dir(tmp_path / "build").exists()


# --- manifest and Parquet contract ------------------------------------------------------------


def test_manifest(manifest: dict[str, Any], tables: dict[str, pl.DataFrame]) -> None:
    on_disk = manifest
    assert on_disk["contract_version"] == CONTRACT_VERSION
    built_at = dt.datetime.fromisoformat(on_disk["built_at"])
    assert built_at.tzinfo is not None
    assert abs(dt.datetime.now(dt.UTC) - built_at) < dt.timedelta(hours=1)
    assert on_disk["tables"] == {name: frame.height for name, frame in tables.items()}
    assert set(on_disk["tables"]) == set(TABLES)
    assert set(on_disk["inputs"]) == {"movies", "credits", "keywords"}
    movies = on_disk["inputs"]["movies"]
    path = Path(movies["path"])
    assert movies["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert movies["bytes"] == path.stat().st_size
    for meta in on_disk["inputs"].values():
        assert len(meta["sha256"]) == 64
    rejects = tables["rejects"]
    for file, row in on_disk["summary"].items():
        counted = rejects.filter(pl.col("file") == file)["reason"].value_counts()
        assert row["by_reason"] == dict(counted.iter_rows())
    assert set(on_disk["summary"]["movies"]) == {"in", "kept", "rejected", "by_reason"}
    assert on_disk["duration_s"] > 0
    assert {"read movies", "validate", "write parquet"} <= set(on_disk["timings_s"])


def test_parquet_schemas_match_the_contract(sample_build: Path) -> None:
    out = sample_build
    assert {p.stem for p in out.glob("*.parquet")} == set(TABLES)
    for name, schema in TABLES.items():
        frame = pl.read_parquet(out / f"{name}.parquet")
        assert frame.schema == polars_schema(name), name
        assert pl.read_parquet_schema(out / f"{name}.parquet") == dict(polars_schema(name))
        assert schema.is_valid(frame), name
        assert frame.height > 0, name


def test_build_names_sort_in_build_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """prune() keeps the newest builds by name, so names must sort by creation time, even
    for builds made within one second (random suffixes must not decide)."""
    clock = iter(range(10))
    suffixes = iter("fedcba9876")
    base = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

    class FakeDatetime:
        @staticmethod
        def now(tz: dt.tzinfo | None = None) -> dt.datetime:
            return base + dt.timedelta(microseconds=next(clock))

    class FakeUuid:
        @staticmethod
        def uuid4() -> Any:
            return type("U", (), {"hex": next(suffixes) * 32})()

    monkeypatch.setattr(etl.publish, "datetime", FakeDatetime)
    monkeypatch.setattr(etl.publish, "uuid", FakeUuid)
    out = tmp_path / "build"
    made = [etl.publish.new_version(out).name for _ in range(4)]
    assert sorted(made) == made


def test_vote_average_above_ten_rejects_the_record_not_the_build(tmp_path: Path) -> None:
    # Regression: one out-of-range vote_average used to fail contract validation (exit 3).
    header, real = _sample_rows(SAMPLE_DIR / "movies_dataset.csv.gz", {"862", "8844"})
    bad = list(real["8844"])
    bad[header.index("vote_average")] = "11.5"
    movies = write_csv(tmp_path / "movies.csv", header, [real["862"], bad])
    cheader, credits = _sample_rows(SAMPLE_DIR / "credits.csv.gz", {"862"})
    credits_path = write_csv(tmp_path / "credits.csv", cheader, [credits["862"]])
    manifest = run(Inputs(movies, credits_path, None), tmp_path / "build")
    assert manifest["summary"]["movies"]["by_reason"] == {"bad_number": 1}
    rejects = pl.read_parquet(tmp_path / "build" / "rejects.parquet")
    assert rejects.row(0, named=True)["detail"].startswith("vote_average")


def test_utf8_bom_header_is_read(tmp_path: Path) -> None:
    # Regression: a byte-order mark glued to the first column name made it "missing".
    header, real = _sample_rows(SAMPLE_DIR / "movies_dataset.csv.gz", {"862"})
    movies = write_csv(tmp_path / "movies.csv", header, [real["862"]])
    movies.write_bytes(b"\xef\xbb\xbf" + movies.read_bytes())
    cheader, credits = _sample_rows(SAMPLE_DIR / "credits.csv.gz", {"862"})
    credits_path = write_csv(tmp_path / "credits.csv", cheader, [credits["862"]])
    manifest = run(Inputs(movies, credits_path, None), tmp_path / "build")
    assert manifest["summary"]["movies"]["kept"] == 1
