"""`extexify-train preview`: the contact sheet shows drawings exactly as rasterized for the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from extexify_lsp.raster import RasterConfig, rasterize
from training.cli import main
from training.dataset import Dataset
from training.preview import SheetConfig
from training.sources import import_source

SYMBOLS = ["latex:amssymb:bigstar", "latex:amsmath:dotsb", "latex:latex2e:alpha"]


@pytest.fixture(scope="module")
def dataset_file(source_tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("preview") / "detexify.npz"
    import_source(source_tarball, SYMBOLS)[0].save(path)
    return path


def _tiles(sheet: np.ndarray, rows: int, config: SheetConfig, size: int) -> list[list[np.ndarray]]:
    """Cut a sheet back into its tiles, at model resolution (undoing the nearest-neighbour zoom)."""
    cell = size * config.zoom
    tiles = []
    for row in range(rows):
        top = config.gap + row * (cell + config.label_height + config.gap)
        lefts = [config.gap + column * (cell + config.gap) for column in range(config.per_symbol)]
        tiles.append(
            [sheet[top : top + cell : config.zoom, left : left + cell : config.zoom] for left in lefts]
        )
    return tiles


def test_sheet_tiles_are_the_model_inputs(dataset_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "sheet.png"
    args = ["preview", str(dataset_file), "-o", str(output), "--symbol", "\\bigstar", "--symbol", SYMBOLS[1]]
    result = CliRunner().invoke(main, [*args, "--per-symbol", "5", "--size", "28"])
    assert result.exit_code == 0, result.output
    assert f"wrote {output}: 2 symbols" in result.output

    config, dataset = SheetConfig(per_symbol=5), Dataset.load(dataset_file)
    sheet = np.asarray(Image.open(output).convert("L"))
    cell = 28 * config.zoom
    assert sheet.shape == (
        config.gap + 2 * (cell + config.label_height + config.gap),
        config.gap + 5 * (cell + 4),
    )
    for symbol_id, tiles in zip(SYMBOLS[:2], _tiles(sheet, 2, config, 28), strict=True):
        indices = np.flatnonzero(dataset.labels == dataset.symbols.index(symbol_id))
        expected = {
            np.uint8(255 - 255 * rasterize(dataset.drawing(i), RasterConfig(size=28))).tobytes()
            for i in indices
        }
        shown = [tile.tobytes() for tile in tiles]
        assert set(shown) <= expected  # each tile is one of the symbol's drawings, pixel for pixel
        assert len(set(shown)) == 5  # and five different ones
    label = sheet[config.gap + cell : config.gap + cell + config.label_height, : config.gap + cell]
    assert (label < 128).any()  # the command is written under the tile


def test_random_symbols_and_seed(dataset_file: Path, tmp_path: Path) -> None:
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    for path in paths:
        result = CliRunner().invoke(main, ["preview", str(dataset_file), "-o", str(path), "--random", "2"])
        assert result.exit_code == 0, result.output
        assert "2 symbols" in result.output
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_unknown_symbol_and_missing_dataset_are_clear_errors(dataset_file: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["preview", str(dataset_file), "--symbol", "\\nosuch", "-o", "x.png"])
    assert result.exit_code == 1
    assert "no symbol with id or command '\\\\nosuch'" in result.output
    result = CliRunner().invoke(main, ["preview", str(tmp_path / "none.npz"), "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "no such dataset file" in result.output
