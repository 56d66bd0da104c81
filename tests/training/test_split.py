"""`extexify-train split`: a seeded split, stratified per symbol, stored with the ids it belongs to."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from extexify_lsp.symbols import Symbol, SymbolTable
from training.cli import main
from training.dataset import Dataset
from training.sources import import_source
from training.split import Split, SplitError, make_split

SYMBOLS = ["latex:amssymb:bigstar", "latex:amsmath:dotsb", "latex:latex2e:alpha", "latex:amsmath:iint"]


def _counted_dataset(counts: list[int]) -> Dataset:
    """A dataset with counts[k] one-point drawings of symbol k (the split looks at labels and ids only)."""
    table = SymbolTable(Symbol(f"test:{k}", f"\\s{k}", None, "OT1", "math") for k in range(len(counts)))
    items = [
        (f"sample:{k}:{j}", f"test:{k}", [np.array([[0.5, 0.5]])])
        for k, n in enumerate(counts)
        for j in range(n)
    ]
    return Dataset.from_drawings(table, items)


@pytest.fixture(scope="module")
def dataset(source_tarball: Path) -> Dataset:
    return import_source(source_tarball, SYMBOLS)[0]


def _assert_partition(split: Split, size: int) -> None:
    parts = [split.train, split.val, split.test]
    everything = np.concatenate(parts)
    assert len(everything) == len(np.unique(everything)) == size  # no sample twice, none left out
    for part in parts:
        assert part.dtype == np.int64 and (np.diff(part) > 0).all()


@settings(deadline=None, max_examples=60)
@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=12),
    st.integers(0, 2**32 - 1),
    st.floats(0.05, 0.4),
    st.floats(0.05, 0.4),
)
def test_every_symbol_with_three_samples_is_in_every_split(
    counts: list[int], seed: int, val_fraction: float, test_fraction: float
) -> None:
    data = _counted_dataset(counts)
    split = make_split(data, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)
    _assert_partition(split, len(data))
    for part in (split.train, split.val, split.test):
        present = set(data.labels[part])
        assert present >= {k for k, n in enumerate(counts) if n >= 3}
    assert split.few_samples == tuple(f"test:{k}" for k, n in enumerate(counts) if n < 3)
    assert set(data.labels[split.train]) >= {k for k, n in enumerate(counts) if 0 < n < 3}


def test_same_seed_same_split_other_seed_other_split(dataset: Dataset) -> None:
    first, again, other = (
        make_split(dataset, seed=3),
        make_split(dataset, seed=3),
        make_split(dataset, seed=4),
    )
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(first, part), getattr(again, part))
    assert not np.array_equal(first.test, other.test)


def test_default_fractions_are_80_10_10_per_symbol(dataset: Dataset) -> None:
    split = make_split(dataset)
    for label in np.unique(dataset.labels):
        count = (dataset.labels == label).sum()
        assert (dataset.labels[split.val] == label).sum() == max(1, round(count * 0.1))
        assert (dataset.labels[split.test] == label).sum() == max(1, round(count * 0.1))
    assert len(split.train) / len(dataset) == pytest.approx(0.8, abs=0.02)


def test_the_split_follows_sample_ids_not_file_order(dataset: Dataset) -> None:
    shuffled = dataset.subset(np.random.default_rng(1).permutation(len(dataset)))
    for part in ("train", "val", "test"):
        ids = set(dataset.sample_ids[getattr(make_split(dataset, seed=9), part)])
        assert ids == set(shuffled.sample_ids[getattr(make_split(shuffled, seed=9), part)])


def test_save_load_round_trip_and_dataset_check(dataset: Dataset, tmp_path: Path) -> None:
    split = make_split(dataset, seed=5, val_fraction=0.2, test_fraction=0.15)
    split.save(tmp_path / "split.npz")
    loaded = Split.load(tmp_path / "split.npz", dataset)
    for part in ("train", "val", "test", "sample_ids"):
        np.testing.assert_array_equal(getattr(loaded, part), getattr(split, part))
    assert (loaded.seed, loaded.val_fraction, loaded.test_fraction) == (5, 0.2, 0.15)

    with pytest.raises(SplitError, match="made for a different dataset"):
        Split.load(tmp_path / "split.npz", dataset.subset(range(len(dataset) - 1)))
    with pytest.raises(SplitError, match="made for a different dataset"):
        loaded.check(dataset.subset(range(len(dataset))[::-1]))


def test_bad_split_files_and_fractions_are_clear_errors(dataset: Dataset, tmp_path: Path) -> None:
    with pytest.raises(SplitError, match="no such split file"):
        Split.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a split")
    with pytest.raises(SplitError, match="not an extexify split file"):
        Split.load(tmp_path / "junk.npz")
    make_split(dataset).save(tmp_path / "whole.npz")
    (tmp_path / "cut.npz").write_bytes((tmp_path / "whole.npz").read_bytes()[:2000])
    with pytest.raises(SplitError, match="not an extexify split file"):
        Split.load(tmp_path / "cut.npz")
    with pytest.raises(SplitError, match="leave room for training"):
        make_split(dataset, val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(SplitError, match="leave room for training"):
        make_split(dataset, val_fraction=-0.1)


def test_cli_split_writes_the_split_and_reports_rare_symbols(tmp_path: Path) -> None:
    _counted_dataset([10, 2, 0, 5]).save(tmp_path / "data.npz")
    result = CliRunner().invoke(main, ["split", str(tmp_path / "data.npz"), "-o", str(tmp_path / "s.npz")])
    assert result.exit_code == 0, result.output
    assert "2 symbols have fewer than 3 samples and are only in train: test:1, test:2" in result.output
    split = Split.load(tmp_path / "s.npz", Dataset.load(tmp_path / "data.npz"))
    assert f"train {len(split.train)}, val {len(split.val)}, test {len(split.test)} samples" in result.output

    result = CliRunner().invoke(main, ["split", str(tmp_path / "none.npz"), "-o", str(tmp_path / "s.npz")])
    assert result.exit_code == 1 and "no such dataset file" in result.output
    result = CliRunner().invoke(
        main, ["split", str(tmp_path / "data.npz"), "--val-fraction", "0.9", "-o", str(tmp_path / "s.npz")]
    )
    assert result.exit_code == 1 and "leave room for training" in result.output


@pytest.mark.slow
def test_full_dataset_fixture_is_split_by_default(full_dataset_and_split: tuple[Dataset, Split]) -> None:
    full, split = full_dataset_and_split
    split.check(full)
    _assert_partition(split, len(full))
    assert (split.seed, split.val_fraction, split.test_fraction) == (0, 0.1, 0.1)
    assert len(full.symbols) == len(np.unique(full.labels[split.test]))


@pytest.mark.parametrize("content", [b"", b"sample,symbol\n1,alpha\n"], ids=["empty", "text"])
def test_cli_split_of_a_file_that_is_not_a_dataset(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "data.npz").write_bytes(content)
    result = CliRunner().invoke(main, ["split", str(tmp_path / "data.npz"), "-o", str(tmp_path / "s.npz")])
    assert result.exit_code == 1
    assert (
        result.output
        == f"Error: {tmp_path / 'data.npz'}: not an extexify dataset file (not a .npz archive)\n"
    )
    assert not (tmp_path / "s.npz").exists()
