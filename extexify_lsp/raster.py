"""Rasterize normalized strokes into the small grey image the model reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageDraw


@dataclass(frozen=True)
class RasterConfig:
    """How a drawing becomes pixels; stored in every model artifact so inference matches training."""

    size: int = 32
    line_width: float = 0.06  # fraction of the image side
    margin: float = 0.1  # blank border, fraction of the image side
    supersample: int = 4  # draw this many times larger, then box-filter down: anti-aliasing

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def rasterize(strokes: Sequence[np.ndarray], config: RasterConfig = RasterConfig()) -> np.ndarray:
    """Draw normalized strokes ((n, 2) arrays in the unit square) as a (size, size) float32 image in [0, 1]."""
    big = config.size * config.supersample
    width = max(1, round(config.line_width * big))
    radius = width / 2
    span = (big - 1) * (1 - 2 * config.margin)
    origin = (big - 1) * config.margin
    image = Image.new("L", (big, big))
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        points = stroke[:, :2] * span + origin
        if len(points) > 1:
            draw.line(points.ravel().tolist(), fill=255, width=width)
        # Round caps at both ends; they also make a single-point stroke (a dot) visible.
        for x, y in (points[0], points[-1]):
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return np.asarray(image.reduce(config.supersample), dtype=np.float32) / 255.0
