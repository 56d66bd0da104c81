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


@dataclass(frozen=True)
class TopK:
    """Share of drawings whose symbol is the first guess, among the first 5, among the first 10."""

    top1: float
    top5: float
    top10: float


@dataclass(frozen=True)
class DTWMetrics(TopK):
    samples: int  # test drawings DTW ranked (a subset when EvalConfig.dtw_samples is set)
    ms_per_drawing: float
    config: DTWConfig


@dataclass(frozen=True)
class PackageMetrics(TopK):
    samples: int  # test drawings of the package's symbols
    dtw_top5: float | None  # None when the DTW subset holds none of them


@dataclass(frozen=True)
class Latency:
    """Recognition time on one CPU thread (see `measure_latency`)."""

    median_ms: float
    p90_ms: float
    median_cpu_ms: float
    batched_per_second: float
    batched_per_cpu_second: float
    threads: int
    drawings: int


@dataclass(frozen=True)
class ConfusedPair:
    true: str  # symbol id
    predicted: str
    count: int


@dataclass(frozen=True)
class EvalMetrics:
    """What `evaluate` measures; metrics.json holds `to_dict()`."""

    test_samples: int
    symbols: int
    model: TopK
    model_same_command: TopK  # a guess with the right command in another package counts as right
    dtw: DTWMetrics
    model_on_dtw_samples: TopK
    latency: Latency
    per_package: dict[str, PackageMetrics]
    confused_pairs: list[ConfusedPair]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> EvalMetrics:
        dtw = raw["dtw"]
        return cls(
            test_samples=raw["test_samples"],
            symbols=raw["symbols"],
            model=TopK(**raw["model"]),
            model_same_command=TopK(**raw["model_same_command"]),
            dtw=DTWMetrics(**{**dtw, "config": DTWConfig(**dtw["config"])}),
            model_on_dtw_samples=TopK(**raw["model_on_dtw_samples"]),
            latency=Latency(**raw["latency"]),
            per_package={name: PackageMetrics(**row) for name, row in raw["per_package"].items()},
            confused_pairs=[ConfusedPair(**pair) for pair in raw["confused_pairs"]],
        )


def load_metrics(path: Path) -> EvalMetrics:
    """The metrics.json that `evaluate` wrote."""
    try:
        return EvalMetrics.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise EvaluationError(
            f"{path}: not a metrics.json of `extexify-train evaluate` ({type(error).__name__}: {error})"
        ) from None


def topk_accuracy(ranked: np.ndarray, truth: np.ndarray) -> TopK:
    """Share of rows of `ranked` ((N, K) labels, best first) holding the true label in the first 1, 5, 10."""
    hit = ranked == truth[:, None]
    top1, top5, top10 = (float(hit[:, :k].any(axis=1).mean()) if len(truth) else 0.0 for k in KS)
    return TopK(top1, top5, top10)


def confused_pairs(predicted: np.ndarray, truth: np.ndarray, count: int) -> list[tuple[int, int, int]]:
    """The most frequent (true label, predicted label, times) among wrong top-1 predictions."""
    wrong = Counter((int(t), int(p)) for t, p in zip(truth, predicted, strict=True) if t != p)
    return [(t, p, n) for (t, p), n in wrong.most_common(count)]


def measure_latency(recognizer: Recognizer, drawings: Sequence[list[np.ndarray]]) -> Latency:
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
    return Latency(
        median_ms=statistics.median(wall),
        p90_ms=float(np.percentile(wall, 90)),
        median_cpu_ms=statistics.median(cpu),
        batched_per_second=len(drawings) / batch_wall,
        batched_per_cpu_second=len(drawings) / batch_cpu,
        threads=1,
        drawings=len(drawings),
    )


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
) -> EvalMetrics:
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
    per_package = {}
    for package in sorted(set(packages)):
        rows, dtw_chosen = packages == package, packages[dtw_rows] == package
        per_package[package] = PackageMetrics(
            **asdict(topk_accuracy(ranked[rows], truth[rows])),
            samples=int(rows.sum()),
            dtw_top5=(
                topk_accuracy(dtw_ranked[dtw_chosen], truth[dtw_rows][dtw_chosen]).top5
                if dtw_chosen.any()
                else None
            ),
        )

    latency_rows = rng.choice(len(test), min(config.latency_drawings, len(test)), replace=False)
    pairs = confused_pairs(ranked[:, 0], truth, config.confusion_pairs)
    metrics = EvalMetrics(
        test_samples=len(test),
        symbols=len(recognizer.symbols),
        model=model,
        model_same_command=same_command,
        dtw=DTWMetrics(**asdict(dtw), samples=len(dtw_rows), ms_per_drawing=dtw_ms, config=config.dtw),
        model_on_dtw_samples=topk_accuracy(ranked[dtw_rows], truth[dtw_rows]),
        latency=measure_latency(recognizer, [drawings[i] for i in latency_rows]),
        per_package=per_package,
        confused_pairs=[
            ConfusedPair(recognizer.symbols[t].id, recognizer.symbols[p].id, n) for t, p, n in pairs
        ],
    )
    (out_dir / "metrics.json").write_text(json.dumps(metrics.to_dict(), indent=2) + "\n")
    plot_per_package(per_package, out_dir / "accuracy_per_package.png")
    plot_confusions(
        recognizer, dataset, test, reference, ranked[:, 0], truth, pairs, out_dir / "confused_pairs.png"
    )
    (out_dir / "report.md").write_text(render_report(metrics, recognizer))
    return metrics


