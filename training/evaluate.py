"""Judge a model on a test split next to the DTW nearest-neighbour baseline: numbers, report, plots."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from matplotlib.figure import Figure
from tqdm import tqdm

from extexify_lsp.raster import RasterConfig, render_drawings
from extexify_lsp.recognizer import Recognizer
from extexify_lsp.symbols import Symbol, SymbolTableError
from training.dataset import Dataset
from training.dtw import DTWClassifier, DTWConfig

KS = (1, 5, 10)
CORE = "latex2e (core)"
Reference = Literal["train", "train+val"]  # the drawings DTW compares against


class EvaluationError(ValueError):
    """The model and the evaluation data do not fit together."""


@dataclass(frozen=True)
class EvalConfig:
    dtw: DTWConfig = field(default_factory=DTWConfig)
    dtw_samples: int | None = None  # DTW on a fixed random subset of this many test drawings; None: all
    dtw_reference: Reference = "train+val"
    latency_drawings: int = 300
    confusion_pairs: int = 12
    seed: int = 0


def topk_accuracy(ranked: np.ndarray, truth: np.ndarray, ks: Sequence[int] = KS) -> dict[str, float]:
    """Share of rows of `ranked` ((N, K) labels, best first) holding the true label in the first k."""
    hit = ranked == truth[:, None]
    return {f"top{k}": float(hit[:, :k].any(axis=1).mean()) if len(truth) else 0.0 for k in ks}


def confused_pairs(predicted: np.ndarray, truth: np.ndarray, count: int) -> list[tuple[int, int, int]]:
    """The most frequent (true label, predicted label, times) among wrong top-1 predictions."""
    wrong = Counter((int(t), int(p)) for t, p in zip(truth, predicted, strict=True) if t != p)
    return [(t, p, n) for (t, p), n in wrong.most_common(count)]


def measure_latency(recognizer: Recognizer, drawings: Sequence[list[np.ndarray]]) -> dict[str, float]:
    """Per-drawing latency on one CPU thread (normalize + render + forward + rank) and batched throughput.

    Wall-clock time, and CPU time of this process: on a shared machine the second is what the work
    costs, the first also counts waiting for a core.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        recognizer.recognize(drawings[0])  # warm-up: first-call allocations are not the steady state
        wall, cpu = [], []
        for drawing in drawings:
            start, start_cpu = time.perf_counter(), time.process_time()
            recognizer.recognize(drawing, limit=10)
            wall.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        start, start_cpu = time.perf_counter(), time.process_time()
        recognizer.recognize_batch(drawings, limit=10)
        batch_wall, batch_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    finally:
        torch.set_num_threads(threads)
    return {
        "median_ms": statistics.median(wall),
        "p90_ms": float(np.percentile(wall, 90)),
        "median_cpu_ms": statistics.median(cpu),
        "batched_per_second": len(drawings) / batch_wall,
        "batched_per_cpu_second": len(drawings) / batch_cpu,
        "threads": 1,
        "drawings": len(drawings),
    }


def _model_labels(recognizer: Recognizer, dataset: Dataset, indices: np.ndarray) -> np.ndarray:
    """The model's label for each sample (the model and the dataset may order their symbols differently)."""
    try:
        mapping = np.array([recognizer.symbols.index(s.id) for s in dataset.symbols])
    except SymbolTableError as error:
        raise EvaluationError(f"the dataset has a symbol the model does not know: {error}") from None
    return mapping[dataset.labels[indices]]


