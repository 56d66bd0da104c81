"""The shipped model artifact: it loads, its metadata is right, it recognizes; broken copies are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from extexify_lsp.model import ModelConfig, SymbolNet
from extexify_lsp.raster import RasterConfig
from extexify_lsp.recognizer import (
    METADATA_NAME,
    WEIGHTS_NAME,
    Candidate,
    ModelArtifactError,
    Recognizer,
    default_model_path,
    sha256_file,
)
from extexify_lsp.strokes import InvalidStrokesError, parse_strokes
from training.dataset import Dataset
from training.sources import read_symbol_table
from training.split import Split


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.load(device="cpu")


@pytest.fixture
def artifact_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped artifact (weights, metadata, glyph atlas) to damage."""
    shutil.copytree(default_model_path(), tmp_path, dirs_exist_ok=True)
    return tmp_path


def edit_metadata(directory: Path, change) -> None:
    path = directory / METADATA_NAME
    metadata = json.loads(path.read_text())
    change(metadata)
    path.write_text(json.dumps(metadata))


def test_shipped_metadata_matches_the_data_and_the_code(recognizer: Recognizer, source_tarball: Path) -> None:
    metadata = recognizer.metadata
    source_symbols = read_symbol_table(source_tarball)
    assert recognizer.symbols.to_list() == source_symbols.to_list()
    assert metadata["labels"] == source_symbols.ids
    assert set(metadata["raster"]) == set(RasterConfig().to_dict())
    assert metadata["input"] == {"channels": recognizer.raster.channels, "size": recognizer.raster.size}
    assert metadata["data"]["license"] == "ODbL-1.0"
    assert "Detexify" in metadata["data"]["notice"]
    assert metadata["commit"]
    assert metadata["weights"]["sha256"] == sha256_file(default_model_path() / WEIGHTS_NAME)


def test_shipped_model_reaches_top5_on_the_test_split(
    recognizer: Recognizer, full_dataset_and_split: tuple[Dataset, Split]
) -> None:
    dataset, split = full_dataset_and_split
    assert recognizer.symbols.ids == dataset.symbols.ids
    drawings = [dataset.drawing(int(i)) for i in split.test]
    with torch.inference_mode():
        top5 = recognizer.probabilities(drawings).topk(5, dim=1).indices.numpy()
    truth = dataset.labels[split.test]
    accuracy = float((top5 == truth[:, None]).any(axis=1).mean())
    assert accuracy >= 0.90, f"top-5 {accuracy:.3f} on {len(truth)} test drawings"


def test_recognize_ranks_candidates(recognizer: Recognizer) -> None:
    # A plus sign drawn by code: two crossing strokes.
    drawing = parse_strokes([[[0, 50], [100, 50]], [[50, 0], [50, 100]]])
    candidates = recognizer.recognize(drawing, limit=5)
    assert len(candidates) == 5
    assert all(isinstance(c, Candidate) for c in candidates)
    scores = [c.score for c in candidates]
    assert scores == sorted(scores, reverse=True)
    assert 0 < sum(scores) <= 1 + 1e-6


def test_images_are_channels_last_like_the_model(recognizer: Recognizer) -> None:
    drawing = parse_strokes([[[0, 50], [100, 50]], [[50, 0], [50, 100]]])
    images = recognizer.images([drawing, drawing])
    assert images.shape == (2, recognizer.raster.channels, recognizer.raster.size, recognizer.raster.size)
    # Channels-last: the channel stride is 1 (with one channel, the other layout also counts as contiguous).
    assert images.is_contiguous(memory_format=torch.channels_last) and images.stride(1) == 1
    assert torch.equal(images, images.contiguous())  # the same pixels, in another memory layout


