"""The source's typeset glyphs: rendered in headless Chromium, reduced to pen paths, compared, packed.

A drawing is scaled into the unit square before the model sees it, so \\cup and \\bigcup, or \\mid and
\\textbar, leave the same strokes. To find such symbols this renders every symbol's typeset SVG from a
Detexify Next source, reduces each glyph to the path a pen would trace (its skeleton; large filled areas
kept as filled areas), normalizes it like a drawing, and measures the symmetric Hausdorff distance between
pen paths, allowing a small aspect stretch. It also packs the renderings into the glyph atlas the model
artifact ships (see extexify_lsp.glyphs).
"""

from __future__ import annotations

import io
import re
import shutil
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

import numpy as np
from PIL import Image
from scipy import ndimage
from scipy.spatial import cKDTree
from skimage.morphology import thin
from tqdm import tqdm

from extexify_lsp.strokes import normalize
from training.sources import SourceIndex

CHROMIUM = Path("/usr/bin/chromium")
RENDER_SIZE = 360  # px of a glyph's longer side: thin strokes stay several pixels wide
RENDER_PADDING = 20  # px of white around each glyph, so antialiasing is never clipped
RENDER_BATCH = 50  # glyphs per page
INK = 0.5  # a pixel darker than half grey is ink
BLOB = 0.12  # ink thicker than this (half-thickness, share of the glyph's size) is a filled area
BLOB_FILL_STEP = 0.015  # filled areas are sampled on a grid this fine (share of the glyph's size)
DEDUPE = 0.004  # pen-path points closer than this (unit square) are one point

# The cheap bound: distance fields on a G x G grid whose inner (G - 2M - 1) cells span the unit square.
GRID = 128
GRID_MARGIN = 8  # cells of room around the unit square (the grid never clips a point)
GRID_SCALE = GRID - 2 * GRID_MARGIN - 1
# Snapping points to cell centres moves each by at most half a cell diagonal, so a directed grid distance
# is within one cell diagonal of the exact one; pairs further than this above a threshold cannot meet it.
GRID_SLACK = (np.sqrt(2.0) + 0.1) / GRID_SCALE


class GlyphError(Exception):
    """The source's glyphs cannot be read or rendered; the message says which and why."""


@dataclass(frozen=True)
class Rendering:
    image: np.ndarray  # (h, w) uint8 greyscale, white background, RENDER_PADDING px around the SVG's box
    px_per_pt: float  # rendered pixels per typographic point of the SVG


@dataclass(frozen=True)
class GlyphMatch:
    """When two pen paths count as the same: within `threshold` after a stretch of at most exp(+-max)."""

    threshold: float = 0.04  # symmetric Hausdorff distance in the unit square
    max_stretch: float = 0.2  # aspect stretches exp(u), u in [-max_stretch, max_stretch], are tried
    step: float = 0.025  # the grid of u

    def stretches(self) -> np.ndarray:
        """The grid of u (stretch exp(u) of x against y), 0 included."""
        count = round(2 * self.max_stretch / self.step) + 1
        return np.round(np.linspace(-self.max_stretch, self.max_stretch, count), 6)


@dataclass(frozen=True)
class CloseGlyphs:
    """Pairs of pen paths within a GlyphMatch: indices into the paths, distance, best stretch exp(u)."""

    pairs: np.ndarray  # (n, 2) int, i < j
    distances: np.ndarray  # (n,)
    stretches: np.ndarray  # (n,) the factor exp(u) of the best stretch
    candidates: int  # pairs the grid bound let through to the exact distance


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
        try:
            with tarfile.open(source, "r|gz") as archive:  # streamed: the SVGs sit among 37 MB of samples
                for member in archive:
                    extracted = archive.extractfile(member) if member.isfile() else None
                    if extracted is not None and PurePosixPath(member.name) in wanted:
                        keep(PurePosixPath(member.name), extracted)
        except (tarfile.TarError, EOFError, OSError) as error:
            raise GlyphError(f"{source}: cannot read the archive ({error})") from None
    missing = sorted(set(wanted.values()) - found.keys())
    if missing:
        raise GlyphError(f"{source}: no SVG for {len(missing)} symbols, e.g. {missing[:3]}")
    return found


def display_size(svg: Path) -> tuple[int, int, float]:
    """Pixel width and height with the longer side RENDER_SIZE, from the SVG's viewBox; pixels per pt."""
    match = re.search(r'viewBox="([-\d.e ]+)"', svg.read_text(errors="replace")[:2000])
    width, height = (float(v) for v in match.group(1).split()[2:4]) if match else (1.0, 1.0)
    if width <= 0 or height <= 0:  # an empty glyph (the line break \\) has a degenerate box
        return RENDER_SIZE, RENDER_SIZE, 1.0
    scale = RENDER_SIZE / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale)), scale


