"""`textDocument/completion` after a backslash: every symbol command, with its package edit.

With over a thousand items, documentation goes only to clients that cannot ask for it later
through `completionItem/resolve`; the others get it for the item they show.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from extexify_lsp.features.documents import open_document
from extexify_lsp.features.glyphs import documentation_glyph
from extexify_lsp.items import completion_sort_text, placement, symbol_documentation, symbol_item
from extexify_lsp.latex import command_start
from extexify_lsp.positions import offset_at
from extexify_lsp.protocol import InvalidParamsError

if TYPE_CHECKING:
    from extexify_lsp.features.context import Server


def complete_command(server: Server, params: types.CompletionParams) -> types.CompletionList | None:
    """All symbol commands when the cursor ends a partial `\\command`; None elsewhere."""
    document = open_document(server.workspace, params.text_document.uri)
    text = document.source
    offset = offset_at(document, params.position)
    start = command_start(text, offset)
    if start is None:
        return None
    # The item replaces the typed `\lefta...` from its backslash; no $...$ wrapping while typing.
    where = placement(document, start, offset, wrap_for_mode=False)
    markdown = server.completion_markdown()
    documented = not server.completion_resolves("documentation")
    items = [
        symbol_item(
            symbol,
            sort_text=completion_sort_text(symbol, where),
            markdown=markdown,
            where=where,
            documented=documented,
        )
        for symbol in server.symbols
        if symbol.command.startswith("\\")
    ]
    return types.CompletionList(is_incomplete=False, items=items)


def resolve_item(server: Server, item: types.CompletionItem) -> types.CompletionItem:
    """The item with its documentation, found by the symbol id in its data."""
    symbol_id = item.data.get("symbolId") if isinstance(item.data, dict) else None
    if not isinstance(symbol_id, str) or symbol_id not in server.symbols:
        raise InvalidParamsError(f"the item's data names no known symbol: {item.data!r}")
    if item.documentation is None:
        item.documentation = symbol_documentation(
            server.symbols.get(symbol_id),
            server.completion_markdown(),
            documentation_glyph(server, symbol_id),
        )
    return item
