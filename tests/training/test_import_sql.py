"""`extexify-train import` from the original Detexify database, end to end against the PostgreSQL server.

Each test builds a Detexify-style `samples` table from shared drawings (drawn onto a synthetic canvas,
with synthetic timestamps) in a throwaway database, dumps it with the real `pg_dump`, and imports the
dump through the CLI into another throwaway database.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import psycopg2
import psycopg2.extensions
import pytest
from click.testing import CliRunner
from psycopg2 import sql
from psycopg2.extras import execute_values

from tests.postgres import SERVER, admin
from training.cli import main
from training.dataset import Dataset
from training.legacy_ids import LegacyIds
from training.sources import SourceSample, read_source_index
from training.sqldump import SqlImportError, load_dump

SYMBOLS = ["latex:amssymb:bigstar", "latex:amsmath:dotsb", "latex:latex2e:alpha"]
START_MS = 1_300_000_000_000  # synthetic timestamps: 2011, 15 ms per point


@pytest.fixture
def new_database() -> Iterator[Callable[[], str]]:
    """A function returning the DSN of a fresh, uniquely named database name (not yet created)."""
    names: list[str] = []

    def make() -> str:
        names.append(f"extexify_test_{uuid.uuid4().hex[:12]}")
        return psycopg2.extensions.make_dsn(SERVER, dbname=names[-1])

    yield make
    connection = admin()
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    connection.close()


def _create_database(dsn: str) -> None:
    connection = admin()
    with connection.cursor() as cursor:
        name = psycopg2.extensions.parse_dsn(dsn)["dbname"]
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()


def _legacy_keys(tarball: Path) -> dict[str, str]:
    """Canonical id -> a legacy key, alternating the API form (`_name`) and the original (`\\name`)."""
    mapping = json.loads(_read_member(tarball, "imports/legacy-detexify.json"))["symbols"]
    return {e["canonicalId"]: e["legacyApiId" if i % 2 else "legacyId"] for i, e in enumerate(mapping)}


def _read_member(tarball: Path, name: str) -> bytes:
    with tarfile.open(tarball, "r:gz") as archive:
        root = archive.next().name.split("/")[0]
        return archive.extractfile(f"{root}/{name}").read()


def _canvas_rows(samples: list[SourceSample], keys: dict[str, str]) -> list[tuple[int, str, str]]:
    """Detexify rows: each drawing placed on a canvas in pixels (y down), with synthetic timestamps."""
    rng = np.random.default_rng(7)
    rows = []
    for sample in samples:
        scale, offset = rng.uniform(80, 400), rng.uniform(0, 200, size=2)
        clock = START_MS + int(rng.integers(0, 10**9))
        strokes = []
        for stroke in sample.strokes:
            points = []
            for x, y in stroke[:, :2] * scale + offset:
                points.append([round(float(x), 6), round(float(y), 6), clock])
                clock += 15
            strokes.append(points)
        row_id = int(sample.id.rsplit(":", 1)[1])
        rows.append((row_id, keys[sample.symbol_id], json.dumps(strokes)))
    return rows


def _dump(rows: list[tuple[int, str, str]], dsn: str, path: Path, strokes_type: str = "json") -> Path:
    """Put rows in a `samples` table in `dsn` and pg_dump it (plain SQL) to `path` (.sql or .sql.gz)."""
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump (postgresql-client) is needed to write a real Detexify dump")
    _create_database(dsn)
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE samples (id integer PRIMARY KEY, key text, strokes {strokes_type})")
        execute_values(cursor, "INSERT INTO samples (id, key, strokes) VALUES %s", rows)
    connection.close()
    text = subprocess.run(
        ["pg_dump", "--no-owner", "--no-privileges", "--table=samples", f"--dbname={dsn}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.fixture(scope="module")
def drawings(source_samples, source_tarball: Path) -> tuple[list[SourceSample], list[tuple[int, str, str]]]:
    """Shared drawings of a few symbols (database-born ones only) and their Detexify database rows."""
    samples = [s for s in source_samples(SYMBOLS) if s.id.startswith("sample:legacy-detexify-db:")]
    return samples, _canvas_rows(samples, _legacy_keys(source_tarball))


def _import(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["import", *args])
    return result.exit_code, result.output


def _by_id(dataset: Dataset) -> dict[str, tuple[str, list[np.ndarray]]]:
    return {
        str(dataset.sample_ids[i]): (dataset.symbol_id(i), dataset.drawing(i)) for i in range(len(dataset))
    }


@pytest.mark.slow
def test_dump_import_equals_the_file_import(
    drawings, new_database, source_tarball: Path, tmp_path: Path
) -> None:
    samples, rows = drawings
    dump = _dump(rows, new_database(), tmp_path / "detexify.sql.gz")
    target, output = new_database(), tmp_path / "from-sql.npz"

    code, log = _import(str(dump), "--dsn", target, "--symbols", str(source_tarball), "-o", str(output))

    assert code == 0, log
    assert f"loaded {len(rows)} dump rows: {len(rows)} new, 0 already there" in log
    assert "skipped none" in log
    imported = _by_id(Dataset.load(output))
    assert set(imported) == {s.id for s in samples}
    for sample in samples:
        symbol_id, strokes = imported[sample.id]
        assert symbol_id == sample.symbol_id
        assert [len(s) for s in strokes] == [len(s) for s in sample.strokes]
        np.testing.assert_allclose(np.concatenate(strokes)[:, :2], np.concatenate(sample.strokes), atol=2e-6)
        # Timestamps survive, counted from the drawing's first point.
        np.testing.assert_array_equal(np.concatenate(strokes)[:, 2], 15 * np.arange(sum(map(len, strokes))))


@pytest.mark.slow
def test_loading_the_same_dump_twice_adds_nothing(drawings, new_database, source_tarball, tmp_path) -> None:
    _, rows = drawings
    dump = _dump(rows, new_database(), tmp_path / "detexify.sql")
    target = new_database()
    first = load_dump(dump, target)
    second = load_dump(dump, target)
    assert (first.rows, first.inserted, first.existing) == (len(rows), len(rows), 0)
    assert (second.rows, second.inserted, second.existing) == (len(rows), 0, len(rows))
    with psycopg2.connect(target) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT id) FROM samples")
        assert cursor.fetchone() == (len(rows), len(rows))
    connection.close()

    # A database that already holds the table is read with --dsn alone.
    code, log = _import("--dsn", target, "--symbols", str(source_tarball), "-o", str(tmp_path / "db.npz"))
    assert code == 0, log
    assert len(Dataset.load(tmp_path / "db.npz")) == len(rows)


@pytest.mark.slow
def test_malformed_rows_are_reported_and_good_rows_kept(
    drawings, new_database, source_tarball: Path, tmp_path: Path
) -> None:
    samples, rows = drawings
    rejected_id = int(sorted(read_source_index(source_tarball).rejected)[0].rsplit(":", 1)[1])
    good_key, good_strokes = rows[0][1], rows[0][2]
    bad = [
        (1, good_key, "[[[1, 2, 3], "),  # malformed JSON
        (2, "nopackage-OT1-_nothing", good_strokes),  # unknown key
        (3, good_key, "[[], []]"),  # empty drawing
        (4, good_key, "[[[NaN, 1, 0]]]"),  # not a finite number
        (5, good_key, '[[["a", 1, 0]]]'),  # not a number
        (6, None, good_strokes),  # no key
        (rejected_id, good_key, good_strokes),  # rejected by the curator
    ]
    # A text column, as the JSON is malformed on purpose; the dump's format is the same otherwise.
    dump = _dump(rows + bad, new_database(), tmp_path / "damaged.sql", strokes_type="text")
    text = dump.read_text()
    # Lines COPY itself would choke on (aborting the whole load): not a row, an id beyond `integer`.
    garbage = "this line is not a row\n99999999999\tlatex2e-OT1-_alpha\t[]\n"
    dump.write_text(text.replace("\n\\.\n", f"\n{garbage}\\.\n", 1))
    output = tmp_path / "out.npz"

    code, log = _import(
        str(dump), "--dsn", new_database(), "--symbols", str(source_tarball), "-o", str(output)
    )

    assert code == 0, log
    for line in [
        f"read {len(rows) + len(bad)} rows (the source lists {len(rows) + len(bad)})",
        f"imported {len(rows)} samples",
        "excluded 1 samples rejected by the curator",
        "skipped 2: unknown key",
        "skipped 1: malformed JSON",
        "skipped 1: empty drawing",
        "skipped 2: invalid strokes",
        "skipped 2: malformed dump line",
        "row 4 (stroke 0, point 0: x is nan, not a finite number)",
        "row 5 (stroke 0, point 0: x must be a number, got 'a')",
    ]:
        assert line in log
    assert set(Dataset.load(output).sample_ids) == {s.id for s in samples}

    strict = tmp_path / "strict.npz"
    code, log = _import(
        str(dump), "--dsn", new_database(), "--symbols", str(source_tarball), "--strict", "-o", str(strict)
    )
    assert code == 1
    assert "--strict: 8 rows cannot be used; wrote nothing" in log
    assert not strict.exists()


@pytest.mark.slow
def test_sql_import_errors_are_clear(new_database, source_tarball: Path, tmp_path: Path) -> None:
    no_copy = tmp_path / "empty.sql"
    no_copy.write_text("CREATE TABLE other (id integer);\n")
    target = new_database()
    with pytest.raises(SqlImportError, match="no `COPY samples"):
        load_dump(no_copy, target)

    code, log = _import(str(no_copy), "-o", str(tmp_path / "x.npz"))
    assert code == 2 and "needs --dsn" in log

    nowhere = "postgresql://postgres@127.0.0.1:1/nowhere"
    code, log = _import(str(no_copy), "--dsn", nowhere, "--symbols", str(source_tarball), "-o", "x.npz")
    assert code == 1 and "cannot connect" in log and "Traceback" not in log

    code, log = _import("--dsn", target, "--symbols", str(tmp_path / "missing.tar.gz"), "-o", "x.npz")
    assert code == 1 and "no such file or directory" in log


def test_symbols_default_to_the_shared_data_folder_wherever_the_cli_runs(
    source_tarball: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ../shared/data from here
    nowhere = ["--dsn", "postgresql://postgres@127.0.0.1:1/nowhere", "-o", str(tmp_path / "x.npz")]
    monkeypatch.setenv("EXTEXIFY_SHARED_DATA", str(source_tarball.parent))
    code, log = _import(*nowhere)
    assert code == 1 and "cannot connect" in log  # found the symbols, then tried the database
    monkeypatch.setenv("EXTEXIFY_SHARED_DATA", str(tmp_path))
    code, log = _import(*nowhere)
    assert code == 2 and "pass --symbols SOURCE" in log and str(tmp_path / "detexify-source.tar.gz") in log


def _data_lines(text: str) -> tuple[str, list[str], str]:
    """A plain-SQL dump cut into what comes before its COPY rows, the rows, and what follows them."""
    head, rest = text.split(" FROM stdin;\n", 1)
    rows, tail = rest.split("\\.\n", 1)
    return head + " FROM stdin;\n", rows.splitlines(keepends=True), "\\.\n" + tail


@pytest.mark.slow
def test_dump_rows_without_the_strokes_column_are_an_error(
    drawings, new_database, source_tarball: Path, tmp_path: Path
) -> None:
    _, rows = drawings
    dump = _dump(rows, new_database(), tmp_path / "detexify.sql")
    head, lines, tail = _data_lines(dump.read_text())
    dump.write_text(head + "".join(line.rsplit("\t", 1)[0] + "\n" for line in lines) + tail)
    output = tmp_path / "out.npz"

    code, log = _import(
        str(dump), "--dsn", new_database(), "--symbols", str(source_tarball), "-o", str(output)
    )

    assert code == 1 and not output.exists()
    assert log.count("\n") == 1 and "Traceback" not in log
    assert f"none of the {len(rows)} lines of the COPY block is a samples row" in log
    assert "expected 3 tab-separated fields id, key, strokes" in log


@pytest.mark.slow
def test_rows_after_an_early_end_marker_are_counted(
    drawings, new_database, source_tarball: Path, tmp_path: Path
) -> None:
    _, rows = drawings
    dump = _dump(rows, new_database(), tmp_path / "detexify.sql")
    head, lines, tail = _data_lines(dump.read_text())
    dump.write_text(head + "".join(lines[:5]) + "\\.\n" + "".join(lines[5:]) + tail)
    output = tmp_path / "out.npz"

    code, log = _import(
        str(dump), "--dsn", new_database(), "--symbols", str(source_tarball), "-o", str(output)
    )

    assert code == 0, log
    assert "loaded 5 dump rows: 5 new" in log
    assert f"skipped {len(rows) - 5}: row after the `\\.` that ends the COPY block, not read" in log
    assert len(Dataset.load(output)) == 5


@pytest.mark.slow
def test_ids_repeated_in_one_dump_are_duplicates_not_already_there(
    drawings, new_database, source_tarball: Path, tmp_path: Path
) -> None:
    _, rows = drawings
    dump = _dump(rows, new_database(), tmp_path / "detexify.sql")
    head, lines, tail = _data_lines(dump.read_text())
    first_key, first_strokes = rows[0][1], rows[0][2]
    # The same id twice more, once with other strokes: the first row with an id is the one loaded.
    again = [lines[0], lines[0].split("\t")[0] + f"\t{first_key}\t[[[0, 0, 0], [5, 5, 15]]]\n"]
    dump.write_text(head + "".join(lines + again) + tail)
    output = tmp_path / "out.npz"

    code, log = _import(
        str(dump), "--dsn", new_database(), "--symbols", str(source_tarball), "-o", str(output)
    )

    assert code == 0, log
    total = len(rows) + 2
    assert (
        f"loaded {total} dump rows: {len(rows)} new, 0 already there, 2 repeating an earlier row's id" in log
    )
    assert "skipped 2: id repeated in the dump" in log
    assert f"{dump}:{len(head.splitlines()) + len(rows) + 1}" in log  # where the first repeat is
    imported = _by_id(Dataset.load(output))
    assert len(imported) == len(rows)
    first_id = f"sample:legacy-detexify-db:{rows[0][0]}"
    assert len(imported[first_id][1]) == len(json.loads(first_strokes))  # the first row's drawing


def test_legacy_keys_map_through_the_table_then_the_rule() -> None:
    legacy = LegacyIds.from_entries(
        [
            {
                "legacyId": "amssymb-OT1-\\bigstar",
                "legacyApiId": "amssymb-OT1-_bigstar",
                "canonicalId": "x:star",
            }
        ],
        canonical_ids={"x:star", "latex:wasysym:Square", "latex:amsmath:dots-b"},
    )
    assert legacy.canonical_id("amssymb-OT1-_bigstar") == "x:star"
    assert legacy.canonical_id("amssymb-OT1-\\bigstar") == "x:star"
    assert legacy.canonical_id("wasysym-OT1-_Square") == "latex:wasysym:Square"
    assert legacy.canonical_id("wasysym-T1-\\Square") == "latex:wasysym:Square"
    assert legacy.canonical_id("amsmath-OT1-_dots-b") == "latex:amsmath:dots-b"
    assert legacy.canonical_id("wasysym-OT1-_Circle") is None  # the rule's id is not in the table
    assert legacy.canonical_id("wasysym-OT1-Square") is None
    assert legacy.canonical_id("Square") is None
