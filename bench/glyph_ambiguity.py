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
import io
import os
import platform
import re
import shutil
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import IO

import numpy as np
import scipy
import skimage
import torch
from PIL import Image, ImageDraw
from playwright.sync_api import sync_playwright
from record import write_results
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from skimage.morphology import thin
from tqdm import tqdm

from extexify_lsp.recognizer import Recognizer, default_model_path
from extexify_lsp.strokes import normalize
from training.sources import SourceIndex, import_source, read_source_index
from training.split import make_split

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "detexify-source.tar.gz"

RENDER_SIZE = 360  # px of a glyph's longer side: thin strokes stay several pixels wide
RENDER_PADDING = 20  # px of white around each glyph, so antialiasing is never clipped
RENDER_BATCH = 50  # glyphs per page
INK = 0.5  # a pixel darker than half grey is ink
BLOB = 0.12  # ink thicker than this (half-thickness, share of the glyph's size) is a filled area
BLOB_FILL_STEP = 0.015  # filled areas are sampled on a grid this fine (share of the glyph's size)
DEDUPE = 0.004  # pen-path points closer than this (unit square) are one point
TOP_K = 5
COSTLIEST = 10

# The cheap bound: distance fields on a G x G grid whose inner (G - 2M - 1) cells span the unit square.
GRID = 128
GRID_MARGIN = 8  # cells of room around the unit square (the grid never clips a point)
GRID_SCALE = GRID - 2 * GRID_MARGIN - 1
# Snapping points to cell centres moves each by at most half a cell diagonal, so a directed grid distance
# is within one cell diagonal of the exact one; pairs further than this above a threshold cannot meet it.
GRID_SLACK = (np.sqrt(2.0) + 0.1) / GRID_SCALE


@dataclass(frozen=True)
class Setting:
    name: str
    max_stretch: float  # aspect stretches exp(u) for u in [-max_stretch, max_stretch] are tried
    threshold: float  # symmetric Hausdorff distance in the unit square
    description: str

    def stretches(self, step: float = 0.025) -> np.ndarray:
        """The grid of u (stretch exp(u) of x against y), 0 included."""
        count = round(2 * self.max_stretch / step) + 1
        return np.round(np.linspace(-self.max_stretch, self.max_stretch, count), 6)


SETTINGS = (
    Setting("strict", 0.0, 0.03, "uniform scaling only, Hausdorff <= 0.03 of the unit square"),
    Setting("medium", 0.2, 0.04, "aspect stretch up to exp(+-0.2) (grid of 0.025), Hausdorff <= 0.04"),
)


def svg_member(index: SourceIndex, samples_path: str) -> PurePosixPath:
    """A symbol's SVG beside its samples: samples/latex/x/y-id.jsonl -> assets/symbols/latex/x/y-id.svg."""
    relative = PurePosixPath(samples_path).relative_to("samples").with_suffix(".svg")
    return index.root / "assets" / "symbols" / relative


def extract_svgs(source: Path, index: SourceIndex, into: Path) -> dict[str, Path]:
    """Symbol id -> its SVG, copied from the source (a directory or a tarball) into `into`."""
    wanted = {svg_member(index, entry.path): entry.symbol_id for entry in index.files}
    found: dict[str, Path] = {}

    def keep(name: PurePosixPath, handle: IO[bytes]) -> None:
        target = into / f"{len(found):04d}.svg"
        with target.open("wb") as out:
            shutil.copyfileobj(handle, out)
        found[wanted[name]] = target

    if source.is_dir():
        for name in wanted:
            file = source / name.relative_to(index.root)
            if file.is_file():
                with file.open("rb") as handle:
                    keep(name, handle)
    else:
        with tarfile.open(source, "r|gz") as archive:  # streamed: the SVGs sit among 37 MB of samples
            for member in archive:
                handle = archive.extractfile(member) if member.isfile() else None
                if handle is not None and PurePosixPath(member.name) in wanted:
                    keep(PurePosixPath(member.name), handle)
    missing = sorted(set(wanted.values()) - found.keys())
    if missing:
        raise SystemExit(f"{source}: no SVG for {len(missing)} symbols, e.g. {missing[:3]}")
    return found