def test_recognize_batch_agrees_with_single_drawings(
    recognizer: Recognizer, full_dataset_and_split: tuple[Dataset, Split]
) -> None:
    dataset, split = full_dataset_and_split
    drawings = [[s.astype(np.float64) for s in dataset.drawing(int(i))] for i in split.test[:20]]
    batched = recognizer.recognize_batch(drawings, limit=3)
    for drawing, row in zip(drawings, batched, strict=True):
        single = recognizer.recognize(drawing, limit=3)
        assert [c.symbol.id for c in single] == [c.symbol.id for c in row]
        # float16 weights: a batch and a single drawing round a little differently
        assert np.allclose([c.score for c in single], [c.score for c in row], atol=1e-4)
    assert recognizer.recognize_batch([], limit=3) == []


def test_limit_is_clamped_and_checked(recognizer: Recognizer) -> None:
    drawing = parse_strokes([[[0, 0], [10, 10]]])
    assert len(recognizer.recognize(drawing, limit=10_000)) == len(recognizer.symbols)
    with pytest.raises(ValueError, match="limit"):
        recognizer.recognize(drawing, limit=0)
    with pytest.raises(InvalidStrokesError):
        recognizer.recognize([], limit=3)


@pytest.mark.parametrize("name", [None, METADATA_NAME, WEIGHTS_NAME])
def test_load_accepts_directory_metadata_or_weights_path(artifact_copy: Path, name: str | None) -> None:
    loaded = Recognizer.load(artifact_copy if name is None else artifact_copy / name, device="cpu")
    assert len(loaded.symbols) == loaded.model.config.num_classes


def test_missing_artifact(tmp_path: Path) -> None:
    with pytest.raises(ModelArtifactError, match="no model metadata"):
        Recognizer.load(tmp_path)


def test_damaged_weights_fail_the_checksum(artifact_copy: Path) -> None:
    weights = artifact_copy / WEIGHTS_NAME
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelArtifactError, match="does not match the sha256"):
        Recognizer.load(artifact_copy)


def test_truncated_weights_with_matching_checksum(artifact_copy: Path) -> None:
    weights = artifact_copy / WEIGHTS_NAME
    weights.write_bytes(weights.read_bytes()[:1000])
    edit_metadata(artifact_copy, lambda m: m["weights"].update(sha256=sha256_file(weights)))
    with pytest.raises(ModelArtifactError, match="not a readable safetensors file"):
        Recognizer.load(artifact_copy)


def test_weights_of_another_architecture(artifact_copy: Path) -> None:
    weights = artifact_copy / WEIGHTS_NAME
    config = ModelConfig.from_dict(json.loads((artifact_copy / METADATA_NAME).read_text())["model"])
    other = SymbolNet(ModelConfig(**{**config.to_dict(), "hidden": config.hidden + 8}))
    save_file(other.state_dict(), weights)
    edit_metadata(artifact_copy, lambda m: m["weights"].update(sha256=sha256_file(weights)))
    with pytest.raises(ModelArtifactError, match="does not fit the architecture"):
        Recognizer.load(artifact_copy)


def test_missing_weights_file(artifact_copy: Path) -> None:
    (artifact_copy / WEIGHTS_NAME).unlink()
    with pytest.raises(ModelArtifactError, match="does not exist"):
        Recognizer.load(artifact_copy)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(format_version=99), "format version 99"),
        (lambda m: m["labels"].reverse(), "label order"),
        (lambda m: (m["symbols"].pop(), m["labels"].pop()), "outputs but the metadata lists"),
        (lambda m: m["raster"].update(motion=not m["raster"]["motion"]), "raster config makes"),
        (lambda m: m.pop("model"), "malformed metadata"),
        (lambda m: m.pop("weights"), "lacks 'weights'"),
        (lambda m: m.update(format="something-else"), "not an extexify model"),
    ],
)
def test_metadata_that_disagrees_is_refused(artifact_copy: Path, change, message: str) -> None:
    edit_metadata(artifact_copy, change)
    with pytest.raises(ModelArtifactError, match=message):
        Recognizer.load(artifact_copy)


def test_metadata_that_is_not_json(artifact_copy: Path) -> None:
    (artifact_copy / METADATA_NAME).write_text("{ not json")
    with pytest.raises(ModelArtifactError, match="not valid model metadata JSON"):
        Recognizer.load(artifact_copy)