def plot_per_package(per_package: dict[str, PackageMetrics], path: Path) -> None:
    names = sorted(per_package, key=lambda p: per_package[p].samples)
    rows = [per_package[n] for n in names]
    y = np.arange(len(names))
    fig = Figure(figsize=(8, 0.28 * len(names) + 1.5))
    ax = fig.subplots()
    for offset, values, label in (
        (-0.27, [row.top1 for row in rows], "model top-1"),
        (0.0, [row.top5 for row in rows], "model top-5"),
        (0.27, [row.dtw_top5 or 0.0 for row in rows], "DTW top-5"),
    ):
        ax.barh(y + offset, values, height=0.27, label=label)
    ax.set_yticks(y, [f"{n} ({row.samples})" for n, row in zip(names, rows, strict=True)], fontsize=7)
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


def _accuracy_row(method: str, drawings: int, accuracy: TopK, time: str = "") -> str:
    top = f"{accuracy.top1:.3f} | {accuracy.top5:.3f} | {accuracy.top10:.3f}"
    return f"| {method} | {drawings} | {top} | {time} |"


def render_report(metrics: EvalMetrics, recognizer: Recognizer) -> str:
    dtw, latency = metrics.dtw, metrics.latency
    lines = [
        "# extexify recognizer: test-split evaluation",
        "",
        f"{metrics.test_samples} test drawings of {metrics.symbols} symbols; "
        f"model commit `{recognizer.metadata.get('commit', 'unknown')}`.",
        "",
        "| method | drawings | top-1 | top-5 | top-10 | time per drawing |",
        "|---|---|---|---|---|---|",
        _accuracy_row(
            "CNN (this model)",
            metrics.test_samples,
            metrics.model,
            f"{latency.median_ms:.2f} ms median (1 thread)",
        ),
    ]
    if dtw.samples != metrics.test_samples:
        lines.append(_accuracy_row("CNN on the DTW subset", dtw.samples, metrics.model_on_dtw_samples))
    lines += [
        _accuracy_row(
            "CNN, any symbol with the right command", metrics.test_samples, metrics.model_same_command
        ),
        _accuracy_row(
            "DTW nearest neighbour (Detexify-style)", dtw.samples, dtw, f"{dtw.ms_per_drawing:.1f} ms"
        ),
        "",
        f"Batched recognition: {latency.batched_per_second:.0f} drawings/s (1 thread); single drawing "
        f"p90 {latency.p90_ms:.2f} ms over {latency.drawings} drawings. In CPU time (what the work "
        f"costs when the machine is shared): {latency.median_cpu_ms:.2f} ms per drawing, "
        f"{latency.batched_per_cpu_second:.0f} drawings per CPU-second batched.",
        f"DTW: {dtw.config.points} resampled points, band {dtw.config.band}, "
        f"Euclidean shortlist of {dtw.config.shortlist} re-ranked by exact DTW.",
        "",
        "## Accuracy per package",
        "",
        "![accuracy per package](accuracy_per_package.png)",
        "",
        "| package | test drawings | top-1 | top-5 | top-10 | DTW top-5 |",
        "|---|---|---|---|---|---|",
    ]
    for package, row in sorted(metrics.per_package.items()):
        dtw5 = "" if row.dtw_top5 is None else f"{row.dtw_top5:.3f}"
        lines.append(_accuracy_row(package, row.samples, row, dtw5))
    lines += ["", "## Most confused pairs", "", "![confused pairs](confused_pairs.png)", ""]
    lines += ["| drawn | taken for | times |", "|---|---|---|"]
    for pair in metrics.confused_pairs:
        true, guess = recognizer.symbols.get(pair.true), recognizer.symbols.get(pair.predicted)
        lines.append(
            f"| `{true.command}` ({pair.true}) | `{guess.command}` ({pair.predicted}) | {pair.count} |"
        )
    return "\n".join(lines) + "\n"


def summary_metrics(metrics: EvalMetrics) -> dict[str, Any]:
    """The headline numbers of an evaluation, as recorded in the model metadata (plain JSON)."""
    latency = metrics.latency
    return {
        "split": "test",
        "test_samples": metrics.test_samples,
        "model": asdict(metrics.model),
        "model_same_command": asdict(metrics.model_same_command),
        "dtw_baseline": {
            **asdict(TopK(metrics.dtw.top1, metrics.dtw.top5, metrics.dtw.top10)),
            "samples": metrics.dtw.samples,
        },
        "latency": {
            "median_ms": latency.median_ms,
            "median_cpu_ms": latency.median_cpu_ms,
            "batched_per_second": latency.batched_per_second,
            "batched_per_cpu_second": latency.batched_per_cpu_second,
        },
    }
