"""Tiny real training runs on a few symbols of the shared data: learning, resume, seeding, export."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from extexify_lsp.model import ModelConfig
from extexify_lsp.raster import RasterConfig
from extexify_lsp.recognizer import Recognizer
from training.cli import main
from training.dataset import Dataset
from training.export import export
from training.split import Split
from training.train import TrainConfig, TrainingError, load_checkpoint, train

TINY = TrainConfig(
    epochs=6,
    batch_size=16,
    lr=3e-3,
    device="cpu",
    # The ink + motion input, so these tests cover it too (the shipped model reads ink only).
    model=ModelConfig(
        num_classes=6, in_channels=4, widths=(8, 16), convs_per_stage=(1, 1), hidden=32, dropout=0.1
    ),
    raster=RasterConfig(motion=True),
)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_tiny_run_learns(few_symbols: tuple[Dataset, Split], tmp_path: Path) -> None:
    dataset, split = few_symbols
    final = train(dataset, split.train, split.val, tmp_path, TINY)
    history = load_checkpoint(tmp_path / "last.pt")["history"]
    assert len(history) == TINY.epochs
    assert history[-1]["train"]["loss"] < 0.7 * history[0]["train"]["loss"]
    # Six classes: chance is 1/6 top-1.
    assert final["val"]["top1"] > 0.5
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["best_top5"] == max(entry["val"]["top5"] for entry in history)


def test_resume_continues_where_it_stopped(few_symbols: tuple[Dataset, Split], tmp_path: Path) -> None:
    dataset, split = few_symbols
    short = replace(TINY, epochs=2)
    train(dataset, split.train, split.val, tmp_path, short)
    first = load_checkpoint(tmp_path / "last.pt")
    train(dataset, split.train, split.val, tmp_path, replace(TINY, epochs=3), resume=True)
    resumed = load_checkpoint(tmp_path / "last.pt")
    assert resumed["epoch"] == 2
    assert [e["epoch"] for e in resumed["history"]] == [1, 2, 3]
    assert resumed["history"][:2] == first["history"]
    assert not torch.equal(resumed["model"]["classifier.6.weight"], first["model"]["classifier.6.weight"])


def test_resume_refuses_other_settings(few_symbols: tuple[Dataset, Split], tmp_path: Path) -> None:
    dataset, split = few_symbols
    train(dataset, split.train, split.val, tmp_path, replace(TINY, epochs=1))
    with pytest.raises(TrainingError, match="other settings"):
        train(dataset, split.train, split.val, tmp_path, replace(TINY, epochs=2, lr=1e-2), resume=True)


def test_same_seed_same_weights(few_symbols: tuple[Dataset, Split], tmp_path: Path) -> None:
    dataset, split = few_symbols
    one = replace(TINY, epochs=1)
    train(dataset, split.train, split.val, tmp_path / "a", one)
    train(dataset, split.train, split.val, tmp_path / "b", one)
    a, b = load_checkpoint(tmp_path / "a" / "last.pt"), load_checkpoint(tmp_path / "b" / "last.pt")
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])


def test_mismatched_model_config_is_refused(few_symbols: tuple[Dataset, Split], tmp_path: Path) -> None:
    dataset, split = few_symbols
    wrong = replace(TINY, model=replace(TINY.model, num_classes=7))
    with pytest.raises(TrainingError, match="6 symbols"):
        train(dataset, split.train, split.val, tmp_path, wrong)


def test_cli_train_then_export_gives_a_loadable_recognizer(
    few_symbols_files: tuple[Path, Path], tmp_path: Path
) -> None:
    dataset_path, split_path = few_symbols_files
    runner = CliRunner()
    args = ["train", str(dataset_path), "--split", str(split_path), "-o", str(tmp_path / "run")]
    args += ["--epochs", "2", "--batch-size", "16", "--widths", "8,16", "--convs", "1,1", "--hidden", "32"]
    result = runner.invoke(main, [*args, "--device", "cpu", "--threads", "1"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["export", str(tmp_path / "run" / "best.pt"), "-o", str(tmp_path / "model")])
    assert result.exit_code == 0, result.output
    recognizer = Recognizer.load(tmp_path / "model")
    dataset = Dataset.load(dataset_path)
    assert recognizer.symbols.ids == dataset.symbols.ids
    assert recognizer.metadata["data"]["license"] == "ODbL-1.0"
    candidates = recognizer.recognize(dataset.drawing(0), limit=3)
    assert len(candidates) == 3
    assert np.isclose(sum(c.score for c in recognizer.recognize(dataset.drawing(0), limit=6)), 1.0, atol=1e-5)


def test_cli_train_reports_a_missing_split(few_symbols_files: tuple[Path, Path], tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["train", str(few_symbols_files[0]), "--split", str(tmp_path / "nope.npz"), "-o", str(tmp_path)]
    )
    assert result.exit_code != 0
    assert "no such split file" in result.output


def test_export_refuses_a_file_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(TrainingError, match="not a readable checkpoint"):
        export(tmp_path / "junk.pt", tmp_path / "model")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cli_train_on_cuda_without_a_gpu_is_a_clear_error(
    few_symbols_files: tuple[Path, Path], tmp_path: Path
) -> None:
    dataset_path, split_path = few_symbols_files
    args = ["train", str(dataset_path), "--split", str(split_path), "-o", str(tmp_path), "--device", "cuda"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "no CUDA device is available" in result.output
