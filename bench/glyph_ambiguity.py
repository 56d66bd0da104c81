"""Measure how much of the model's error is between symbols whose typeset glyphs draw the same.

    python bench/glyph_ambiguity.py [--model models] [--source ../shared/data/detexify-source.tar.gz]
        [--chromium /usr/bin/chromium] [--sheet runs/glyph-groups.png]

A drawing is scaled into the unit square before the model sees it, so \\cup and \\bigcup, or \\mid and
\\textbar, leave the same strokes: no recognizer can tell them apart. This renders every symbol's typeset
SVG from the source tarball in headless Chromium, reduces each glyph to the path a pen would trace (its
skeleton; large filled areas kept as filled areas), normalizes it like a drawing, and groups symbols
whose pen paths are within a small symmetric Hausdorff distance (connected components), once with
uniform scaling only ("strict") and once allowing a small aspect stretch ("medium"). On the seed-0 test
split it then reports the model's top-1, top-1/top-5 counting any member of the true symbol's group as a
hit, the Bayes ceiling (each group's most frequent member in train+val always chosen, all else perfect),
the share of the model's errors that stay inside a group, and the groups that cost the most.

Writes bench/results/glyph_ambiguity.json and a contact sheet of the medium groups to --sheet (under
runs/, not committed: it shows the data's typeset glyphs).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import torch
from PIL import Image, ImageDraw
from record import write_results
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from tqdm import tqdm

from extexify_lsp.recognizer import Recognizer, default_model_path
from training.glyphs import (
    BLOB,
    GRID,
    GRID_SCALE,
    GRID_SLACK,
    RENDER_SIZE,
    CloseGlyphs,
    GlyphError,
    GlyphMatch,
    close_glyphs,
    pen_path,
    render_source_glyphs,
)
from training.sources import import_source, read_source_index
from training.split import make_split

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "detexify-source.tar.gz"

TOP_K = 5
COSTLIEST = 10


@dataclass(frozen=True)
class Setting:
    name: str
    match: GlyphMatch
    description: str


SETTINGS = (
    Setting("strict", GlyphMatch(threshold=0.03, max_stretch=0.0), "uniform scaling only, Hausdorff <= 0.03"),
    Setting(
        "medium",
        GlyphMatch(threshold=0.04, max_stretch=0.2),
        "aspect stretch up to exp(+-0.2) (grid of 0.025), Hausdorff <= 0.04",
    ),
)


def connected_groups(count: int, pairs: np.ndarray) -> list[list[int]]:
    """Connected components of more than one glyph, largest first."""
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(count, count))
    _, component = connected_components(graph, directed=False)
    members: dict[int, list[int]] = {}
    for k, c in enumerate(component):
        members.setdefault(int(c), []).append(k)
    return sorted((g for g in members.values() if len(g) > 1), key=lambda g: (-len(g), g))


@dataclass(frozen=True)
class Predictions:
    labels: np.ndarray  # (N,) the test split's true labels (dataset order)
    top: np.ndarray  # (N, TOP_K) the model's best labels, best first
    prior: np.ndarray  # (num_symbols,) samples per label in train + val


def predict(model: Path, source: Path) -> tuple[Predictions, list[str], dict[str, object]]:
    """The model's top-K on the seed-0 test split, the dataset's symbol ids, and what was evaluated."""
    recognizer = Recognizer.load(model, device="cpu")
    dataset, _ = import_source(source)
    split = make_split(dataset)  # the default seed: the split the shipped model was trained on
    ids = dataset.symbols.ids
    # The model's label order is its own symbol table's; map it onto the dataset's.
    to_dataset = np.array([ids.index(s) for s in recognizer.symbols.ids])
    top = []
    for start in tqdm(range(0, len(split.test), 512), desc="recognizing test drawings", unit=" batches"):
        chunk = split.test[start : start + 512]
        probabilities = recognizer.probabilities([dataset.drawing(int(i)) for i in chunk])
        top.append(to_dataset[probabilities.topk(TOP_K, dim=1).indices.numpy()])
    prior = np.bincount(dataset.labels[np.concatenate([split.train, split.val])], minlength=len(ids))
    predictions = Predictions(dataset.labels[split.test], np.concatenate(top), prior)
    about = {
        "model_file": str(model),
        "model_commit": recognizer.metadata.get("commit"),
        "test_samples": len(split.test),
        "symbols": len(ids),
    }
    return predictions, ids, about


def score(groups: list[list[int]], predictions: Predictions, ids: Sequence[str]) -> dict[str, Any]:
    """The model's accuracy with and without counting a same-group answer, and the Bayes ceiling."""
    count = len(ids)
    group_of = np.arange(count)  # an ungrouped symbol is its own group
    chosen = np.arange(count)  # what a perfect recognizer answers for each symbol
    for number, members in enumerate(groups):
        group_of[members] = count + number
        chosen[members] = members[int(np.argmax(predictions.prior[members]))]
    truth, top = predictions.labels, predictions.top
    hit = top[:, 0] == truth
    group_hit = group_of[top] == group_of[truth][:, None]  # (N, TOP_K)
    errors, inside = ~hit, ~hit & group_hit[:, 0]
    ceiling = chosen[truth] == truth
    grouped = group_of[truth] >= count

    costs: list[dict[str, Any]] = []
    for number, members in enumerate(groups):
        mine = group_of[truth] == count + number
        costs.append(
            {
                "symbols": [ids[k] for k in members],
                "test_samples": int(mine.sum()),
                "model_errors_inside": int((mine & inside).sum()),
                "ceiling_losses": int((mine & ~ceiling).sum()),
            }
        )
    costs.sort(key=lambda c: (-c["model_errors_inside"], -c["ceiling_losses"], c["symbols"]))
    return {
        "n_groups": len(groups),
        "n_symbols": sum(len(g) for g in groups),
        "largest_group": max((len(g) for g in groups), default=0),
        "test_samples_of_grouped_symbols": int(grouped.sum()),
        "top1": round(float(hit.mean()), 4),
        "top1_group": round(float(group_hit[:, 0].mean()), 4),
        "top5": round(float((top == truth[:, None]).any(axis=1).mean()), 4),
        "top5_group": round(float(group_hit.any(axis=1).mean()), 4),
        "bayes_ceiling": round(float(ceiling.mean()), 4),
        "model_errors": int(errors.sum()),
        "model_errors_inside_groups": int(inside.sum()),
        "model_errors_outside_groups": int((errors & ~inside).sum()),
        "share_of_model_errors_inside_groups": round(float(inside.sum() / max(1, errors.sum())), 4),
        "model_top1_on_grouped_symbols": round(float(hit[grouped].mean()), 4) if grouped.any() else None,
        "costliest_groups": costs[:COSTLIEST],
    }


