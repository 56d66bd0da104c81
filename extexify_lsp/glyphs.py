"""Typeset glyph images of the symbols, for clients that cannot typeset a symbol themselves.

The artifact carries one PNG atlas beside the weights (metadata "glyphs"): cell i, row-major with
`columns` cells per row, each `cell` x `cell` px, is the glyph of the i-th symbol in label order, dark ink
on a transparent background, derived from the Detexify source's typeset SVGs (`extexify-train groups`).
"""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from extexify_lsp.symbols import SymbolTable

GLYPHS_VERSION = 1


class GlyphsError(ValueError):
    """The "glyphs" metadata or the atlas file is malformed, missing or from a newer extexify."""


class GlyphAtlas:
    """One symbol's glyph as a small PNG, cut from the atlas on first use and kept."""

    def __init__(
        self, atlas: Image.Image, cell: int, columns: int, symbols: SymbolTable, missing: frozenset[str]
    ) -> None:
        self.atlas = atlas
        self.cell = cell
        self.columns = columns
        self.symbols = symbols
        self.missing = missing
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()  # the server may ask from several worker threads

    def png(self, symbol_id: str) -> bytes | None:
        """The glyph of `symbol_id` as PNG bytes (RGBA, `cell` px square); None if unknown or missing."""
        if symbol_id not in self.symbols or symbol_id in self.missing:
            return None
        with self._lock:
            if symbol_id not in self._cache:
                row, column = divmod(self.symbols.index(symbol_id), self.columns)
                box = (column * self.cell, row * self.cell, (column + 1) * self.cell, (row + 1) * self.cell)
                out = io.BytesIO()
                self.atlas.crop(box).save(out, format="PNG", optimize=True)
                self._cache[symbol_id] = out.getvalue()
            return self._cache[symbol_id]

    @classmethod
    def load(cls, directory: str | Path, raw: object, symbols: SymbolTable) -> GlyphAtlas:
        """The atlas that the metadata's "glyphs" value `raw` names in the artifact's `directory`."""
        if not isinstance(raw, dict):
            raise GlyphsError(f"'glyphs' must be an object, not {type(raw).__name__}")
        version = raw.get("version")
        if version != GLYPHS_VERSION:
            raise GlyphsError(
                f"'glyphs' has version {version!r}; this extexify reads version {GLYPHS_VERSION}: "
                "upgrade extexify or rebuild the glyphs with `extexify-train groups`"
            )
        cell, columns = _positive(raw, "cell"), _positive(raw, "columns")
        missing = raw.get("missing", [])
        if not isinstance(missing, list) or not all(isinstance(m, str) and m in symbols for m in missing):
            raise GlyphsError("'glyphs.missing' must be a list of symbol ids from the model's symbol table")
        name, digest = raw.get("file"), raw.get("sha256")
        if not isinstance(name, str) or not isinstance(digest, str) or Path(name).name != name:
            raise GlyphsError("'glyphs' must name its atlas 'file' (beside the metadata) and its 'sha256'")
        path = Path(directory) / name
        try:
            data = path.read_bytes()
        except OSError as error:
            raise GlyphsError(f"cannot read the glyph atlas {path} ({error.strerror or error})") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise GlyphsError(
                f"{path} does not match the sha256 in the metadata: the atlas and metadata come from "
                "different exports (or the file is damaged); rebuild with `extexify-train groups`"
            )
        try:
            atlas = Image.open(io.BytesIO(data))
            atlas.load()
        except (UnidentifiedImageError, OSError) as error:
            raise GlyphsError(f"{path} is not a readable PNG ({error})") from None
        rows = -(-len(symbols) // columns)
        if atlas.size != (columns * cell, rows * cell):
            raise GlyphsError(
                f"{path} is {atlas.size[0]}x{atlas.size[1]} px, but {len(symbols)} glyphs of {cell} px in "
                f"{columns} columns need {columns * cell}x{rows * cell}"
            )
        return cls(atlas.convert("RGBA"), cell, columns, symbols, frozenset(missing))


def _positive(raw: dict[str, Any], key: str) -> int:
    value = raw.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise GlyphsError(f"'glyphs.{key}' must be a positive integer, not {value!r}")
    return value
