"""Exporting a checkpoint as the artifact the server loads."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from extexify_lsp.recognizer import METADATA_NAME, WEIGHTS_NAME, ModelArtifactError, Recognizer, sha256_file
from training.cli import main
from training.export import export


def test_export_replaces_an_existing_model(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    export(tiny_model.parent / "best.pt", out)
    export(tiny_model.parent / "last.pt", out, metrics={"model": {"top1": 0.5}})
    loaded = Recognizer.load(out, device="cpu")
    assert loaded.metadata["metrics"] == {"model": {"top1": 0.5}}
    assert sorted(p.name for p in out.iterdir()) == sorted([METADATA_NAME, WEIGHTS_NAME])


def test_failed_export_leaves_the_existing_model_alone(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    export(tiny_model.parent / "best.pt", out)
    before = sha256_file(out / WEIGHTS_NAME), (out / METADATA_NAME).read_text()
    checkpoint = torch.load(tiny_model.parent / "best.pt", weights_only=True)
    checkpoint["model"].pop(next(iter(checkpoint["model"])))  # weights that do not fit the architecture
    broken = tmp_path / "broken.pt"
    torch.save(checkpoint, broken)
    with pytest.raises(ModelArtifactError, match="does not fit the architecture"):
        export(broken, out)
    assert (sha256_file(out / WEIGHTS_NAME), (out / METADATA_NAME).read_text()) == before
    assert sorted(p.name for p in out.iterdir()) == sorted([METADATA_NAME, WEIGHTS_NAME])
    Recognizer.load(out, device="cpu")


@pytest.mark.parametrize("content", [b"", b"epoch,loss\n1,0.5\n"], ids=["empty", "text"])
def test_cli_export_of_a_file_that_is_not_a_checkpoint(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "best.pt").write_bytes(content)
    result = CliRunner().invoke(main, ["export", str(tmp_path / "best.pt"), "-o", str(tmp_path / "model")])
    assert result.exit_code == 1
    assert (
        result.output.count("\n") == 1 and "not a readable checkpoint (not a PyTorch archive" in result.output
    )
    assert not (tmp_path / "model").exists()
