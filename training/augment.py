"""On-the-fly augmentation on the strokes (not the pixels), so every epoch sees new drawings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from extexify_lsp.raster import RasterConfig, render_drawings


@dataclass(frozen=True)
class AugmentConfig:
    rotate_degrees: float = 10.0  # uniform in ±this
    shear: float = 0.15  # x += shear * y, uniform in ±this
    stretch: float = 0.2  # x and y scaled independently by exp(uniform ±this): aspect jitter
    point_noise: float = 0.01  # gaussian wobble per point, fraction of the drawing's size
    drop_points: float = 0.3  # at most this fraction of interior points dropped: sampling-rate jitter
    line_width: tuple[float, float] = (0.75, 1.4)  # multiplier range on RasterConfig.line_width

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _drop_points(stroke: np.ndarray, rng: np.random.Generator, drop: float) -> np.ndarray:
    """Drop a random share (up to `drop`) of a stroke's interior points, keeping its ends."""
    if len(stroke) <= 3 or drop <= 0:
        return stroke
    keep = rng.random(len(stroke)) >= rng.uniform(0, drop)
    keep[0] = keep[-1] = True
    return stroke[keep]


def augment(
    drawing: Sequence[np.ndarray], rng: np.random.Generator, config: AugmentConfig
) -> list[np.ndarray]:
    """A randomly distorted copy of a drawing ((n, 2+) arrays), as (n, 2) arrays in the raw frame."""
    angle = math.radians(rng.uniform(-config.rotate_degrees, config.rotate_degrees))
    cos, sin = math.cos(angle), math.sin(angle)
    sx, sy = np.exp(rng.uniform(-config.stretch, config.stretch, size=2))
    shear = rng.uniform(-config.shear, config.shear)
    # Rotation after shear after stretch, as one 2x2 matrix applied to row vectors.
    matrix = np.array([[sx, 0.0], [0.0, sy]]) @ np.array([[1.0, 0.0], [shear, 1.0]])
    matrix = matrix @ np.array([[cos, sin], [-sin, cos]])
    xy = np.concatenate([s[:, :2] for s in drawing])
    extent = float(np.ptp(xy, axis=0).max()) or 1.0
    out = []
    for stroke in drawing:
        points = _drop_points(np.asarray(stroke[:, :2], dtype=np.float64), rng, config.drop_points) @ matrix
        if config.point_noise > 0:
            points = points + rng.normal(0.0, config.point_noise * extent, size=points.shape)
        out.append(points)
    return out


def augmented_image(
    drawing: Sequence[np.ndarray], rng: np.random.Generator, raster: RasterConfig, config: AugmentConfig
) -> np.ndarray:
    """Augment, normalize and render one drawing with a jittered pen width: (channels, size, size) float32."""
    width = raster.line_width * rng.uniform(*config.line_width)
    return render_drawings([augment(drawing, rng, config)], replace(raster, line_width=width))[0]
