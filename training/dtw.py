"""The classic Detexify-style baseline: nearest neighbours under dynamic time warping of resampled strokes.

Each drawing is normalized, its strokes joined in drawing order (the pen-up jumps between them kept
as path, flagged by a third coordinate) and resampled to a fixed number of points evenly spaced along
that path. A query is compared with every training drawing by Euclidean distance (cheap, one matrix
product), and the closest `shortlist` are re-ranked by exact DTW; symbols are ranked by their nearest
drawing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from extexify_lsp.strokes import normalize


@dataclass(frozen=True)
class DTWConfig:
    points: int = 48  # resampled points per drawing
    pen_up_weight: float = 0.3  # the pen-up flag's scale next to x, y in the unit square
    band: int = 8  # Sakoe-Chiba window: a point may match points at most this many steps away
    shortlist: int = 200  # Euclidean nearest drawings re-ranked by DTW


def resample(drawing: Sequence[np.ndarray], config: DTWConfig = DTWConfig()) -> np.ndarray:
    """A drawing as (points, 3): x, y and pen-up weight, evenly spaced along the joined stroke path."""
    strokes = normalize(drawing)
    path = np.concatenate(strokes)
    # A point is "pen up" when the segment leading to it jumps between strokes.
    pen_up = np.concatenate([np.r_[float(i > 0), np.zeros(len(s) - 1)] for i, s in enumerate(strokes)])
    step = np.linalg.norm(np.diff(path, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(step)])
    if along[-1] <= 1e-12:
        return np.column_stack([np.repeat(path[:1], config.points, axis=0), np.zeros(config.points)])
    at = np.linspace(0.0, along[-1], config.points)
    # The pen-up flag of a resampled point is that of the segment it falls on.
    segment = np.clip(np.searchsorted(along, at, side="right"), 1, len(path) - 1)
    return np.column_stack(
        [
            np.interp(at, along, path[:, 0]),
            np.interp(at, along, path[:, 1]),
            pen_up[segment] * config.pen_up_weight,
        ]
    )


def dtw_distances(query: np.ndarray, candidates: np.ndarray, band: int) -> np.ndarray:
    """DTW distance from one (n, d) sequence to each of (m, n, d) candidates: (m,)."""
    n = len(query)
    total = np.full((len(candidates), n + 1, n + 1), np.inf)
    total[:, 0, 0] = 0.0
    for i in range(1, n + 1):
        lo, hi = max(1, i - band), min(n, i + band)
        # local[:, j - lo] = |query[i] - candidate[j]| for the band's j: (m, hi - lo + 1)
        local = np.sqrt(((candidates[:, lo - 1 : hi] - query[i - 1]) ** 2).sum(axis=2))
        for j in range(lo, hi + 1):
            best = np.minimum(np.minimum(total[:, i - 1, j], total[:, i - 1, j - 1]), total[:, i, j - 1])
            total[:, i, j] = local[:, j - lo] + best
    return total[:, n, n]


class DTWClassifier:
    """k-nearest-neighbour symbol ranking under DTW against a set of labelled drawings."""

    def __init__(
        self, drawings: Sequence[Sequence[np.ndarray]], labels: np.ndarray, config: DTWConfig
    ) -> None:
        self.config = config
        self.templates = np.stack(
            [resample(d, config) for d in tqdm(drawings, desc="DTW templates", leave=False)]
        )
        self.flat = self.templates.reshape(len(self.templates), -1)  # (M, points * 3)
        self.norms = (self.flat**2).sum(axis=1)
        self.labels = np.asarray(labels)

    def rank(self, drawing: Sequence[np.ndarray], limit: int = 10) -> list[int]:
        """Labels of the `limit` nearest symbols, nearest first."""
        query = resample(drawing, self.config)
        euclid = self.norms - 2 * self.flat @ query.ravel()  # squared distance minus |query|^2
        near = np.argpartition(euclid, min(self.config.shortlist, len(euclid) - 1))[: self.config.shortlist]
        distances = dtw_distances(query, self.templates[near], self.config.band)
        ranked: list[int] = []
        for i in near[np.argsort(distances, kind="stable")]:
            label = int(self.labels[i])
            if label not in ranked:
                ranked.append(label)
                if len(ranked) == limit:
                    break
        return ranked