def display_size(svg: Path) -> tuple[int, int]:
    """Pixel width and height with the longer side RENDER_SIZE, from the SVG's viewBox."""
    match = re.search(r'viewBox="([-\d.e ]+)"', svg.read_text(errors="replace")[:2000])
    width, height = (float(v) for v in match.group(1).split()[2:4]) if match else (1.0, 1.0)
    if width <= 0 or height <= 0:  # an empty glyph (the line break \\) has a degenerate box
        return RENDER_SIZE, RENDER_SIZE
    scale = RENDER_SIZE / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def render_glyphs(svgs: dict[str, Path], chromium: Path, workdir: Path) -> tuple[dict[str, np.ndarray], str]:
    """Symbol id -> greyscale rendering (uint8, white background), and the browser's version.

    Glyphs are laid out RENDER_BATCH to a page, as <img> elements (Chromium draws the SVG as a browser
    would show it), and cut out of one full-page screenshot per page.
    """
    items = list(svgs.items())
    images: dict[str, np.ndarray] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=["--disable-gpu"])
        version = browser.version
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        for start in tqdm(range(0, len(items), RENDER_BATCH), desc="rendering glyphs", unit=" pages"):
            batch = items[start : start + RENDER_BATCH]
            cells = []
            for number, (_, svg) in enumerate(batch):
                width, height = display_size(svg)
                cells.append(
                    f'<div id="g{number}" style="display:inline-block;padding:{RENDER_PADDING}px">'
                    f'<img src="{svg.as_uri()}" style="width:{width}px;height:{height}px;display:block">'
                    "</div>"
                )
            html = workdir / "page.html"
            html.write_text(f'<html><body style="margin:0;background:white">{"".join(cells)}</body></html>')
            page.goto(html.as_uri())
            page.wait_for_load_state("load")
            boxes = page.evaluate(
                """() => Array.from(document.querySelectorAll("body > div"), div => {
                    const r = div.getBoundingClientRect(), img = div.firstElementChild;
                    return [r.left + scrollX, r.top + scrollY, r.width, r.height,
                            img.complete && img.naturalWidth > 0];
                })"""
            )
            shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("L")
            for (symbol_id, svg), (left, top, width, height, loaded) in zip(batch, boxes, strict=True):
                if not loaded:
                    raise SystemExit(f"{svg}: Chromium could not load the SVG of {symbol_id}")
                box = (round(left), round(top), round(left + width), round(top + height))
                images[symbol_id] = np.asarray(shot.crop(box))
        browser.close()
    return images, version


def normalize_set(points: np.ndarray) -> np.ndarray:
    """Points fitted into the unit square, aspect kept, centred: the normalization a drawing gets."""
    return normalize([points])[0]


def pen_path(grey: np.ndarray) -> np.ndarray:
    """The glyph as the (n, 2) points (x, y down) a pen would cover, normalized; empty for a blank glyph.

    Strokes are thinned to their one-pixel skeleton, since a drawing is a line of one width whatever the
    font's stroke contrast. Filled areas (\\bullet, \\blacksquare) cannot be thinned into anything a
    person would draw, so they are kept whole: their outline plus a grid inside.
    """
    ink = (1.0 - grey / 255.0) > INK
    rows, cols = np.nonzero(ink)
    if len(rows) == 0:
        return np.zeros((0, 2))
    ink = np.pad(ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1], 2)
    size = max(ink.shape) - 4
    # Guo-Hall thinning (skimage's `thin`), not `skeletonize` (Zhang-Suen): Zhang-Suen eats the ends of
    # strokes running to the upper left (\\times loses a fifth of one arm, which moves its bounding box).
    path = thin(ink)
    depth = ndimage.distance_transform_edt(ink)
    core = depth > BLOB * size
    if core.any():
        # The core grown back by its depth (a dilation by a disk, via the distance to the core) is the blob.
        blob = (ndimage.distance_transform_edt(~core) <= round(BLOB * size)) & ink
        outline = blob & ~ndimage.binary_erosion(blob)
        step = max(1, round(BLOB_FILL_STEP * size))
        grid = np.zeros_like(blob)
        grid[::step, ::step] = True
        path |= outline | (blob & grid)
    if not path.any():  # a dot too small to leave a skeleton: its centre
        centre = np.argwhere(ink).mean(axis=0).round().astype(int)
        path[centre[0], centre[1]] = True
    rows, cols = np.nonzero(path)
    points = normalize_set(np.stack([cols, rows], axis=1).astype(np.float64))
    return np.unique(np.round(points / DEDUPE) * DEDUPE, axis=0)


def stretched(points: np.ndarray, u: float) -> np.ndarray:
    """Points with x stretched by exp(u) against y, normalized again."""
    return points if u == 0 else normalize_set(points * np.array([np.exp(u), 1.0]))


def grid_cells(points: np.ndarray) -> np.ndarray:
    """Flat indices of the grid cells holding the points (each once)."""
    cells = np.clip(np.round(points * GRID_SCALE + GRID_MARGIN).astype(int), 0, GRID - 1)
    return np.unique(cells[:, 1] * GRID + cells[:, 0])


def distance_fields(cells: Sequence[np.ndarray]) -> np.ndarray:
    """(GRID * GRID, n): for every grid cell, its distance (unit square) to each glyph's nearest cell.

    Cells in rows, glyphs in columns: a glyph's cells then pick whole contiguous rows.
    """
    fields = np.empty((GRID * GRID, len(cells)), np.float32)
    for k, occupied in enumerate(cells):
        free = np.ones(GRID * GRID, bool)
        free[occupied] = False
        fields[:, k] = ndimage.distance_transform_edt(free.reshape(GRID, GRID)).ravel() / GRID_SCALE
    return fields


