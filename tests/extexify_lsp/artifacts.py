"""A test copy of the model under test, with made-up draw-alike groups and glyph atlas in its metadata."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from extexify_lsp.recognizer import default_model_path, metadata_path
from tests.extexify_lsp.lsp_client import MODEL_ARGS

# Draw-alike groups of the test artifact: twins from issue 10, and groups around what `LEQ` (in
# test_recognize_strokes) is taken for: core and package members, math and text ones.
TEST_GROUPS = [
    ["latex:amssymb:geq", "latex:amssymb:geqslant", "latex:latex2e:succeq"],
    ["latex:tipa:textrptr", "latex:latex2e:textgreater", "latex:latex2e:rangle"],
    ["latex:latex2e:supseteq", "latex:wasysym:unrhd", "latex:amssymb:gtrdot"],
    ["latex:amssymb:angle", "latex:latex2e:angle"],
    ["latex:latex2e:star", "latex:amssymb:bigstar"],
    ["latex:marvosym:Venus", "latex:wasysym:venus", "latex:wasysym:female"],
    ["latex:latex2e:cup", "latex:latex2e:bigcup"],
    ["latex:latex2e:Theta", "latex:upgreek:Uptheta"],
]
GLYPH_CELL, GLYPH_COLUMNS = 8, 40
MISSING_GLYPHS = ["latex:latex2e:cup"]


def glyph_cell(index: int) -> np.ndarray:
    """The made-up glyph of symbol `index` in the test atlas: a gray level and a bar, both from the index."""
    cell = np.full((GLYPH_CELL, GLYPH_CELL, 4), [0, 0, 0, index % 251], dtype=np.uint8)
    cell[index % GLYPH_CELL, :, 3] = 255
    return cell


def write_test_artifact(folder: Path) -> Path:
    """Write the test artifact into `folder` and return it."""
    source = metadata_path(MODEL_ARGS[1] if MODEL_ARGS else default_model_path())
    metadata = json.loads(source.read_text())
    shutil.copy(source.parent / metadata["weights"]["file"], folder)
    count = len(metadata["symbols"])
    rows = -(-count // GLYPH_COLUMNS)
    atlas = np.zeros((rows * GLYPH_CELL, GLYPH_COLUMNS * GLYPH_CELL, 4), dtype=np.uint8)
    for i in range(count):
        row, column = divmod(i, GLYPH_COLUMNS)
        atlas[row * GLYPH_CELL : (row + 1) * GLYPH_CELL, column * GLYPH_CELL : (column + 1) * GLYPH_CELL] = (
            glyph_cell(i)
        )
    Image.fromarray(atlas, "RGBA").save(folder / "glyphs.png")
    evidence = [{"kind": "override", "note": "test group"}]
    metadata["groups"] = {
        "version": 1,
        "max_size": 12,
        "groups": [
            {"members": g, "links": [{"a": g[0], "b": b, "evidence": evidence} for b in g[1:]]}
            for g in TEST_GROUPS
        ],
    }
    metadata["glyphs"] = {
        "version": 1,
        "file": "glyphs.png",
        "sha256": hashlib.sha256((folder / "glyphs.png").read_bytes()).hexdigest(),
        "cell": GLYPH_CELL,
        "columns": GLYPH_COLUMNS,
        "missing": MISSING_GLYPHS,
    }
    (folder / source.name).write_text(json.dumps(metadata))
    return folder
