"""A PNG contact sheet of drawings exactly as the model sees them, with the command under each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from extexify_lsp.raster import RasterConfig, render_drawings
from extexify_lsp.symbols import Symbol
from training.dataset import Dataset


class PreviewError(ValueError):
    """The symbols asked for are unknown or have no drawings."""


@dataclass(frozen=True)
class SheetConfig:
    per_symbol: int = 8  # drawings per row; one row per symbol
    zoom: int = 3  # each model pixel becomes zoom x zoom screen pixels (nearest, so pixels stay visible)
    label_height: int = 16
    gap: int = 4


def find_symbols(dataset: Dataset, names: Sequence[str]) -> list[Symbol]:
    """Symbols by id (`latex:amssymb:bigstar`) or command (`\\bigstar`, all packages that have it)."""
    found: list[Symbol] = []
    for name in names:
        matches = [dataset.symbols.get(name)] if name in dataset.symbols else dataset.symbols.by_command(name)
        if not matches:
            raise PreviewError(f"no symbol with id or command {name!r} in the dataset")
        found.extend(m for m in matches if m not in found)
    return found


def random_symbols(dataset: Dataset, count: int, rng: np.random.Generator) -> list[Symbol]:
    """`count` distinct symbols that have drawings, chosen at random."""
    present = np.unique(dataset.labels)
    if len(present) == 0:
        raise PreviewError("the dataset has no drawings")
    chosen = rng.choice(present, size=min(count, len(present)), replace=False)
    return [dataset.symbols[int(label)] for label in chosen]


def contact_sheet(
    dataset: Dataset,
    symbols: Sequence[Symbol],
    rng: np.random.Generator,
    raster: RasterConfig | None = None,
    sheet: SheetConfig | None = None,
) -> Image.Image:
    """One row per symbol: up to `sheet.per_symbol` random drawings of it, as the model sees them."""
    raster, sheet = raster or RasterConfig(), sheet or SheetConfig()
    cell = raster.size * sheet.zoom
    width = sheet.gap + sheet.per_symbol * (cell + sheet.gap)
    row_height = cell + sheet.label_height + sheet.gap
    image = Image.new("L", (max(width, 1), sheet.gap + len(symbols) * row_height), color=255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    for row, symbol in enumerate(symbols):
        indices = np.flatnonzero(dataset.labels == dataset.symbols.index(symbol.id))
        if len(indices) == 0:
            raise PreviewError(f"{symbol.id} has no drawings in the dataset")
        picked = rng.choice(indices, size=min(sheet.per_symbol, len(indices)), replace=False)
        top = sheet.gap + row * row_height
        # The recognizer's own preparation (normalize, then render); channel 0 is the ink, in 0..1.
        inputs = render_drawings([dataset.drawing(int(index)) for index in picked], raster)  # (N, C, S, S)
        for column, pixels in enumerate(inputs[:, 0]):
            tile = Image.fromarray(np.uint8(255 - 255 * pixels)).resize(
                (cell, cell), Image.Resampling.NEAREST
            )
            left = sheet.gap + column * (cell + sheet.gap)
            image.paste(tile, (left, top))
            draw.rectangle((left - 1, top - 1, left + cell, top + cell), outline=200)
            draw.text((left, top + cell + 2), symbol.command, fill=0, font=font)
    return image
