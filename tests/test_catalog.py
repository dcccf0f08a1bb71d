"""The serving image: columns, relations and lookups give back exactly what the warehouse
holds; attaching is mapping; builds of another contract are refused."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import orjson
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data import image as image_format
from data.build import IMAGE_DIR, BuildError
from data.catalog import Catalog
from data.image import ImageWriter, open_image
from data.warehouse import read_tables

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tables(sample_build: Path) -> dict[str, pl.DataFrame]:
    return read_tables(sample_build)


def _write(tmp: Path, values: list[str | None]) -> image_format.Image:
    writer = ImageWriter(tmp)
    series = pl.Series(values, dtype=pl.String)
    writer.strings("t", "s", series)
    writer.codes("t", "c", series)
    writer.key_index("k", series.fill_null(""), pl.Series(range(len(values))))
    writer.finish(contract_version=0)
    return open_image(tmp, {"contract_version": 0})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=8)), min_size=1, max_size=40))
def test_string_columns_round_trip(tmp_path_factory: pytest.TempPathFactory,
                                   values: list[str | None]) -> None:
    image = _write(tmp_path_factory.mktemp("img"), values)
    strings, codes = image.column("t", "s"), image.column("t", "c")
    assert strings.take(range(len(values))) == values
    assert codes.take(range(len(values))) == values
    assert len(codes.values) == len({v for v in values if v is not None})  # type: ignore[union-attr]
    keys = image_format.KeyIndex(image, "k")
    for row, value in enumerate(values):
        found = keys.find(value or "")
        assert found is not None and row in found.tolist()


def test_key_index_tells_colliding_keys_apart(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Every key hashes alike: the stored text alone must pick the right entry.
    monkeypatch.setattr(image_format, "key_hash", lambda _key: 7)
    image = _write(tmp_path, ["heat", "body heat", "heat 2"])
    keys = image_format.KeyIndex(image, "k")
    assert keys.find("body heat").tolist() == [1]  # type: ignore[union-attr]
    assert keys.find("heat").tolist() == [0]  # type: ignore[union-attr]
    assert keys.find("cold") is None


def test_movie_columns_match_the_warehouse(catalog: Catalog,
                                           tables: dict[str, pl.DataFrame]) -> None:
    movies = tables["movies"].sort("id")
    fields = ["id", "title", "original_title", "poster_path", "overview", "status",
              "original_language", "release_date", "release_year", "budget", "revenue",
              "return", "popularity", "runtime", "vote_average", "vote_count", "collection_id"]
    served = catalog.movies.get(np.arange(catalog.n_movies), fields)
    assert served == movies.select(fields).to_dicts()
    toy = catalog.movies.get([catalog.movie_row(862)], ["title", "release_date"])[0]  # type: ignore[list-item]
    assert toy == {"title": "Toy Story", "release_date": dt.date(1995, 10, 30)}


def test_relations_match_an_independent_group_by(catalog: Catalog,
                                                 tables: dict[str, pl.DataFrame]) -> None:
    movie_ids = catalog.movies.numbers("id")
    person_ids = catalog.people.numbers("id")
    cast = tables["cast"]
    # Cast of every movie in billing order, by TMDB ids.
    expected = (cast.sort("movie_id", "order", maintain_order=True)
                .group_by("movie_id", maintain_order=True).agg("person_id"))
    for movie_id, people in expected.head(300).iter_rows():
        row = catalog.movie_row(movie_id)
        assert row is not None
        entries = catalog.movie_cast.of(row)
        served = person_ids[catalog.cast.numbers("person")[entries]].tolist()
        assert served == people
    # Distinct films of every actor, oldest first.
    films = (cast.join(tables["movies"].select(movie_id="id", date="release_date"), on="movie_id")
             .group_by("person_id").agg(pl.col("movie_id").unique()))
    for person_id, movie_list in films.head(300).iter_rows():
        row = catalog.person_row(person_id)
        assert row is not None
        acted = movie_ids[catalog.person_acted.of(row)].tolist()
        assert sorted(acted) == sorted(movie_list)
        dates = catalog.movies.numbers("release_date")[catalog.person_acted.of(row)]
        assert (np.diff(dates) >= 0).all()


def test_real_facts_through_the_read_api(catalog: Catalog) -> None:
    toy = catalog.titles.find("toy story")
    assert toy is not None and catalog.movies.value(int(toy[0]), "id") == 862
    hanks = catalog.actors.find("tom hanks")
    assert hanks is not None
    first_billed = catalog.cast.value(int(catalog.movie_cast.of(int(toy[0]))[0]), "person")
    assert first_billed == int(hanks[0])
    directors = catalog.movie_directors.of(int(toy[0])).tolist()
    assert [catalog.people.value(p, "name") for p in directors] == ["John Lasseter"]
    assert "Director" in catalog.crew.codes("job")[1]


def test_a_build_of_another_contract_is_refused(sample_build: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(sample_build.resolve(), old)
    manifest = orjson.loads((old / "manifest.json").read_bytes())
    (old / "manifest.json").write_bytes(orjson.dumps(manifest | {"contract_version": 1}))
    with pytest.raises(BuildError, match=r"table contract 1.*run `movies etl` again"):
        Catalog.load(old)
    # A manifest of this contract over an image of another one is refused too.
    shutil.copytree(sample_build.resolve(), tmp_path / "mixed")
    meta_path = tmp_path / "mixed" / IMAGE_DIR / image_format.META
    meta = orjson.loads(meta_path.read_bytes())
    meta_path.write_bytes(orjson.dumps(meta | {"contract_version": 1}))
    with pytest.raises(BuildError, match="run `movies etl` again"):
        Catalog.load(tmp_path / "mixed")


def test_attach_pins_the_version_it_found(sample_build: Path, tmp_path: Path) -> None:
    link = tmp_path / "build"
    link.symlink_to(sample_build.resolve())
    catalog = Catalog.load(link)
    assert catalog.path == sample_build.resolve()
    other = tmp_path / "other"
    shutil.copytree(sample_build.resolve(), other)
    link.unlink()
    link.symlink_to(other)  # a publish swaps the link: the attached catalog keeps its build
    assert catalog.path == sample_build.resolve()
    assert catalog.movies.value(0, "id") == Catalog.load(link).movies.value(0, "id")


def test_two_processes_share_the_mapped_pages(sample_build: Path) -> None:
    """Two processes that attach and read the same image share its pages: each one's
    shared memory for the image's files covers what it touched."""
    script = textwrap.dedent(f"""
        import re, sys, time
        from pathlib import Path
        from data.catalog import Catalog
        catalog = Catalog.load(Path({str(sample_build)!r}))
        # Touch every page of the largest string column.
        column = catalog.movies._columns["overview"]
        total = int(column.data.sum())
        print("ready", flush=True)
        sys.stdin.readline()
        shared = private = 0
        current = None
        for line in open("/proc/self/smaps"):
            head = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                current = line.split()[-1] if len(head) >= 6 else None
            elif current and "/serving/" in current and head[0] in (
                    "Shared_Clean:", "Shared_Dirty:"):
                # Freshly written files are still dirty in the page cache: both count.
                shared += int(head[1])
            elif current and "/serving/" in current and head[0] in (
                    "Private_Clean:", "Private_Dirty:"):
                private += int(head[1])
        print(shared, private, total, flush=True)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        results = []
        for proc in procs:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("\n")
            proc.stdin.flush()
            results.append([int(v) for v in proc.stdout.readline().split()])
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    overview_kb = catalog_bytes(sample_build) // 1024
    for shared, _private, _total in results:
        # Both mapped the overview blob: its pages are shared, not copied per process.
        assert shared >= overview_kb * 0.9, (shared, overview_kb)
    assert results[0][2] == results[1][2]


def catalog_bytes(build: Path) -> int:
    return (build / IMAGE_DIR / "movies.overview.data.npy").stat().st_size


def test_a_worker_imports_no_table_or_learning_library(sample_build: Path) -> None:
    """What keeps a worker small: serving (attach, a query with search, recommendations and
    free text) needs NumPy only, never Polars, SciPy, scikit-learn or pandas."""
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from server.app import create_app
        from server.settings import Settings
        from data.catalog import Catalog
        catalog = Catalog.load(Path({str(sample_build)!r}))
        app = create_app(Settings(data=Path({str(sample_build)!r})), catalog)
        schema = app.state.endpoint.schema
        result = schema.execute_sync(
            '{{ searchMovies(query: "toy stroy") {{ movie {{ title }} }} '
            'recommendations(title: "Toy Story") {{ movie {{ title }} reasons {{ kind }} }} '
            'moviesLike(text: "space opera") {{ movie {{ title }} }} }}',
            context_value={{"catalog": catalog, "image_base_url": ""}})
        assert not result.errors, result.errors
        print(sorted(m for m in ("polars", "scipy", "sklearn", "pandas") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    assert out == "[]"


def test_the_supervisor_imports_neither_the_schema_nor_the_catalog() -> None:
    """Start-up to ready: the supervisor only binds the socket and spawns workers, so it must
    not pay for building every GraphQL type, loading NumPy (settings once pulled in the
    whole schema through its image-URL default; the build check, NumPy through the image
    format) or logging and metrics it uses only on a reload or a private metrics port."""
    script = ("import sys, server.run, server.settings, cli.main, etl.inputs, data.paths; "
              "print(sorted(m for m in ('schema', 'strawberry', 'data.catalog', 'numpy', "
              "'structlog', 'prometheus_client') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    assert out == "[]"


def test_a_worker_does_not_import_the_cli() -> None:
    """A spawned worker re-imports the script its supervisor was started from: the `movies`
    script imports its entry point, which must not pull in the CLI (Typer, Rich)."""
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, function = scripts["movies"].partition(":")
    script = (f"import sys, {module}; assert callable({module}.{function}); "
              "print(sorted(m for m in ('cli.main', 'typer', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    assert out == "[]"


def test_the_data_layer_stops_at_the_deadline(catalog: Catalog) -> None:
    """Every data-layer entry point whose work grows with the request checks the deadline, so
    `similar` nested in `similar` (or many aliased searches) stop instead of running on."""
    from data import deadline, lookups

    row = catalog.movie_row(862)
    assert row is not None
    calls = [
        lambda: lookups.recommend(catalog, row, 5),
        lambda: lookups.movies_like(catalog, "toys come to life", 5),
        lambda: lookups.search_movies(catalog, "toy story", 5),
        lambda: lookups.search_people(catalog, "tom hanks", None, 5),
        lambda: lookups.filter_movies(catalog, lookups.MovieFilter(), lookups.SortKey.TITLE,
                                      False),
    ]
    try:
        deadline.start(-1.0)  # already past
        for call in calls:
            with pytest.raises(deadline.Timeout):
                call()
    finally:
        deadline.start(None)
    assert lookups.recommend(catalog, row, 5)  # no deadline: answers as before


def test_image_arrays_are_mapped_from_their_recorded_layout(tmp_path: Path) -> None:
    """Arrays come back as written (np.load agrees; empty ones too), read-only, without their
    .npy headers being read; a truncated file is refused, not read past its end."""
    writer = ImageWriter(tmp_path / "img")
    arrays = {"ints": np.arange(10, dtype=np.int64), "floats": np.linspace(0, 1, 7),
              "grid": np.arange(12, dtype=np.int32).reshape(3, 4),
              "empty": np.zeros(0, dtype=np.float32), "flags": np.array([True, False])}
    for name, values in arrays.items():
        writer.array(name, values)
    writer.finish()
    image = open_image(tmp_path / "img", {})
    for name, values in arrays.items():
        got = image.array(name)
        assert type(got) is np.ndarray and not got.flags.writeable
        assert got.dtype == values.dtype and np.array_equal(got, values)
        assert np.array_equal(got, np.load(tmp_path / "img" / f"{name}.npy"))
    data = (tmp_path / "img" / "ints.npy").read_bytes()
    (tmp_path / "img" / "ints.npy").write_bytes(data[:-8])
    with pytest.raises(image_format.ImageError, match="shorter than its array"):
        open_image(tmp_path / "img", {})
