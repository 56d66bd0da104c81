"""Rasterize normalized strokes into the small grey image the model reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageDraw

from extexify_lsp.strokes import normalize


@dataclass(frozen=True)
class RasterConfig:
    """How a drawing becomes pixels; stored in every model artifact so inference matches training."""

    size: int = 32
    line_width: float = 0.06  # fraction of the image side
    margin: float = 0.1  # blank border, fraction of the image side
    supersample: int = 4  # draw this many times larger, then box-filter down: anti-aliasing
    # Add three channels an ink image throws away: pen direction (dx, dy) and drawing progress (0 at the
    # first point, 1 at the last), so the model sees stroke order and direction. See `render`.
    motion: bool = False

    @property
    def channels(self) -> int:
        return 4 if self.motion else 1

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def rasterize(strokes: Sequence[np.ndarray], config: RasterConfig = RasterConfig()) -> np.ndarray:
    """Draw normalized strokes ((n, 2) arrays in the unit square) as a (size, size) float32 image in 0..1."""
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


def rasterize_motion(strokes: Sequence[np.ndarray], config: RasterConfig = RasterConfig()) -> np.ndarray:
    """Draw normalized strokes as (3, size, size) float32 channels: mean pen direction dx, dy in [-1, 1]
    and mean drawing progress in [0, 1] of the path under each pixel (0 where the pen never passed)."""
    size = config.size
    # The same placement as `rasterize`, in output pixel units (pixel i covers [i, i + 1)).
    span = (size * config.supersample - 1) * (1 - 2 * config.margin) / config.supersample
    origin = (size * config.supersample - 1) * config.margin / config.supersample
    paths = [stroke[:, :2] * span + origin for stroke in strokes]
    lengths = [np.linalg.norm(np.diff(path, axis=0), axis=1) for path in paths]
    total = max(sum(float(length.sum()) for length in lengths), 1e-9)
    xs, ys, dxs, dys, progress = [], [], [], [], []
    done = 0.0
    for path, length in zip(paths, lengths, strict=True):
        if len(length) == 0 or length.sum() <= 1e-9:
            # A dot: no direction, but it has a place in the drawing order.
            xs.append(path[:1, 0])
            ys.append(path[:1, 1])
            dxs.append(np.zeros(1))
            dys.append(np.zeros(1))
            progress.append(np.array([done / total]))
            continue
        cumulative = np.concatenate([[0.0], np.cumsum(length)])
        # Resample every half pixel so every pixel the pen crosses gets weight.
        at = np.linspace(0.0, cumulative[-1], max(2, int(np.ceil(cumulative[-1] * 2)) + 1))
        segment = np.clip(np.searchsorted(cumulative, at, side="right") - 1, 0, len(length) - 1)
        step = np.diff(path, axis=0) / np.maximum(length, 1e-9)[:, None]
        xs.append(np.interp(at, cumulative, path[:, 0]))
        ys.append(np.interp(at, cumulative, path[:, 1]))
        dxs.append(step[segment, 0])
        dys.append(step[segment, 1])
        progress.append((done + at) / total)
        done += float(cumulative[-1])
    x, y = np.concatenate(xs) - 0.5, np.concatenate(ys) - 0.5  # relative to pixel centres
    values = np.stack([np.concatenate(dxs), np.concatenate(dys), np.concatenate(progress), np.ones_like(x)])
    # Bilinear splat of (dx, dy, progress, weight) onto the four nearest pixel centres.
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = x - x0, y - y0
    px = np.concatenate([x0, x0 + 1, x0, x0 + 1])
    py = np.concatenate([y0, y0, y0 + 1, y0 + 1])
    share = np.concatenate([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy])
    inside = (px >= 0) & (px < size) & (py >= 0) & (py < size)
    cell = (py * size + px)[inside]
    spread = (np.tile(values, 4) * share)[:, inside]
    sums = np.stack([np.bincount(cell, channel, minlength=size * size) for channel in spread])
    weight = sums[3]
    covered = weight > 0.05
    out = np.zeros((3, size * size), dtype=np.float32)
    out[:, covered] = sums[:3, covered] / weight[covered]
    return out.reshape(3, size, size)


def render(strokes: Sequence[np.ndarray], config: RasterConfig = RasterConfig()) -> np.ndarray:
    """The model input for normalized strokes: (config.channels, size, size) float32, ink first."""
    ink = rasterize(strokes, config)[None]
    if not config.motion:
        return ink
    return np.concatenate([ink, rasterize_motion(strokes, config)])


def render_drawings(
    drawings: Sequence[Sequence[np.ndarray]], config: RasterConfig = RasterConfig()
) -> np.ndarray:
    """Normalize and render raw drawings (parse_strokes() output): the model input, (N, C, S, S) float32."""
    if not drawings:
        return np.zeros((0, config.channels, config.size, config.size), dtype=np.float32)
    return np.stack([render(normalize(drawing), config) for drawing in drawings])
