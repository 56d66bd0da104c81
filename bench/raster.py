"""Benchmark the rasterizer on real drawings: normalized strokes -> the model's grey image.

Times `rasterize` alone and `normalize` + `rasterize` (what the server does per request) on drawings
of every 10th symbol of the shared Detexify tarball, at the model's 32x32 and larger sizes, and
separately on "typical" drawings of 100-200 points. Target: under 0.3 ms per typical drawing at
32x32. Writes bench/results/raster.json.

    python bench/raster.py [--data ../shared/data/detexify-source.tar.gz]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import PIL
from record import write_results
from tqdm import tqdm

from extexify_lsp.raster import RasterConfig, rasterize, render_drawings
from training.sources import iter_source_samples, read_symbol_table

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "detexify-source.tar.gz"
RESULTS = ROOT / "bench" / "results" / "raster.json"
TARGET_MS = 0.3
TYPICAL_POINTS = (100, 200)


def _time_ms(
    function: Callable[[list[np.ndarray]], object], drawings: Sequence[list[np.ndarray]]
) -> dict[str, float]:
    """Per-call times in ms: each drawing timed separately, best of 3 passes per drawing."""
    best = np.full(len(drawings), np.inf)
    for _ in range(3):
        for i, drawing in enumerate(drawings):
            start = time.perf_counter_ns()
            function(drawing)
            best[i] = min(best[i], (time.perf_counter_ns() - start) / 1e6)
    return {
        "calls": len(drawings),
        "mean": round(float(best.mean()), 4),
        "median": round(float(np.median(best)), 4),
        "p95": round(float(np.percentile(best, 95)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()

    symbols = read_symbol_table(args.data).ids[::10]
    samples = list(tqdm(iter_source_samples(args.data, symbols), desc="reading drawings", unit=" drawings"))
    # Canvas-like input for the normalize + rasterize path: the same drawings in pixels.
    drawings = [s.strokes for s in samples]
    canvas = [[stroke * 300.0 + 20.0 for stroke in s.strokes] for s in samples]
    points = np.array([sum(len(stroke) for stroke in d) for d in drawings])
    typical = np.flatnonzero((points >= TYPICAL_POINTS[0]) & (points <= TYPICAL_POINTS[1]))

    ms: dict[str, dict[str, float]] = {}
    for size in tqdm((32, 48, 64), desc="sizes"):
        config = RasterConfig(size=size)
        ms[f"rasterize_{size}"] = _time_ms(partial(rasterize, config=config), drawings)
    config = RasterConfig()
    typical_drawings = [drawings[i] for i in typical]
    ms["rasterize_32_typical"] = _time_ms(lambda d: rasterize(d, config), typical_drawings)
    ms["normalize_rasterize_32_typical"] = _time_ms(
        lambda d: render_drawings([d], config), [canvas[i] for i in typical]
    )

    results = {
        "what": "extexify_lsp.raster.rasterize on real Detexify drawings (PIL, 4x supersampling)",
        "machine": {
            "python": platform.python_version(),
            "pillow": PIL.__version__,
            "cpus": os.cpu_count(),
            "note": "2 CPU cores shared with other work while measuring; times are best of 3 per drawing",
        },
        "drawings": {
            "count": len(drawings),
            "symbols": len(symbols),
            "median_points": float(np.median(points)),
            "typical": {"points": list(TYPICAL_POINTS), "count": len(typical)},
        },
        "target_ms_typical_32": TARGET_MS,
        "ms": ms,
        "meets_target": ms["normalize_rasterize_32_typical"]["median"] < TARGET_MS,
    }
    write_results(RESULTS, results)


if __name__ == "__main__":
    main()
