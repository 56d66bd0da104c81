"""Load a model artifact once and rank LaTeX symbols for drawings: the API the server and benchmarks share.

An artifact is two files side by side: `extexify.safetensors` (weights only, no pickled code) and
`extexify.json` (metadata: symbol table in label order, model and raster config, data licence, commit,
test metrics, and the weights' sha256, so a mismatched pair is caught before it gives wrong answers).
Optional keys add the draw-alike groups ("groups") and a glyph atlas beside the weights ("glyphs");
an artifact without them loads with every symbol alone and no glyphs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from extexify_lsp.glyphs import GlyphAtlas, GlyphsError
from extexify_lsp.groups import GroupsError, SymbolGroups
from extexify_lsp.model import ModelConfig, SymbolNet, inference_copy, pick_device
from extexify_lsp.raster import RasterConfig, render_drawings
from extexify_lsp.symbols import Symbol, SymbolTable, SymbolTableError

ARTIFACT_FORMAT = "extexify-model"
ARTIFACT_VERSION = 1
METADATA_NAME = "extexify.json"
WEIGHTS_NAME = "extexify.safetensors"
BATCH = 256  # drawings per forward pass in recognize_batch


class ModelArtifactError(Exception):
    """The model artifact is missing, corrupt or inconsistent; the message says what and how to fix it."""


@dataclass(frozen=True)
class Candidate:
    symbol: Symbol
    score: float  # softmax probability


def default_model_path() -> Path:
    """The shipped model: inside the installed package (wheel), else the repository's `models/`."""
    packaged = Path(__file__).resolve().parent / "models"
    if (packaged / METADATA_NAME).is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "models"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def metadata_path(path: str | Path) -> Path:
    """The metadata file for an artifact named by its directory, metadata file or weights file."""
    path = Path(path)
    if path.is_dir():
        return path / METADATA_NAME
    if path.suffix == ".safetensors":
        return path.with_suffix(".json")
    return path