def approximate_distances(paths: Sequence[np.ndarray], stretches: np.ndarray) -> np.ndarray:
    """(n, n) grid approximation (within GRID_SLACK) of min over u of the Hausdorff distance between
    glyph i stretched by u and glyph j, or j stretched by u and i."""
    plain_cells = [grid_cells(p) for p in paths]
    plain = distance_fields(plain_cells)
    best = np.full((len(paths), len(paths)), np.inf, np.float32)
    for u in tqdm(stretches, desc="grid distances", unit=" stretches"):
        cells = plain_cells if u == 0 else [grid_cells(stretched(p, u)) for p in paths]
        fields = plain if u == 0 else distance_fields(cells)
        # [i, j]: the furthest point of stretched i from j, then the furthest point of j from stretched i.
        to_plain = np.stack([plain[c].max(axis=0) for c in cells])
        from_plain = np.stack([fields[c].max(axis=0) for c in plain_cells], axis=1)
        distance = np.maximum(to_plain, from_plain)
        np.minimum(best, np.minimum(distance, distance.T), out=best)
    return best


def hausdorff(a: cKDTree, b: cKDTree) -> float:
    """Symmetric Hausdorff distance between the point sets of two trees."""
    return max(float(b.query(a.data)[0].max()), float(a.query(b.data)[0].max()))


def exact_distances(paths: Sequence[np.ndarray], pairs: np.ndarray, stretches: np.ndarray) -> np.ndarray:
    """For each (i, j) in `pairs`: min over u of the Hausdorff distance between stretched i and j, or
    stretched j and i."""
    trees: dict[tuple[int, float], cKDTree] = {}

    def tree(k: int, u: float) -> cKDTree:
        if (k, u) not in trees:
            trees[k, u] = cKDTree(stretched(paths[k], u))
        return trees[k, u]

    out = np.empty(len(pairs))
    for n, (i, j) in enumerate(pairs):
        out[n] = min(
            min(hausdorff(tree(i, u), tree(j, 0.0)), hausdorff(tree(j, u), tree(i, 0.0))) for u in stretches
        )
    return out


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


def score(groups: list[list[int]], predictions: Predictions, ids: Sequence[str]) -> dict[str, object]:
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

    costs = []
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
    with tempfile.TemporaryDirectory(prefix="glyph-ambiguity-") as workdir:
        svgs = extract_svgs(args.source, index, Path(workdir))
        timings["extract_s"] = time.perf_counter() - started
        mark = time.perf_counter()
        rendered, chromium_version = render_glyphs(svgs, args.chromium, Path(workdir))
        timings["render_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    ids = index.symbols.ids
    all_paths = [pen_path(rendered[s]) for s in tqdm(ids, desc="pen paths", unit=" glyphs")]
    empty = [s for s, p in zip(ids, all_paths, strict=True) if len(p) == 0]
    # Only glyphs with ink take part; `kept` maps their positions back to symbol-table labels.
    kept = np.array([k for k, p in enumerate(all_paths) if len(p)])
    paths = [all_paths[k] for k in kept]
    timings["pen_paths_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    found: dict[str, dict[str, object]] = {}
    for setting in SETTINGS:
        approximate = approximate_distances(paths, setting.stretches())
        first, second = np.nonzero(np.triu(approximate <= setting.threshold + GRID_SLACK, k=1))
        candidates = np.stack([first, second], axis=1)
        exact = exact_distances(paths, candidates, setting.stretches())
        close = candidates[exact <= setting.threshold]
        groups = [[int(kept[k]) for k in g] for g in connected_groups(len(paths), close)]
        found[setting.name] = {"candidate_pairs": len(candidates), "pairs": len(close), "groups": groups}
    timings["distances_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    predictions, dataset_ids, about = predict(args.model, args.source)
    if dataset_ids != ids:
        raise SystemExit("the dataset's symbol table differs from the source index's")
    timings["model_s"] = time.perf_counter() - mark

    results: dict[str, object] = {}
    for setting in SETTINGS:
        groups = found[setting.name]["groups"]
        results[setting.name] = {
            **asdict(setting),
            "stretches": setting.stretches().tolist(),
            "candidate_pairs_after_grid_bound": found[setting.name]["candidate_pairs"],
            "pairs_within_threshold": found[setting.name]["pairs"],
            **score(groups, predictions, ids),
            "groups": [[ids[k] for k in g] for g in groups],
        }
    if args.sheet:
        medium = found["medium"]["groups"]
        contact_sheet(medium, [rendered[s] for s in ids], ids, args.sheet)
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
                "scikit_image": skimage.__version__,
                "chromium": chromium_version,
            },
        },
    )


if __name__ == "__main__":
    main()