def evaluate(
    recognizer: Recognizer,
    dataset: Dataset,
    test: np.ndarray,
    reference: np.ndarray,
    out_dir: str | Path,
    config: EvalConfig = EvalConfig(),
) -> dict[str, Any]:
    """Evaluate model and DTW (against `reference`) on `test`; write the report and return the metrics."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if len(test) == 0:
        raise EvaluationError("the test split is empty")
    truth = _model_labels(recognizer, dataset, test)
    drawings = [dataset.drawing(int(i)) for i in test]
    depth = min(max(KS), len(recognizer.symbols))
    ranked = np.concatenate(
        [
            recognizer.probabilities(drawings[start : start + 1024]).topk(depth, dim=1).indices.numpy()
            for start in tqdm(range(0, len(drawings), 1024), desc="model on test split", leave=False)
        ]
    )
    model = topk_accuracy(ranked, truth)
    # The same command can live in several packages (\rightleftharpoons in latex2e and amssymb): taking
    # one for the other still gives the user the right command, so count that separately too.
    commands = np.unique([s.command for s in recognizer.symbols], return_inverse=True)[1]
    same_command = topk_accuracy(commands[ranked], commands[truth])
    packages = np.array([recognizer.symbols[t].package or CORE for t in truth])
    per_package = {
        package: {
            "samples": int((packages == package).sum()),
            **topk_accuracy(ranked[packages == package], truth[packages == package]),
        }
        for package in sorted(set(packages))
    }

    rng = np.random.default_rng(config.seed)
    dtw_rows = np.arange(len(test))
    if config.dtw_samples is not None and config.dtw_samples < len(test):
        dtw_rows = np.sort(rng.choice(len(test), config.dtw_samples, replace=False))
    reference_labels = _model_labels(recognizer, dataset, reference)
    classifier = DTWClassifier([dataset.drawing(int(i)) for i in reference], reference_labels, config.dtw)
    dtw_ranked = np.full((len(dtw_rows), max(KS)), -1)
    started = time.perf_counter()
    for row, i in enumerate(tqdm(dtw_rows, desc="DTW baseline", leave=False)):
        labels = classifier.rank(drawings[i], max(KS))
        dtw_ranked[row, : len(labels)] = labels
    dtw_ms = (time.perf_counter() - started) * 1000 / len(dtw_rows)
    dtw = topk_accuracy(dtw_ranked, truth[dtw_rows])
    model_on_dtw_rows = topk_accuracy(ranked[dtw_rows], truth[dtw_rows])
    for package, row in per_package.items():
        chosen = packages[dtw_rows] == package
        row["dtw_top5"] = (
            topk_accuracy(dtw_ranked[chosen], truth[dtw_rows][chosen])["top5"] if chosen.any() else None
        )

    latency_rows = rng.choice(len(test), min(config.latency_drawings, len(test)), replace=False)
    latency = measure_latency(recognizer, [drawings[i] for i in latency_rows])
    pairs = confused_pairs(ranked[:, 0], truth, config.confusion_pairs)
    metrics = {
        "test_samples": len(test),
        "symbols": len(recognizer.symbols),
        "model": model,
        "model_same_command": same_command,
        "dtw": {**dtw, "samples": len(dtw_rows), "ms_per_drawing": dtw_ms, "config": asdict(config.dtw)},
        "model_on_dtw_samples": model_on_dtw_rows,
        "latency": latency,
        "per_package": per_package,
        "confused_pairs": [
            {"true": recognizer.symbols[t].id, "predicted": recognizer.symbols[p].id, "count": n}
            for t, p, n in pairs
        ],
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plot_per_package(per_package, out_dir / "accuracy_per_package.png")
    plot_confusions(
        recognizer, dataset, test, reference, ranked[:, 0], truth, pairs, out_dir / "confused_pairs.png"
    )
    (out_dir / "report.md").write_text(render_report(metrics, recognizer))
    return metrics


def plot_per_package(per_package: dict[str, dict[str, Any]], path: Path) -> None:
    names = sorted(per_package, key=lambda p: per_package[p]["samples"])
    y = np.arange(len(names))
    fig = Figure(figsize=(8, 0.28 * len(names) + 1.5))
    ax = fig.subplots()
    for offset, key, label in (
        (-0.27, "top1", "model top-1"),
        (0.0, "top5", "model top-5"),
        (0.27, "dtw_top5", "DTW top-5"),
    ):
        values = [per_package[n][key] or 0.0 for n in names]
        ax.barh(y + offset, values, height=0.27, label=label)
    ax.set_yticks(y, [f"{n} ({per_package[n]['samples']})" for n in names], fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("accuracy on the test split (test drawings per package in brackets)")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _label(symbol: Symbol) -> str:
    return f"{symbol.command} [{symbol.package or 'core'}]"


def plot_confusions(
    recognizer: Recognizer,
    dataset: Dataset,
    test: np.ndarray,
    reference: np.ndarray,
    predicted: np.ndarray,
    truth: np.ndarray,
    pairs: list[tuple[int, int, int]],
    path: Path,
) -> None:
    """Each confused pair side by side: a test drawing of the true symbol, a training drawing of the guess."""
    display = RasterConfig(size=64, line_width=0.05)
    reference_truth = _model_labels(recognizer, dataset, reference)
    fig = Figure(figsize=(4.2, 1.9 * max(len(pairs), 1)))
    axes = fig.subplots(max(len(pairs), 1), 2, squeeze=False)
    for row, (true, guess, count) in enumerate(pairs):
        mistaken = test[np.flatnonzero((truth == true) & (predicted == guess))[0]]
        # The model may know symbols the evaluation data has no drawing of.
        examples = reference[reference_truth == guess]
        for ax, index, title in (
            (axes[row, 0], mistaken, f"drawn: {_label(recognizer.symbols[true])}"),
            (
                axes[row, 1],
                examples[0] if len(examples) else None,
                f"taken for: {_label(recognizer.symbols[guess])} ({count}x)",
            ),
        ):
            if index is None:
                ax.text(0.5, 0.5, "no drawing of it\nin this data", ha="center", va="center", fontsize=8)
            else:
                image = render_drawings([dataset.drawing(int(index))], display)[0, 0]  # ink
                ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    if not pairs:
        for ax in axes[0]:
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def render_report(metrics: dict[str, Any], recognizer: Recognizer) -> str:
    model, dtw, latency = metrics["model"], metrics["dtw"], metrics["latency"]
    same = metrics["model_on_dtw_samples"]
    lines = [
        "# extexify recognizer: test-split evaluation",
        "",
        f"{metrics['test_samples']} test drawings of {metrics['symbols']} symbols; "
        f"model commit `{recognizer.metadata.get('commit', 'unknown')}`.",
        "",
        "| method | drawings | top-1 | top-5 | top-10 | time per drawing |",
        "|---|---|---|---|---|---|",
        f"| CNN (this model) | {metrics['test_samples']} | {model['top1']:.3f} | {model['top5']:.3f} | "
        f"{model['top10']:.3f} | {latency['median_ms']:.2f} ms median (1 thread) |",
    ]
    if dtw["samples"] != metrics["test_samples"]:
        lines.append(
            f"| CNN on the DTW subset | {dtw['samples']} | {same['top1']:.3f} | {same['top5']:.3f} | "
            f"{same['top10']:.3f} | |"
        )
    lines += [
        f"| CNN, any symbol with the right command | {metrics['test_samples']} | "
        f"{metrics['model_same_command']['top1']:.3f} | {metrics['model_same_command']['top5']:.3f} | "
        f"{metrics['model_same_command']['top10']:.3f} | |",
        f"| DTW nearest neighbour (Detexify-style) | {dtw['samples']} | {dtw['top1']:.3f} | "
        f"{dtw['top5']:.3f} | {dtw['top10']:.3f} | {dtw['ms_per_drawing']:.1f} ms |",
        "",
        f"Batched recognition: {latency['batched_per_second']:.0f} drawings/s (1 thread); single drawing "
        f"p90 {latency['p90_ms']:.2f} ms over {latency['drawings']} drawings. In CPU time (what the work "
        f"costs when the machine is shared): {latency['median_cpu_ms']:.2f} ms per drawing, "
        f"{latency['batched_per_cpu_second']:.0f} drawings per CPU-second batched.",
        f"DTW: {dtw['config']['points']} resampled points, band {dtw['config']['band']}, "
        f"Euclidean shortlist of {dtw['config']['shortlist']} re-ranked by exact DTW.",
        "",
        "## Accuracy per package",
        "",
        "![accuracy per package](accuracy_per_package.png)",
        "",
        "| package | test drawings | top-1 | top-5 | top-10 | DTW top-5 |",
        "|---|---|---|---|---|---|",
    ]
    for package, row in sorted(metrics["per_package"].items()):
        dtw5 = "" if row["dtw_top5"] is None else f"{row['dtw_top5']:.3f}"
        lines.append(
            f"| {package} | {row['samples']} | {row['top1']:.3f} | {row['top5']:.3f} | "
            f"{row['top10']:.3f} | {dtw5} |"
        )
    lines += ["", "## Most confused pairs", "", "![confused pairs](confused_pairs.png)", ""]
    lines += ["| drawn | taken for | times |", "|---|---|---|"]
    for pair in metrics["confused_pairs"]:
        true, guess = recognizer.symbols.get(pair["true"]), recognizer.symbols.get(pair["predicted"])
        lines.append(
            f"| `{true.command}` ({pair['true']}) | `{guess.command}` ({pair['predicted']}) "
            f"| {pair['count']} |"
        )
    return "\n".join(lines) + "\n"


def summary_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of an evaluation, as recorded in the model metadata."""
    return {
        "split": "test",
        "test_samples": metrics["test_samples"],
        "model": metrics["model"],
        "model_same_command": metrics["model_same_command"],
        "dtw_baseline": {k: metrics["dtw"][k] for k in ("top1", "top5", "top10", "samples")},
        "latency": {
            k: metrics["latency"][k]
            for k in ("median_ms", "median_cpu_ms", "batched_per_second", "batched_per_cpu_second")
        },
    }
