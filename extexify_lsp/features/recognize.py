"""`extexify/recognizeStrokes`: strokes in, symbol completion items ranked best first out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from extexify_lsp.features.documents import open_document
from extexify_lsp.items import mode_ranked, placement, symbol_item
from extexify_lsp.protocol import parse_recognize_strokes_params

if TYPE_CHECKING:
    from extexify_lsp.features.context import Server

# Extra candidates asked of the model so that ones fitting the cursor's mode can move up into the list.
RERANK_POOL = 10


async def recognize_strokes(server: Server, raw_params: object) -> types.CompletionList:
    """Rank symbols for the drawing; with a document position, items carry the edits that insert them."""
    params = parse_recognize_strokes_params(raw_params)
    where = None
    if params.uri is not None and params.position is not None:
        document = open_document(server.workspace, params.uri)
        offset = document.offset_at_position(params.position)
        where = placement(document, offset, offset, wrap_for_mode=True)
    pool = params.limit if where is None else min(params.limit + RERANK_POOL, len(server.symbols))
    candidates = await server.recognize(params.drawing, pool)
    if where is not None:
        candidates = mode_ranked(candidates, where.in_math)
    markdown = server.completion_markdown()
    items = [
        symbol_item(c.symbol, sort_text=f"{rank:03d}", markdown=markdown, score=c.score, where=where)
        for rank, c in enumerate(candidates[: params.limit])
    ]
    return types.CompletionList(is_incomplete=False, items=items)
