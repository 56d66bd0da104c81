"""Benchmark the recognizer: test-split accuracy next to the DTW baseline, and CPU speed.

    python bench/recognize.py [--model models] [--source ../shared/data/detexify-source.tar.gz]

Imports the source, splits it with the default seed (the split the shipped model was trained on),
runs `training.evaluate.evaluate` (full report in runs/bench-report/, not committed: its confusion
picture shows drawings from the data), times the stages of one recognition on one thread, and writes
the headline numbers to bench/results/recognize.json and the per-package accuracy plot beside it.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from record import write_results

from extexify_lsp.recognizer import Recognizer, default_model_path
from extexify_lsp.strokes import normalize
from training.evaluate import EvalConfig, evaluate, summary_metrics
from training.sources import import_source
from training.split import make_split

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def stage_times(recognizer: Recognizer, drawings: list[list[np.ndarray]]) -> dict[str, float]:
    """Median milliseconds of each stage of recognizing one drawing, on one thread."""
    prepare, forward = [], []
    for drawing in drawings:
        start = time.perf_counter()
        images = recognizer.images([drawing])
        middle = time.perf_counter()
        with torch.inference_mode():
            recognizer.model(images).softmax(dim=1).topk(10)
        end = time.perf_counter()
        prepare.append((middle - start) * 1000)
        forward.append((end - middle) * 1000)
    normalize_ms = []
    for drawing in drawings:
        start = time.perf_counter()
        normalize(drawing)
        normalize_ms.append((time.perf_counter() - start) * 1000)
    return {
        "normalize_median_ms": statistics.median(normalize_ms),
        "normalize_and_render_median_ms": statistics.median(prepare),
        "forward_and_rank_median_ms": statistics.median(forward),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument(
        "--source", type=Path, default=ROOT.parent / "shared" / "data" / "detexify-source.tar.gz"
    )
    parser.add_argument("--dtw-samples", type=int, help="DTW on a random subset of the test split [all]")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--report", type=Path, default=ROOT / "runs" / "bench-report")
    args = parser.parse_args()

    recognizer = Recognizer.load(args.model, device="cpu")
    dataset, _ = import_source(args.source)
    split = make_split(dataset)
    reference = np.concatenate([split.train, split.val])
    metrics = evaluate(
        recognizer,
        dataset,
        split.test,
        reference,
        args.report,
        EvalConfig(dtw_samples=args.dtw_samples),
    )
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copy(args.report / "accuracy_per_package.png", args.out / "recognize_per_package.png")
    torch.set_num_threads(1)
    sample = np.random.default_rng(0).choice(split.test, 300, replace=False)
    stages = stage_times(recognizer, [dataset.drawing(int(i)) for i in sample])
    result = {
        **summary_metrics(metrics),
        "latency": {**asdict(metrics.latency), **stages},
        "dtw_ms_per_drawing": metrics.dtw.ms_per_drawing,
        "model_file": str(args.model),
        "model_commit": recognizer.metadata.get("commit"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1min": os.getloadavg()[0],  # the machine is shared; this says how busy it was
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }
    write_results(args.out / "recognize.json", result)


if __name__ == "__main__":
    main()
