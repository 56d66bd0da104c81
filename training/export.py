"""Turn a training checkpoint into the model artifact the server loads (see extexify_lsp.recognizer)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from safetensors.torch import save_file

from extexify_lsp.recognizer import (
    ARTIFACT_FORMAT,
    ARTIFACT_VERSION,
    METADATA_NAME,
    WEIGHTS_NAME,
    Recognizer,
    sha256_file,
)
from training.groups import GLYPHS_NAME, attach_run
from training.train import checkpoint_history, checkpoint_parts, load_checkpoint

LICENSE_NOTICE = (
    "This model is derived from the Detexify database (detexify.kirelabs.org; curated data in "
    "kirel/detexify-next, packages/data/source), made available under the Open Database License (ODbL 1.0): "
    "https://opendatacommons.org/licenses/odbl/1-0/. Credit: Daniel Kirsch (kirel) and the Detexify "
    "contributors who drew the samples."
)


def git_commit(repo: Path) -> str:
    """The checked-out commit of `repo` (with '-dirty' if it has uncommitted changes), or 'unknown'."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def export(
    checkpoint_path: str | Path,
    out_dir: str | Path,
    metrics: dict[str, Any] | None = None,
    groups: Path | None = None,
) -> Path:
    """Write the weights and metadata to `out_dir`, check they load, and return the metadata path.

    With `groups`, a folder made by `extexify-train groups` for the same symbols, the artifact also
    carries its draw-alike groups and glyph atlas.

    The pair is written and loaded in a scratch folder first, so a failed export leaves a model already
    in `out_dir` as it was.
    """
    checkpoint = load_checkpoint(checkpoint_path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))
    try:
        _write_artifact(checkpoint, scratch, metrics)
        if groups is not None:
            attach_run(groups, scratch)
        Recognizer.load(scratch, device="cpu")  # fail here, not in the server, if the pair does not load
        # Weights first: between the two renames the loader refuses the pair by its sha256.
        for name in (WEIGHTS_NAME, *([GLYPHS_NAME] if groups is not None else []), METADATA_NAME):
            os.replace(scratch / name, out_dir / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return out_dir / METADATA_NAME


def _write_artifact(checkpoint: dict[str, Any], out_dir: Path, metrics: dict[str, Any] | None) -> None:
    model_config, raster, symbols = checkpoint_parts(checkpoint)
    weights = out_dir / WEIGHTS_NAME
    save_file({k: v.contiguous() for k, v in checkpoint["model"].items()}, weights)
    weights.chmod(0o644)  # safetensors writes owner-only; the model ships to every user
    train_config = checkpoint["train_config"]
    history = checkpoint_history(checkpoint)
    metadata = {
        "format": ARTIFACT_FORMAT,
        "format_version": ARTIFACT_VERSION,
        "weights": {"file": WEIGHTS_NAME, "sha256": sha256_file(weights)},
        "model": model_config.to_dict(),
        "raster": raster.to_dict(),
        "input": {"channels": raster.channels, "size": raster.size},
        "labels": symbols.ids,
        "symbols": symbols.to_list(),
        "data": {
            "source": checkpoint["data_source"],
            "samples": checkpoint["samples"],
            "license": "ODbL-1.0",
            "notice": LICENSE_NOTICE,
        },
        "training": {
            "epochs": checkpoint["epoch"] + 1,
            "seconds": round(sum(entry.seconds for entry in history), 1),
            "fit_on": train_config["fit_on"],
            "seed": train_config["seed"],
            "augment": train_config["augment"],
            "last_epoch": history[-1].to_dict(),
        },
        "commit": git_commit(Path(__file__).resolve().parent.parent),
        "metrics": metrics,
    }
    (out_dir / METADATA_NAME).write_text(json.dumps(metadata, indent=1) + "\n", encoding="utf-8")
