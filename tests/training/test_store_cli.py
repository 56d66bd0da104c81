"""`extexify-train import --store`, `store stats` and `store export` on real SQLite and PostgreSQL stores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from extexify_lsp.store import UserSymbol, open_store
from tests.postgres import throwaway_database
from training.cli import main
from training.dataset import Dataset

MYCIRC = UserSymbol.new("\\mycirc", "mypkg", "both")
ALPHA = "latex:latex2e:alpha"
LEQ = "latex:amssymb:leq"
# As a canvas client sends them: pixels, y down, times in ms.
CIRCLE = [[[150, 0, 0], [300, 150, 16], [150, 300, 32], [0, 150, 48], [150, 0, 64]]]
WEDGE = [[[0, 0, 0], [90, 45, 16], [0, 90, 32]], [[0, 120, 60], [90, 120, 76]]]


def fill(spec: str) -> None:
    """Two taught samples of a user symbol, a picked and a taught built-in one, and two unusable ones."""
    store = open_store(spec)
    assert store is not None
    store.ensure_symbol(MYCIRC)
    store.add_sample(CIRCLE, MYCIRC.id, "taught", "sha")
    store.add_sample(CIRCLE, MYCIRC.id, "taught", "sha")
    store.add_sample(WEDGE, ALPHA, "picked", "sha")
    store.add_sample(WEDGE, LEQ, "taught", "sha")
    store.add_sample(WEDGE, "latex:retired:symbol", "picked", "sha")
    store.add_sample([["not", "points"]], ALPHA, "picked", "sha")
    store.close()


@pytest.fixture
def store_file(tmp_path: Path) -> str:
    path = str(tmp_path / "samples.sqlite3")
    fill(path)
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_import_a_store_alone(store_file: str, source_tarball: Path, tmp_path: Path) -> None:
    out = tmp_path / "store.npz"
    code, stdout, stderr = run(
        "import", "--store", store_file, "--symbols", str(source_tarball), "-o", str(out)
    )
    assert code == 0, stderr
    assert "imported 4 samples" in stderr
    assert "skipped 1: symbol not in the symbol table" in stderr and "latex:retired:symbol" in stderr
    assert "skipped 1: invalid strokes" in stderr
    assert f"wrote 4 samples of 3 symbols to {out}" in stdout
    dataset = Dataset.load(out)
    # The user symbol joins the symbol table after the model's symbols.
    assert dataset.symbols[len(dataset.symbols) - 1] == dataset.symbols.get(MYCIRC.id)
    mine = dataset.symbols.get(MYCIRC.id)
    assert (mine.command, mine.package, mine.mode) == ("\\mycirc", "mypkg", "both")
    assert ALPHA in dataset.symbols and len(dataset.symbols) > 1000
    assert [dataset.symbol_id(i) for i in range(len(dataset))] == [MYCIRC.id, MYCIRC.id, ALPHA, LEQ]
    assert all(str(i).startswith("store:") for i in dataset.sample_ids)
    circle = dataset.drawing(0)[0]
    # Fitted into the unit square like every imported drawing; the times kept.
    assert np.allclose(circle[:, :2].min(axis=0), 0) and np.allclose(circle[:, :2].max(axis=0), 1)
    assert circle[:, 2].tolist() == [0, 16, 32, 48, 64]


def test_import_a_store_with_the_source(store_file: str, source_tarball: Path, tmp_path: Path) -> None:
    out = tmp_path / "both.npz"
    code, _, stderr = run(
        "import", str(source_tarball), "--only", ALPHA, "--store", store_file, "-o", str(out)
    )
    assert code == 0, stderr
    dataset = Dataset.load(out)
    assert dataset.symbols.ids == [ALPHA, MYCIRC.id]
    ids = [dataset.symbol_id(i) for i in range(len(dataset))]
    source = ids.count(ALPHA) - 1
    assert source > 10  # the source's drawings of alpha come first, then the store's
    assert ids == [ALPHA] * source + [MYCIRC.id, MYCIRC.id, ALPHA]
    # \leq is not among the --only symbols: counted, not silently dropped.
    assert "skipped 2: symbol not in the symbol table" in stderr and LEQ in stderr


def test_strict_import_of_a_store_with_unusable_samples_writes_nothing(
    store_file: str, source_tarball: Path, tmp_path: Path
) -> None:
    out = tmp_path / "strict.npz"
    code, _, stderr = run(
        "import", "--store", store_file, "--symbols", str(source_tarball), "--strict", "-o", str(out)
    )
    assert code == 1 and "--strict: 2 rows cannot be used" in stderr
    assert not out.exists()


def test_store_import_misuse_is_a_one_line_error(
    store_file: str, source_tarball: Path, tmp_path: Path
) -> None:
    code, _, stderr = run("import", "x.sql", "--dsn", "postgresql:///x", "--store", store_file)
    assert code == 2 and "not to a SQL import" in stderr
    missing = tmp_path / "missing.sqlite3"
    out = tmp_path / "out.npz"
    code, _, stderr = run("import", "--store", str(missing), "--symbols", str(source_tarball), "-o", str(out))
    assert code == 1 and stderr.strip() == f"Error: there is no store at {missing}"
    assert not missing.exists() and not out.exists()


def test_stats_count_samples_per_symbol_and_source(store_file: str) -> None:
    code, stdout, stderr = run("store", "stats", "--store", store_file)
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert lines[0] == f"{store_file}: 6 samples (3 taught, 3 picked) of 4 symbols; 1 user symbols"
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert rows == {
        MYCIRC.id: ["2", "0"],
        ALPHA: ["0", "2"],
        LEQ: ["1", "0"],
        "latex:retired:symbol": ["0", "1"],
    }


def test_export_writes_the_users_data_as_json_lines(store_file: str, tmp_path: Path) -> None:
    out = tmp_path / "mine.jsonl"
    code, _, stderr = run("store", "export", "--store", store_file, "-o", str(out))
    assert code == 0, stderr
    assert f"exported 1 user symbols and 6 samples from {store_file}" in stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert records[0] == {
        "type": "symbol",
        "id": MYCIRC.id,
        "command": "\\mycirc",
        "package": "mypkg",
        "mode": "both",
    }
    samples = records[1:]
    assert [r["type"] for r in samples] == ["sample"] * 6
    assert samples[0]["strokes"] == CIRCLE and samples[0]["source"] == "taught"
    assert samples[0]["modelVersion"] == "sha" and samples[0]["created"] > 1.7e9
    code, stdout, _ = run("store", "export", "--store", store_file)
    assert code == 0 and stdout == out.read_text(encoding="utf-8")


def test_a_missing_store_is_an_error_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.sqlite3"
    for command in (("store", "stats"), ("store", "export")):
        code, stdout, stderr = run(*command, "--store", str(missing))
        assert code == 1 and f"there is no store at {missing}" in stderr and stdout == ""
    assert not missing.exists()


def test_a_postgres_store(source_tarball: Path, tmp_path: Path) -> None:
    with throwaway_database() as url:
        fill(url)
        code, stdout, _ = run("store", "stats", "--store", url)
        assert code == 0 and "6 samples (3 taught, 3 picked)" in stdout
        out = tmp_path / "team.npz"
        code, _, stderr = run("import", "--store", url, "--symbols", str(source_tarball), "-o", str(out))
        assert code == 0, stderr
        assert Dataset.load(out).symbols.ids[-1] == MYCIRC.id
