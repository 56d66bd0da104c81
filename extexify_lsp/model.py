"""The recognizer network: a small VGG-style CNN over rendered strokes, shared by training and the server."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, fields
from typing import Any, cast

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval


class DeviceUnavailableError(RuntimeError):
    """The requested device is not on this machine; the message says what to use instead."""


def pick_device(name: str = "auto") -> torch.device:
    """'auto' (CUDA when present, else the CPU), 'cpu' or 'cuda' as a torch device."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError(
            "--device cuda, but no CUDA device is available: use --device cpu or auto"
        )
    return torch.device(name)


@dataclass(frozen=True)
class ModelConfig:
    num_classes: int = 1123
    in_channels: int = 1  # RasterConfig.channels: 1 (ink) or 4 (ink, pen direction dx, dy, progress)
    input_size: int = 32
    widths: tuple[int, ...] = (32, 64, 128)  # one stage per width, each halves the resolution
    convs_per_stage: tuple[int, ...] = (1, 1, 2)
    hidden: int = 384
    dropout: float = 0.3

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown model config fields {sorted(unknown)}")
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        return cls(**values)


def _conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class SymbolNet(nn.Module):
    """Conv stages (3x3 conv, BN, ReLU; 2x2 max-pool) then a two-layer classifier over the flattened map."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if len(config.widths) != len(config.convs_per_stage):
            raise ValueError("widths and convs_per_stage need one entry per stage")
        self.config = config
        layers: list[nn.Module] = []
        channels = config.in_channels
        for width, convs in zip(config.widths, config.convs_per_stage, strict=True):
            for _ in range(convs):
                layers.append(_conv(channels, width))
                channels = width
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        side = config.input_size // 2 ** len(config.widths)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(config.dropout),
            nn.Linear(channels * side * side, config.hidden),
            nn.BatchNorm1d(config.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.num_classes),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, S, S) rendered drawings -> (B, num_classes) logits."""
        features = self.features(images)  # (B, widths[-1], S / 2**stages, S / 2**stages), (B, 128, 4, 4)
        return self.classifier(features)  # (B, num_classes)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, S, S) rendered drawings -> (B, hidden) embeddings: the penultimate layer."""
        return self.embed_and_classify(images)[0]

    def embed_and_classify(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, S, S) -> the (B, hidden) embeddings and the (B, num_classes) logits, in one pass."""
        features = self.features(images)  # (B, 128, 4, 4)
        # classifier[:-1]: flatten, dropout, Linear + BN + ReLU, dropout (the dropouts are identities in eval)
        embeddings = self.classifier[:-1](features)  # (B, hidden), >= 0 after the ReLU
        return embeddings, self.classifier[-1](embeddings)  # (B, hidden), (B, num_classes)


class HalfLinear(nn.Module):
    """A linear layer for inference that keeps its weights in float16; float32 in and out.

    Per drawing, a linear layer reads each of its weights once: the classifier's 4.8 MB of float32 weights
    took half a millisecond on a CPU whose caches other work had filled, about twice what float16 takes.
    The outputs move by about 1e-3 (probabilities by at most 1e-3 on the test split).
    """

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.weight = nn.Parameter(linear.weight.detach().half(), requires_grad=False)
        self.bias = nn.Parameter(linear.bias.detach().half(), requires_grad=False)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, in) -> (B, out), float32."""
        return nn.functional.linear(inputs.to(self.weight.dtype), self.weight, self.bias).float()


def inference_copy(model: SymbolNet) -> SymbolNet:
    """A copy of the model made for inference only: it cannot be trained.

    Each BatchNorm is folded into the conv or linear layer before it (a BatchNorm is a pass over the
    activations of its own: about a third of a drawing's time on the CPU); the convolutions work in the
    channels-last layout, which oneDNN runs a fifth faster on the CPU for one drawing or 256; and the
    classifier's linear layers keep float16 weights (see HalfLinear).
    """
    folded = copy.deepcopy(model).eval()
    for block in folded.features:
        if isinstance(block, nn.Sequential):  # conv, BN, ReLU
            conv = fuse_conv_bn_eval(cast(nn.Conv2d, block[0]), cast(nn.BatchNorm2d, block[1]))
            # Its output takes the weights' layout, and the next conv's input is that output.
            conv.weight.data = conv.weight.data.contiguous(memory_format=torch.channels_last)
            block[0] = conv
            block[1] = nn.Identity()
    # The classifier: flatten, dropout, Linear, BN, ReLU, dropout, Linear.
    classifier = folded.classifier
    hidden = fuse_linear_bn_eval(cast(nn.Linear, classifier[2]), cast(nn.BatchNorm1d, classifier[3]))
    classifier[2], classifier[3] = HalfLinear(hidden), nn.Identity()
    classifier[6] = HalfLinear(cast(nn.Linear, classifier[6]))
    return folded.requires_grad_(False)
