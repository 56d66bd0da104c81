"""Tiny real training runs on a few symbols of the shared data: learning, resume, seeding, export."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from extexify_lsp.model import ModelConfig
from extexify_lsp.raster import RasterConfig
from extexify_lsp.recognizer import Recognizer
from extexify_lsp.symbols import SymbolTable
from training.cli import main
from training.dataset import Dataset
from training.export import export
from training.split import Split, make_split
from training.train import TrainConfig, TrainingError, checkpoint_history, load_checkpoint, train

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
    history = checkpoint_history(load_checkpoint(tmp_path / "last.pt"))
    assert len(history) == TINY.epochs and final == history[-1]
    assert history[-1].train.loss < 0.7 * history[0].train.loss
    # Six classes: chance is 1/6 top-1.
    assert final.val is not None and final.val.top1 > 0.5
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["best_top5"] == max(entry.val.top5 for entry in history if entry.val)
    assert json.loads((tmp_path / "history.json").read_text()) == [entry.to_dict() for entry in history]


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


def _train_args(dataset_path: Path, split_path: Path, out: Path) -> list[str]:
    args = ["train", str(dataset_path), "--split", str(split_path), "-o", str(out), "--device", "cpu"]
    return [*args, "--batch-size", "16", "--widths", "8,16", "--convs", "1,1", "--hidden", "32"]


def test_cli_train_on_fewer_symbols_than_top5(few_symbols: tuple[Dataset, Split], tmp_path: Path) -> None:
    dataset, _ = few_symbols
    keep = dataset.symbols.ids[:3]
    table = SymbolTable(s for s in dataset.symbols if s.id in keep)
    three = Dataset.from_drawings(
        table,
        (
            (str(dataset.sample_ids[i]), dataset.symbol_id(i), dataset.drawing(i))
            for i in range(len(dataset))
            if dataset.symbol_id(i) in keep
        ),
    )
    three.save(tmp_path / "three.npz")
    make_split(three).save(tmp_path / "split.npz")
    args = _train_args(tmp_path / "three.npz", tmp_path / "split.npz", tmp_path / "run")
    result = CliRunner().invoke(main, [*args, "--epochs", "1", "--threads", "1"])
    assert result.exit_code == 0, result.output
    (entry,) = checkpoint_history(load_checkpoint(tmp_path / "run" / "last.pt"))
    # Top-5 of three symbols: every drawing has its symbol among them.
    assert entry.train.top5 == 1.0 and entry.val is not None and entry.val.top5 == 1.0


@pytest.mark.parametrize(
    "option", [["--threads", "0"], ["--threads", "-2"], ["--epochs", "0"], ["--batch-size", "0"]]
)
def test_cli_train_refuses_bad_numbers_in_one_line(
    few_symbols_files: tuple[Path, Path], tmp_path: Path, option: list[str]
) -> None:
    result = CliRunner().invoke(main, [*_train_args(*few_symbols_files, tmp_path / "run"), *option])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option[0]}'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_train_config_refuses_no_epochs() -> None:
    with pytest.raises(TrainingError, match="epochs must be at least 1"):
        replace(TINY, epochs=0)


def test_cli_resume_of_a_finished_run_says_so(few_symbols_files: tuple[Path, Path], tmp_path: Path) -> None:
    args = [*_train_args(*few_symbols_files, tmp_path / "run"), "--threads", "1", "--epochs", "1"]
    assert CliRunner().invoke(main, args).exit_code == 0
    result = CliRunner().invoke(main, [*args, "--resume"])
    assert result.exit_code == 1
    assert "has trained 1 epoch(s) already and --epochs 1 asks for no more" in result.output
