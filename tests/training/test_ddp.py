"""Two-process DistributedDataParallel training on CPU (gloo) under torchrun, as on a multi-GPU machine."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import torch

from training.train import load_checkpoint


def test_torchrun_two_processes_write_one_checkpoint(
    few_symbols_files: tuple[Path, Path], tmp_path: Path
) -> None:
    dataset_path, split_path = few_symbols_files
    command = shutil.which("extexify-train") or str(Path(sys.executable).parent / "extexify-train")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "--no-python",
            command,
            "train",
            str(dataset_path),
            "--split",
            str(split_path),
            "-o",
            str(tmp_path / "run"),
            "--epochs=2",
            "--batch-size=8",
            "--widths=8,16",
            "--convs=1,1",
            "--hidden=32",
            "--device=cpu",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    checkpoint = load_checkpoint(tmp_path / "run" / "last.pt")
    assert checkpoint["epoch"] == 1
    assert len(checkpoint["history"]) == 2
    # One model, not a DDP wrapper: the keys are those a single process writes.
    assert not any(key.startswith("module.") for key in checkpoint["model"])
    assert checkpoint["model"]["classifier.6.weight"].shape == torch.Size([6, 32])
    # Each process trained on its half of the data (full batches of 8 only).
    half = -(-checkpoint["samples"]["train"] // 2)
    assert checkpoint["history"][-1]["train"]["samples"] == half // 8 * 8
    assert (tmp_path / "run" / "best.pt").is_file()
