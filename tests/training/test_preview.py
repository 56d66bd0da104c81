"""`extexify-train preview`: the contact sheet shows drawings exactly as the recognizer prepares them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from extexify_lsp.raster import RasterConfig
from extexify_lsp.recognizer import Recognizer
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


def test_sheet_tiles_are_the_model_inputs(dataset_file: Path, tiny_model: Path, tmp_path: Path) -> None:
    recognizer = Recognizer.load(tiny_model, device="cpu")
    size = recognizer.raster.size
    assert recognizer.raster == RasterConfig(size=size)  # what `preview --size` renders with
    # Drawings as a dataset may hold them (small and off-centre in the unit square): the model sees
    # them normalized, so the sheet must too.
    dataset = Dataset.load(dataset_file)
    shrunk = Dataset.from_drawings(
        dataset.symbols,
        (
            (str(dataset.sample_ids[i]), dataset.symbol_id(i), [0.3 * s + 0.6 for s in dataset.drawing(i)])
            for i in range(len(dataset))
        ),
    )
    shrunk.save(tmp_path / "shrunk.npz")
    output = tmp_path / "sheet.png"
    args = ["preview", str(tmp_path / "shrunk.npz"), "-o", str(output), "--symbol", "\\bigstar"]
    args += ["--symbol", SYMBOLS[1], "--per-symbol", "5", "--size", str(size)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert f"wrote {output}: 2 symbols" in result.output

    config = SheetConfig(per_symbol=5)
    sheet = np.asarray(Image.open(output).convert("L"))
    cell = size * config.zoom
    assert sheet.shape == (
        config.gap + 2 * (cell + config.label_height + config.gap),
        config.gap + 5 * (cell + 4),
    )
    for symbol_id, tiles in zip(SYMBOLS[:2], _tiles(sheet, 2, config, size), strict=True):
        indices = np.flatnonzero(shrunk.labels == shrunk.symbols.index(symbol_id))
        ink = recognizer.images([shrunk.drawing(int(i)) for i in indices])[:, 0].numpy()  # (N, S, S)
        expected = {np.uint8(255 - 255 * image).tobytes() for image in ink}
        shown = [tile.tobytes() for tile in tiles]
        assert set(shown) <= expected  # each tile is the model's input for one drawing, pixel for pixel
        assert len(set(shown)) == 5  # and five different ones
    label = sheet[config.gap + cell : config.gap + cell + config.label_height, : config.gap + cell]
    assert (label < 128).any()  # the command is written under the tile


@pytest.mark.parametrize(
    "option", [["--size", "0"], ["--size", "-5"], ["--per-symbol", "0"], ["--random", "0"]]
)
def test_cli_preview_refuses_sizes_below_one(dataset_file: Path, tmp_path: Path, option: list[str]) -> None:
    result = CliRunner().invoke(main, ["preview", str(dataset_file), "-o", str(tmp_path / "x.png"), *option])
    assert result.exit_code == 2
    assert f"Invalid value for '{option[0]}'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.png").exists()


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
