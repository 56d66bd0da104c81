"""`extexify/glyphs`: typeset glyph images of symbols, for clients that cannot typeset them (KaTeX gaps).

The same images go into completion and hover documentation, but only for clients whose Markdown shows
images: VS Code does; Neovim would show the data URI as text.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from lsprotocol import types

from extexify_lsp.glyphs import GlyphAtlas
from extexify_lsp.protocol import parse_glyphs_params

if TYPE_CHECKING:
    from extexify_lsp.features.context import Server

# clientInfo.name of clients known to show Markdown images; others can ask with {"glyphImages": true}.
IMAGE_CLIENTS = ("Visual Studio Code", "code-server")
GLYPH_IMAGES_OPTION = "glyphImages"


def shows_glyph_images(params: types.InitializeParams) -> bool:
    """Whether the client's Markdown shows images: its initializationOptions say so, or its name does."""
    options = params.initialization_options
    if isinstance(options, Mapping) and isinstance(options.get(GLYPH_IMAGES_OPTION), bool):
        return bool(options[GLYPH_IMAGES_OPTION])
    name = params.client_info.name if params.client_info is not None else ""
    return any(client in name for client in IMAGE_CLIENTS)


def glyph_uri(atlas: GlyphAtlas | None, symbol_id: str) -> str | None:
    """The symbol's glyph as a `data:image/png;base64,...` URI; None without one."""
    png = None if atlas is None else atlas.png(symbol_id)
    return None if png is None else "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def documentation_glyph(server: Server, symbol_id: str) -> str | None:
    """The glyph URI to show in the symbol's documentation: only for clients that show images."""
    return glyph_uri(server.glyphs, symbol_id) if server.glyph_images else None


def glyph_uris(atlas: GlyphAtlas | None, symbol_ids: Sequence[str]) -> dict[str, str | None]:
    return {symbol_id: glyph_uri(atlas, symbol_id) for symbol_id in symbol_ids}


async def glyphs(server: Server, raw_params: object) -> dict[str, dict[str, str | None]]:
    """`{"glyphs": {symbolId: data URI or null}}` for the params' symbol ids."""
    symbol_ids = parse_glyphs_params(raw_params)
    # Cutting and encoding up to 200 PNGs the first time takes a while: not on the event loop.
    return {"glyphs": await asyncio.to_thread(glyph_uris, server.glyphs, symbol_ids)}