def _read_metadata(path: Path) -> dict[str, Any]:
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelArtifactError(
            f"no model metadata at {path}; point to a directory made by `extexify-train export`"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelArtifactError(
            f"{path} is not valid model metadata JSON ({error}); re-export the model"
        ) from None
    if not isinstance(metadata, dict) or metadata.get("format") != ARTIFACT_FORMAT:
        raise ModelArtifactError(
            f"{path} is not an extexify model metadata file (no format {ARTIFACT_FORMAT!r})"
        )
    if metadata.get("format_version") != ARTIFACT_VERSION:
        raise ModelArtifactError(
            f"{path} has artifact format version {metadata.get('format_version')!r}; this extexify reads "
            f"version {ARTIFACT_VERSION}: upgrade extexify or re-export the model"
        )
    return metadata


def _parse_metadata(metadata: dict[str, Any], where: Path) -> tuple[SymbolTable, ModelConfig, RasterConfig]:
    try:
        symbols = SymbolTable.from_list(metadata["symbols"])
        model_config = ModelConfig.from_dict(metadata["model"])
        raster = RasterConfig(**metadata["raster"])
        labels = list(metadata["labels"])
    except (KeyError, TypeError, ValueError, SymbolTableError) as error:
        raise ModelArtifactError(
            f"{where}: malformed metadata ({type(error).__name__}: {error}); re-export"
        ) from None
    if labels != symbols.ids:
        raise ModelArtifactError(
            f"{where}: 'labels' and the symbol table disagree on the label order; re-export"
        )
    if model_config.num_classes != len(symbols):
        raise ModelArtifactError(
            f"{where}: the model has {model_config.num_classes} outputs "
            f"but the metadata lists {len(symbols)} symbols; re-export"
        )
    if model_config.in_channels != raster.channels or model_config.input_size != raster.size:
        raise ModelArtifactError(
            f"{where}: the model reads {model_config.in_channels}x{model_config.input_size}px input "
            f"but the raster config makes {raster.channels}x{raster.size}px; re-export"
        )
    return symbols, model_config, raster


def _load_extras(
    metadata: dict[str, Any], meta_file: Path, symbols: SymbolTable
) -> tuple[SymbolGroups, GlyphAtlas | None]:
    """The draw-alike groups and glyph atlas the metadata names, if it names them."""
    try:
        groups = (
            SymbolGroups.from_metadata(metadata["groups"], symbols)
            if "groups" in metadata
            else SymbolGroups.alone()
        )
        glyphs = (
            GlyphAtlas.load(meta_file.parent, metadata["glyphs"], symbols) if "glyphs" in metadata else None
        )
    except (GroupsError, GlyphsError) as error:
        raise ModelArtifactError(f"{meta_file}: {error}") from None
    return groups, glyphs


class Recognizer:
    """A loaded model: ranks the symbol table for drawings (parse_strokes() output)."""

    def __init__(
        self,
        model: SymbolNet,
        raster: RasterConfig,
        symbols: SymbolTable,
        metadata: dict[str, Any],
        device: torch.device,
        groups: SymbolGroups | None = None,
        glyphs: GlyphAtlas | None = None,
    ) -> None:
        self.model = model.eval()
        self.raster = raster
        self.symbols = symbols
        self.metadata = metadata
        self.device = device
        self.groups = SymbolGroups.alone() if groups is None else groups
        self.glyphs = glyphs

    @property
    def version(self) -> str:
        """What the model is: its weights' sha256 ("" for a model built in memory)."""
        weights = self.metadata.get("weights")
        return str(weights.get("sha256", "")) if isinstance(weights, dict) else ""

    @classmethod
    def load(cls, path: str | Path | None = None, device: str = "auto") -> Recognizer:
        """Load an artifact (its directory, .json or .safetensors file; default: the shipped model)."""
        meta_file = metadata_path(default_model_path() if path is None else path)
        metadata = _read_metadata(meta_file)
        symbols, model_config, raster = _parse_metadata(metadata, meta_file)
        weights_info = metadata.get("weights")
        if not isinstance(weights_info, dict) or not {"file", "sha256"} <= weights_info.keys():
            raise ModelArtifactError(f"{meta_file}: metadata lacks 'weights' {{file, sha256}}; re-export")
        weights_file = meta_file.parent / str(weights_info["file"])
        if not weights_file.is_file():
            raise ModelArtifactError(f"{meta_file} names weights {weights_file}, which does not exist")
        if sha256_file(weights_file) != weights_info["sha256"]:
            raise ModelArtifactError(
                f"{weights_file} does not match the sha256 in {meta_file}: the weights and metadata "
                "come from different exports (or the file is damaged); re-export with `extexify-train export`"
            )
        try:
            state = load_file(weights_file)
        except (SafetensorError, OSError) as error:
            raise ModelArtifactError(f"{weights_file} is not a readable safetensors file ({error})") from None
        model = SymbolNet(model_config)
        try:
            model.load_state_dict(state)
        except RuntimeError as error:
            raise ModelArtifactError(
                f"{weights_file} does not fit the architecture in {meta_file}: {error}".splitlines()[0]
            ) from None
        groups, glyphs = _load_extras(metadata, meta_file, symbols)
        torch_device = pick_device(device)
        return cls(
            inference_copy(model).to(torch_device), raster, symbols, metadata, torch_device, groups, glyphs
        )

    def images(self, drawings: Sequence[Sequence[np.ndarray]]) -> torch.Tensor:
        """Normalize and render drawings into the model's input: (N, C, S, S), channels-last in memory like
        the inference copy's convolutions (with one channel, the first one would otherwise answer in the
        other layout, and the next ones convert it)."""
        return torch.from_numpy(render_drawings(drawings, self.raster)).to(memory_format=torch.channels_last)

    @torch.inference_mode()
    def probabilities(self, drawings: Sequence[Sequence[np.ndarray]]) -> torch.Tensor:
        """Softmax over all symbols for each drawing: (N, num_symbols), in label order, on the CPU."""
        out = []
        for start in range(0, len(drawings), BATCH):
            images = self.images(drawings[start : start + BATCH]).to(self.device)
            out.append(self.model(images).softmax(dim=1).cpu())  # (B, num_symbols)
        return torch.cat(out) if out else torch.zeros(0, len(self.symbols))

    @torch.inference_mode()
    def embed_and_classify(
        self, drawings: Sequence[Sequence[np.ndarray]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Embeddings (N, hidden) and probabilities (N, num_symbols) from one forward pass, on the CPU."""
        embeddings, probabilities = [], []
        for start in range(0, len(drawings), BATCH):
            images = self.images(drawings[start : start + BATCH]).to(self.device)
            embedded, logits = self.model.embed_and_classify(images)  # (B, hidden), (B, num_symbols)
            embeddings.append(embedded.cpu())
            probabilities.append(logits.softmax(dim=1).cpu())
        if not embeddings:
            return torch.zeros(0, self.model.config.hidden), torch.zeros(0, len(self.symbols))
        return torch.cat(embeddings), torch.cat(probabilities)

    def embed(self, drawings: Sequence[Sequence[np.ndarray]]) -> torch.Tensor:
        """The model's embedding of each drawing (its penultimate layer): (N, hidden), on the CPU."""
        return self.embed_and_classify(drawings)[0]

    def recognize_batch(self, drawings: Sequence[list[np.ndarray]], limit: int = 10) -> list[list[Candidate]]:
        """The `limit` most likely symbols for each drawing, best first."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if not drawings:
            return []
        scores, indices = self.probabilities(drawings).topk(min(limit, len(self.symbols)), dim=1)
        return [
            [Candidate(self.symbols[i], s) for i, s in zip(row_i.tolist(), row_s.tolist(), strict=True)]
            for row_i, row_s in zip(indices, scores, strict=True)
        ]

    def recognize(self, drawing: list[np.ndarray], limit: int = 10) -> list[Candidate]:
        """The `limit` most likely symbols for one drawing, best first."""
        return self.recognize_batch([drawing], limit)[0]
