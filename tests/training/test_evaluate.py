"""Evaluation report and the DTW baseline, on a tiny model trained on a few real symbols."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from extexify_lsp.recognizer import Recognizer, default_model_path, metadata_path
from training.cli import main
from training.dataset import Dataset
from training.dtw import DTWClassifier, DTWConfig, dtw_distances, resample
from training.evaluate import (
    EvalConfig,
    EvaluationError,
    TopK,
    confused_pairs,
    evaluate,
    load_metrics,
    plot_confusions,
    topk_accuracy,
)
from training.split import Split


def test_topk_accuracy_and_confusions() -> None:
    ranked = np.array([[0, 1, 2, 3, 4, 5], [2, 1, 0, 3, 4, 5], [1, 2, 3, 4, 5, 0], [1, 0, 2, 3, 4, 5]])
    truth = np.array([0, 1, 0, 0])
    assert topk_accuracy(ranked, truth) == TopK(top1=0.25, top5=0.75, top10=1.0)
    assert confused_pairs(ranked[:, 0], truth, 5) == [(0, 1, 2), (1, 2, 1)]


def test_resample_keeps_order_and_marks_pen_lifts() -> None:
    drawing = [np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 1.0], [1.0, 1.0]])]
    points = resample(drawing, DTWConfig(points=9, pen_up_weight=0.5))
    assert points.shape == (9, 3)
    assert np.allclose(points[0, :2], [0, 0]) and np.allclose(points[-1, :2], [1, 1])
    # The middle third of the joined path is the jump from the first stroke's end to the second's start.
    assert set(points[:, 2]) == {0.0, 0.5}
    assert points[4, 2] == 0.5 and points[0, 2] == 0.0 and points[-1, 2] == 0.0


def test_dtw_forgives_timing_that_euclid_does_not() -> None:
    t = np.linspace(0, 1, 32)
    query = np.column_stack([t, np.sin(3 * t), np.zeros_like(t)])
    slower = np.column_stack([t**1.5, np.sin(3 * t**1.5), np.zeros_like(t)])  # same path, other pace
    other = np.column_stack([t, np.cos(3 * t), np.zeros_like(t)])
    distances = dtw_distances(query, np.stack([query, slower, other]), band=8)
    assert distances[0] == 0.0
    assert distances[1] < 0.5 * np.linalg.norm(query - slower, axis=1).sum()
    assert distances[1] < distances[2]


def test_dtw_classifier_recognizes_real_drawings(few_symbols: tuple[Dataset, Split]) -> None:
    dataset, split = few_symbols
    classifier = DTWClassifier(
        [dataset.drawing(int(i)) for i in split.train], dataset.labels[split.train], DTWConfig()
    )
    ranked = np.array([classifier.rank(dataset.drawing(int(i)), 3) for i in split.test])
    assert topk_accuracy(ranked, dataset.labels[split.test]).top1 > 0.6  # chance: 1/6


def test_evaluate_writes_report_and_plots(
    tiny_model: Path, few_symbols: tuple[Dataset, Split], tmp_path: Path
) -> None:
    dataset, split = few_symbols
    recognizer = Recognizer.load(tiny_model, device="cpu")
    config = EvalConfig(latency_drawings=10, dtw_samples=12)
    metrics = evaluate(
        recognizer, dataset, split.test, np.concatenate([split.train, split.val]), tmp_path, config
    )
    assert metrics.test_samples == len(split.test)
    assert metrics.dtw.samples == 12
    for method in (metrics.model, metrics.dtw):
        assert method.top1 <= method.top5 <= method.top10
    assert metrics.model.top10 == 1.0  # six symbols: all of them are in the top 10
    assert metrics.model.top1 > 1 / 6
    assert sum(row.samples for row in metrics.per_package.values()) == len(split.test)
    assert metrics.latency.median_ms > 0 and metrics.latency.batched_per_second > 0
    report = (tmp_path / "report.md").read_text()
    assert "DTW nearest neighbour" in report and "CNN on the DTW subset" in report
    for png in ("accuracy_per_package.png", "confused_pairs.png"):
        with Image.open(tmp_path / png) as image:
            assert image.format == "PNG" and image.width > 100
    assert json.loads((tmp_path / "metrics.json").read_text())["model"] == asdict(metrics.model)
    assert load_metrics(tmp_path / "metrics.json") == metrics


def test_evaluate_refuses_symbols_the_model_does_not_know(
    tiny_model: Path, few_symbols: tuple[Dataset, Split], tmp_path: Path
) -> None:
    dataset, split = few_symbols
    recognizer = Recognizer.load(tiny_model, device="cpu")
    renamed = replace(recognizer.symbols[0], id="latex:nowhere:nothing")
    other = Dataset.from_drawings(
        type(dataset.symbols)([renamed, *list(dataset.symbols)[1:]]),
        (
            (
                str(dataset.sample_ids[i]),
                renamed.id if dataset.labels[i] == 0 else dataset.symbol_id(i),
                dataset.drawing(i),
            )
            for i in range(len(dataset))
        ),
    )
    with pytest.raises(EvaluationError, match="does not know"):
        evaluate(recognizer, other, split.test, split.train, tmp_path)


def test_cli_evaluate_then_export_records_the_metrics(
    tiny_model: Path, few_symbols_files: tuple[Path, Path], tmp_path: Path
) -> None:
    dataset_path, split_path = few_symbols_files
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            *("evaluate", str(tiny_model), "--data", str(dataset_path), "--split", str(split_path)),
            *("-o", str(tmp_path / "report"), "--dtw-samples", "6"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "DTW top-1" in result.output
    checkpoint = tiny_model.parent / "best.pt"
    result = runner.invoke(
        main,
        [
            "export",
            str(checkpoint),
            "-o",
            str(tmp_path / "model"),
            "--metrics",
            str(tmp_path / "report" / "metrics.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    recorded = Recognizer.load(tmp_path / "model").metadata["metrics"]
    assert recorded["dtw_baseline"]["samples"] == 6
    assert 0 <= recorded["model"]["top1"] <= 1
    # The shape the shipped model's metadata has.
    shipped = json.loads(metadata_path(default_model_path()).read_text())["metrics"]
    assert recorded.keys() == shipped.keys()
    assert {k: v.keys() for k, v in recorded.items() if isinstance(v, dict)} == {
        k: v.keys() for k, v in shipped.items() if isinstance(v, dict)
    }

    (tmp_path / "bad.json").write_text('{"model": {"top1": 0.5}}')
    args = ["export", str(checkpoint), "-o", str(tmp_path / "other"), "--metrics", str(tmp_path / "bad.json")]
    result = runner.invoke(main, args)
    assert result.exit_code == 1 and "not a metrics.json of `extexify-train evaluate`" in result.output


def test_cli_evaluate_reports_a_bad_model_path(few_symbols_files: tuple[Path, Path], tmp_path: Path) -> None:
    dataset_path, split_path = few_symbols_files
    result = CliRunner().invoke(
        main, ["evaluate", str(tmp_path), "--data", str(dataset_path), "--split", str(split_path)]
    )
    assert result.exit_code != 0
    assert "no model metadata" in result.output


def test_confusion_picture_when_the_data_has_no_drawing_of_the_guess(
    tiny_model: Path, few_symbols: tuple[Dataset, Split], tmp_path: Path
) -> None:
    dataset, split = few_symbols
    recognizer = Recognizer.load(tiny_model, device="cpu")
    truth = dataset.labels[split.test]  # the tiny model was trained on this dataset: same label order
    guess = int(truth.max())
    predicted = np.full_like(truth, guess)
    reference = split.train[dataset.labels[split.train] != guess]
    pairs = confused_pairs(predicted, truth, 3)
    assert pairs and all(p == guess for _, p, _ in pairs)
    plot_confusions(
        recognizer, dataset, split.test, reference, predicted, truth, pairs, tmp_path / "pairs.png"
    )
    with Image.open(tmp_path / "pairs.png") as image:
        assert image.format == "PNG" and image.height > 100
