"""`extexify/recognizeStrokes`: strokes in, completion items ranked best first out.

By default one item per draw-alike group, labelled with the member that fits the document; the other
members ride along in `data.alternatives`, each with its own edits. With `"groups": false`, one item per
symbol. The answer is built in JSON form (a symbol's fixed parts made once), as the client receives it:
the server answers while the user draws.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from lsprotocol.converters import get_converter

from extexify_lsp.features.documents import open_document
from extexify_lsp.features.teach import choice_command
from extexify_lsp.items import Placement, placement, symbol_edits, symbol_item, unicode_character
from extexify_lsp.positions import offset_at
from extexify_lsp.protocol import parse_recognize_strokes_params
from extexify_lsp.ranking import GroupAnswer, label_preference
from extexify_lsp.recognizer import Candidate
from extexify_lsp.symbols import Symbol

if TYPE_CHECKING:
    from extexify_lsp.features.context import Server

_CONVERTER = get_converter()


async def recognize_strokes(server: Server, raw_params: object) -> dict[str, Any]:
    """Rank symbols for the drawing, as a CompletionList in JSON form; with a document position, items
    carry the edits that insert them."""
    params = parse_recognize_strokes_params(raw_params)
    where = None
    if params.uri is not None and params.position is not None:
        document = open_document(server.workspace, params.uri)
        offset = offset_at(document, params.position)
        where = placement(document, offset, offset, wrap_for_mode=True)
    probabilities, ranker = await server.recognition(params.drawing)  # with the user's samples
    drawing_id = server.drawings.remember(params.strokes)
    if params.groups:
        answers = ranker.grouped(probabilities, params.limit, label_preference(where))
    else:
        in_math = None if where is None else where.in_math
        answers = [GroupAnswer(c, (), c.score) for c in ranker.flat(probabilities, params.limit, in_math)]
    markdown = server.completion_markdown()
    items = []
    for rank, answer in enumerate(answers):
        symbol = answer.label.symbol
        item = {
            **_fixed_parts(symbol, markdown),
            "sortText": f"{rank:03d}",
            "data": {
                "symbolId": symbol.id,
                "score": answer.score,
                "package": symbol.package,
                "mode": symbol.mode,
                "unicode": unicode_character(symbol.command),
                "alternatives": [_alternative(c, where, drawing_id) for c in answer.alternatives],
            },
            # Clients run it once the item is chosen.
            "command": choice_command(drawing_id, symbol.id),
        }
        if where is not None:
            item.update(_edits(symbol, where))
        items.append(item)
    return {"isIncomplete": False, "items": items}


@lru_cache(maxsize=4096)
def _fixed_parts(symbol: Symbol, markdown: bool) -> dict[str, Any]:
    """The JSON of a symbol's item that no drawing or document changes: label, kind, detail, documentation."""
    parts = _CONVERTER.unstructure(symbol_item(symbol, sort_text="", markdown=markdown))
    del parts["sortText"], parts["data"]
    return parts


def _edits(symbol: Symbol, where: Placement) -> dict[str, Any]:
    """The `textEdit` and `additionalTextEdits` inserting `symbol` at the placement, as JSON."""
    edit, package_edits = symbol_edits(symbol, where)
    return {
        "textEdit": _CONVERTER.unstructure(edit),
        "additionalTextEdits": [_CONVERTER.unstructure(e) for e in package_edits],
    }


def _alternative(candidate: Candidate, where: Placement | None, drawing_id: str) -> dict[str, Any]:
    """Another member of an item's group, as JSON: the command recording it as the choice and, with a
    placement, the edits that insert it instead."""
    symbol = candidate.symbol
    entry: dict[str, Any] = {
        "symbolId": symbol.id,
        "label": symbol.command,
        "package": symbol.package,
        "mode": symbol.mode,
        "score": candidate.score,
        "unicode": unicode_character(symbol.command),
        "command": choice_command(drawing_id, symbol.id),
    }
    if where is not None:
        entry.update(_edits(symbol, where))
    return entry
