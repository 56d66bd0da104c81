"""Pen strokes as clients send them: parsing, validation and sample-wide normalization."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

MAX_POINTS = 10_000
MAX_STROKES = 200
# Canvas coordinates beyond this are not a drawing but a bug (or an attack) upstream.
MAX_COORDINATE = 1e7

# A drawing is a list of strokes; each stroke an array of shape (n, 3): x, y, t (t is NaN when absent).
Drawing = list[np.ndarray]


class InvalidStrokesError(ValueError):
    """The strokes cannot be recognized; the message says why and is meant for the user."""


def _point(raw: object, where: str) -> tuple[float, float, float]:
    if isinstance(raw, dict):
        if "x" not in raw or "y" not in raw:
            raise InvalidStrokesError(f"{where}: a point object needs 'x' and 'y'")
        values = [raw["x"], raw["y"], raw.get("t")]
    elif isinstance(raw, (list, tuple)) and len(raw) in (2, 3):
        values = [*raw, None][:3]
    else:
        raise InvalidStrokesError(f"{where}: a point is [x, y], [x, y, t] or {{'x', 'y', 't'?}}")
    out = []
    for name, value in zip("xyt", values, strict=True):
        if value is None and name == "t":
            out.append(math.nan)
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidStrokesError(f"{where}: {name} must be a number, got {value!r}")
        try:
            number = float(value)
        except OverflowError:  # a JSON integer such as 10**309
            raise InvalidStrokesError(f"{where}: {name} is an integer too large for a float") from None
        if not math.isfinite(number):
            raise InvalidStrokesError(f"{where}: {name} is {value}, not a finite number")
        if name != "t" and abs(number) > MAX_COORDINATE:
            raise InvalidStrokesError(f"{where}: {name}={value} is outside ±{MAX_COORDINATE:g}")
        out.append(number)
    return out[0], out[1], out[2]


def _plain_stroke(stroke: list | tuple) -> np.ndarray | None:
    """A stroke of [x, y] or [x, y, t] lists of finite ints and floats (what clients send) as an (n, 3) array,
    checked in bulk; None for anything else, which `_point` then checks (and explains) point by point."""
    try:
        if not {type(value) for point in stroke for value in point} <= {int, float}:
            return None  # also dict points (their keys are strings) and bools (a subclass of int)
        array = np.array(stroke, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):  # not a sequence; points of different lengths; 10**309
        return None
    if array.ndim != 2 or array.shape[1] not in (2, 3) or not np.isfinite(array).all():
        return None
    if np.abs(array[:, :2]).max() > MAX_COORDINATE:
        return None
    if array.shape[1] == 2:
        array = np.column_stack([array, np.full(len(array), math.nan)])
    return array


def parse_strokes(raw: object) -> Drawing:
    """Validate strokes in any accepted point form and return them as (n, 3) float64 arrays."""
    if not isinstance(raw, (list, tuple)):
        raise InvalidStrokesError("strokes must be a list of strokes, each a list of points")
    if len(raw) > MAX_STROKES:
        raise InvalidStrokesError(f"too many strokes: {len(raw)} (at most {MAX_STROKES})")
    drawing: Drawing = []
    total = 0
    for i, stroke in enumerate(raw):
        if not isinstance(stroke, (list, tuple)):
            raise InvalidStrokesError(f"stroke {i} must be a list of points")
        total += len(stroke)
        if total > MAX_POINTS:
            raise InvalidStrokesError(f"too many points: more than {MAX_POINTS}")
        if stroke:
            array = _plain_stroke(stroke)
            if array is None:  # not plain: check point by point, to say exactly what is wrong
                points = [_point(p, f"stroke {i}, point {j}") for j, p in enumerate(stroke)]
                array = np.array(points, dtype=np.float64)
            drawing.append(array)
    if not drawing:
        raise InvalidStrokesError("the drawing is empty: no stroke has a point")
    return drawing


def normalize(drawing: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Fit the whole drawing into the unit square, keeping aspect ratio, centred.

    Returns (n, 2) arrays. A dot (or a drawing of one repeated point) lands in the centre;
    a straight line keeps its length along its long side.
    """
    if not drawing:
        raise InvalidStrokesError("the drawing is empty: no stroke has a point")
    xy = np.concatenate([s[:, :2] for s in drawing])
    if not np.isfinite(xy).all():
        raise InvalidStrokesError("the drawing has coordinates that are not finite numbers")
    if np.abs(xy).max() > MAX_COORDINATE:
        raise InvalidStrokesError(f"the drawing has coordinates outside ±{MAX_COORDINATE:g}")
    lo = xy.min(axis=0)
    extent = xy.max(axis=0) - lo
    scale = float(extent.max())
    # Relative tolerance: a span this small next to the coordinates' magnitude is rounding noise.
    if scale <= 1e-9 * max(1.0, float(np.abs(xy).max())):
        return [np.full((len(s), 2), 0.5) for s in drawing]
    offset = (1.0 - extent / scale) / 2.0
    return [(s[:, :2] - lo) / scale + offset for s in drawing]
