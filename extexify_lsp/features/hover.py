"""`textDocument/hover` on a symbol command: its package, mode and Unicode character."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from extexify_lsp.features.documents import open_document
from extexify_lsp.features.glyphs import documentation_glyph
from extexify_lsp.items import symbol_markdown, symbol_plaintext
from extexify_lsp.latex import command_span
from extexify_lsp.positions import offset_at, position_at

if TYPE_CHECKING:
    from extexify_lsp.features.context import Server


def hover_symbol(server: Server, params: types.HoverParams) -> types.Hover | None:
    """Describe the symbol command under the cursor; None when it is not a known symbol."""
    document = open_document(server.workspace, params.text_document.uri)
    text = document.source
    span = command_span(text, offset_at(document, params.position))
    if span is None:
        return None
    start, end = span
    symbols = server.symbols.by_command(text[start:end])
    if not symbols and "{" in text[start:end]:
        # `\alpha{x}`: the braced argument is not part of the command.
        end = text.index("{", start)
        symbols = server.symbols.by_command(text[start:end])
    if not symbols:
        return None
    markdown = server.hover_markdown()
    descriptions = [
        symbol_markdown(s, documentation_glyph(server, s.id)) if markdown else symbol_plaintext(s)
        for s in symbols
    ]
    return types.Hover(
        contents=types.MarkupContent(
            kind=types.MarkupKind.Markdown if markdown else types.MarkupKind.PlainText,
            # The same command can come from several packages (\iint: amsmath, esint).
            value="\n\n---\n\n".join(descriptions),
        ),
        range=types.Range(position_at(document, start), position_at(document, end)),
    )