def contact_sheet(
    groups: list[list[int]], images: Sequence[np.ndarray], ids: Sequence[str], path: Path
) -> None:
    """Each group on a line (two for a long one) of its members' renderings and ids, in three columns."""
    cell, label, per_line, columns = 64, 150, 6, 3
    lines = [(n, g[s : s + per_line]) for n, g in enumerate(groups) for s in range(0, len(g), per_line)]
    height, width = cell + 16, 40 + per_line * label
    per_column = max(1, -(-len(lines) // columns))
    sheet = Image.new("L", (columns * width, per_column * height), 255)
    draw = ImageDraw.Draw(sheet)
    for line, (number, members) in enumerate(lines):
        column, row = divmod(line, per_column)
        x0, y = column * width, row * height
        draw.text((x0 + 4, y + cell // 2), str(number + 1), fill=0)
        for c, k in enumerate(members):
            x = x0 + 40 + c * label
            thumb = Image.fromarray(images[k])
            thumb.thumbnail((cell, cell))
            sheet.paste(thumb, (x, y))
            draw.rectangle((x, y, x + cell - 1, y + cell - 1), outline=190)
            draw.text((x, y + cell + 2), ids[k].removeprefix("latex:")[:24], fill=0)
        draw.line((x0, y + height - 1, x0 + width, y + height - 1), fill=220)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"))
    parser.add_argument("--sheet", type=Path, default=ROOT / "runs" / "glyph-groups.png")
    parser.add_argument("--out", type=Path, default=RESULTS / "glyph_ambiguity.json")
    args = parser.parse_args()

    timings: dict[str, float] = {}
    started = time.perf_counter()
    index = read_source_index(args.source)
    try:
        rendered, chromium_version = render_source_glyphs(args.source, index, args.chromium)
    except GlyphError as error:
        raise SystemExit(str(error)) from None
    timings["render_s"] = time.perf_counter() - started

    mark = time.perf_counter()
    ids = index.symbols.ids
    paths = [pen_path(rendered[s].image) for s in tqdm(ids, desc="pen paths", unit=" glyphs")]
    empty = [s for s, p in zip(ids, paths, strict=True) if len(p) == 0]  # left out of every pair
    timings["pen_paths_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    found: dict[str, tuple[CloseGlyphs, list[list[int]]]] = {}
    for setting in SETTINGS:
        close = close_glyphs(paths, setting.match)
        found[setting.name] = (close, connected_groups(len(paths), close.pairs))
    timings["distances_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    predictions, dataset_ids, about = predict(args.model, args.source)
    if dataset_ids != ids:
        raise SystemExit("the dataset's symbol table differs from the source index's")
    timings["model_s"] = time.perf_counter() - mark

    results: dict[str, dict[str, Any]] = {}
    for setting in SETTINGS:
        close, groups = found[setting.name]
        results[setting.name] = {
            "name": setting.name,
            "description": setting.description,
            **asdict(setting.match),
            "stretches": setting.match.stretches().tolist(),
            "candidate_pairs_after_grid_bound": close.candidates,
            "pairs_within_threshold": len(close.pairs),
            **score(groups, predictions, ids),
            "groups": [[ids[k] for k in g] for g in groups],
        }
    if args.sheet:
        _, medium = found["medium"]
        contact_sheet(medium, [rendered[s].image for s in ids], ids, args.sheet)
    timings["total_s"] = time.perf_counter() - started

    print()
    header = ("setting", "groups", "symbols", "top1", "grp@1", "grp@5", "ceiling")
    print("{:8} {:>6} {:>7} {:>6} {:>6} {:>6} {:>7} errors inside groups".format(*header))
    for name, r in results.items():
        print(
            f"{name:8} {r['n_groups']:6} {r['n_symbols']:7} {r['top1']:6.4f} {r['top1_group']:6.4f} "
            f"{r['top5_group']:6.4f} {r['bayes_ceiling']:7.4f} "
            f"{r['model_errors_inside_groups']}/{r['model_errors']}"
        )
    print(f"empty glyphs (left out): {empty}; {timings['total_s']:.0f} s")
    print()

    write_results(
        args.out,
        {
            "what": "symbols whose typeset glyphs leave the same pen path once scaled to the unit square, "
            "and what they cost the model on the seed-0 test split",
            **about,
            "glyphs": {
                "rendered": len(rendered),
                "empty": empty,
                "render_size_px": RENDER_SIZE,
                "blob_half_thickness": BLOB,
                "grid_bound": {"grid": GRID, "scale": GRID_SCALE, "slack": round(GRID_SLACK, 5)},
            },
            "settings": results,
            "timings_s": {k: round(v, 1) for k, v in timings.items()},
            "machine": {
                "cpus": os.cpu_count(),
                "load_average_1min": os.getloadavg()[0],  # the machine is shared; this says how busy it was
                "python": platform.python_version(),
                "torch": torch.__version__,
                "scipy": scipy.__version__,
                "scikit_image": version("scikit-image"),
                "chromium": chromium_version,
            },
        },
    )


if __name__ == "__main__":
    main()