def render_glyphs(svgs: dict[str, Path], chromium: Path = CHROMIUM) -> tuple[dict[str, Rendering], str]:
    """Symbol id -> its rendering, and the browser's version.

    Glyphs are laid out RENDER_BATCH to a page, as <img> elements (Chromium draws the SVG as a browser
    would show it), and cut out of one full-page screenshot per page.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    items = list(svgs.items())
    renderings: dict[str, Rendering] = {}
    try:
        with (
            tempfile.TemporaryDirectory(prefix="extexify-glyphs-") as workdir,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=str(chromium), args=["--disable-gpu"])
            version = browser.version
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            for start in tqdm(range(0, len(items), RENDER_BATCH), desc="rendering glyphs", unit=" pages"):
                batch = items[start : start + RENDER_BATCH]
                cells, scales = [], []
                for number, (_, svg) in enumerate(batch):
                    width, height, scale = display_size(svg)
                    scales.append(scale)
                    cells.append(
                        f'<div id="g{number}" style="display:inline-block;padding:{RENDER_PADDING}px">'
                        f'<img src="{svg.resolve().as_uri()}" style="width:{width}px;height:{height}px;'
                        'display:block"></div>'
                    )
                html = Path(workdir) / "page.html"
                html.write_text(
                    f'<html><body style="margin:0;background:white">{"".join(cells)}</body></html>'
                )
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
                for (symbol_id, svg), scale, (left, top, width, height, loaded) in zip(
                    batch, scales, boxes, strict=True
                ):
                    if not loaded:
                        raise GlyphError(f"{svg}: Chromium could not load the SVG of {symbol_id}")
                    box = (round(left), round(top), round(left + width), round(top + height))
                    renderings[symbol_id] = Rendering(np.asarray(shot.crop(box)), scale)
            browser.close()
    except PlaywrightError as error:
        raise GlyphError(f"cannot render glyphs with {chromium}: {str(error).splitlines()[0]}") from None
    return renderings, version


def render_source_glyphs(
    source: Path, index: SourceIndex, chromium: Path = CHROMIUM, only: Sequence[str] | None = None
) -> tuple[dict[str, Rendering], str]:
    """Every symbol's (or only those named) typeset glyph from the source, rendered; the browser's version."""
    with tempfile.TemporaryDirectory(prefix="extexify-svgs-") as workdir:
        svgs = extract_svgs(source, index, Path(workdir))
        if only is not None:
            svgs = {symbol_id: svgs[symbol_id] for symbol_id in only}
        return render_glyphs(svgs, chromium)


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


def exact_distances(
    paths: Sequence[np.ndarray], pairs: np.ndarray, stretches: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each (i, j) in `pairs`: min over u of the Hausdorff distance between stretched i and j, or
    stretched j and i; and the stretch factor exp(u) of x against y that reaches it (of i against j)."""
    trees: dict[tuple[int, float], cKDTree] = {}

    def tree(k: int, u: float) -> cKDTree:
        if (k, u) not in trees:
            trees[k, u] = cKDTree(stretched(paths[k], u))
        return trees[k, u]

    distances, factors = np.empty(len(pairs)), np.empty(len(pairs))
    for n, (i, j) in enumerate(pairs):
        # Stretching j by u matches i as stretching i by -u does (up to the normalization's rounding).
        tried = [(hausdorff(tree(i, u), tree(j, 0.0)), u) for u in stretches]
        tried += [(hausdorff(tree(j, u), tree(i, 0.0)), -u) for u in stretches]
        distance, u = min(tried, key=lambda t: (t[0], abs(t[1])))
        distances[n], factors[n] = distance, np.exp(u)
    return distances, factors


def close_glyphs(paths: Sequence[np.ndarray], match: GlyphMatch) -> CloseGlyphs:
    """All pairs of non-empty pen paths within `match`, found with the grid bound then measured exactly."""
    kept = np.array([k for k, p in enumerate(paths) if len(p)], dtype=int)
    inked = [paths[k] for k in kept]
    stretches = match.stretches()
    approximate = approximate_distances(inked, stretches)
    first, second = np.nonzero(np.triu(approximate <= match.threshold + GRID_SLACK, k=1))
    candidates = np.stack([first, second], axis=1)
    distances, factors = exact_distances(inked, candidates, stretches)
    close = distances <= match.threshold
    return CloseGlyphs(
        kept[candidates[close]].reshape(-1, 2), distances[close], factors[close], len(candidates)
    )


def glyph_cell(rendering: Rendering, cell: int, px_per_pt: float) -> np.ndarray | None:
    """The glyph as a (cell, cell) alpha mask (uint8, ink 255), `px_per_pt` pixels per point and centred;
    shrunk to fit if larger; None for a glyph without ink."""
    alpha = 255 - rendering.image
    rows, cols = np.nonzero(alpha > 8)
    if len(rows) == 0:
        return None
    ink = Image.fromarray(alpha[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1])
    room = cell - 2  # a pixel of margin: neighbouring cells never touch
    scale = min(px_per_pt / rendering.px_per_pt, room / ink.width, room / ink.height)
    size = (max(1, round(ink.width * scale)), max(1, round(ink.height * scale)))
    small = ink.resize(size, Image.Resampling.LANCZOS)
    out = Image.new("L", (cell, cell), 0)
    out.paste(small, ((cell - size[0]) // 2, (cell - size[1]) // 2))
    return np.asarray(out)


def glyph_atlas(
    renderings: Sequence[Rendering], cell: int = 40, columns: int = 32, px_per_pt: float = 2.0
) -> tuple[Image.Image, list[int]]:
    """An atlas (mode LA: black ink, alpha = coverage) of the renderings in order, row-major; and the
    positions of glyphs without ink (their cells stay empty).

    All glyphs share one scale (`px_per_pt`), so \\star and \\bigstar keep their sizes; one larger than
    its cell is shrunk to fit.
    """
    rows = -(-len(renderings) // columns)
    alpha = np.zeros((rows * cell, columns * cell), np.uint8)
    empty = []
    for k, rendering in enumerate(renderings):
        mask = glyph_cell(rendering, cell, px_per_pt)
        if mask is None:
            empty.append(k)
            continue
        row, column = divmod(k, columns)
        alpha[row * cell : (row + 1) * cell, column * cell : (column + 1) * cell] = mask
    black = Image.new("L", (columns * cell, rows * cell), 0)
    return Image.merge("LA", (black, Image.fromarray(alpha))), empty
