"""`extexify/recognizeStrokes`: strokes in, completion items ranked best first out.

By default one item per draw-alike group, labelled with the member that fits the document; the other
members ride along in `data.alternatives`, each with its own edits. With `"groups": false`, one item per
symbol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types
from lsprotocol.converters import get_converter

from extexify_lsp.features.documents import open_document
from extexify_lsp.features.teach import choice_command, choice_command_json
from extexify_lsp.items import Placement, placement, symbol_edits, symbol_item, unicode_character
from extexify_lsp.positions import offset_at
from extexify_lsp.protocol import parse_recognize_strokes_params
from extexify_lsp.ranking import GroupAnswer, label_preference
from extexify_lsp.recognizer import Candidate

if TYPE_CHECKING:
    from extexify_lsp.features.context import Server

_CONVERTER = get_converter()


async def recognize_strokes(server: Server, raw_params: object) -> types.CompletionList:
    """Rank symbols for the drawing; with a document position, items carry the edits that insert them."""
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
        more_data = {
            "unicode": unicode_character(symbol.command),
            "alternatives": [_alternative(c, where, drawing_id) for c in answer.alternatives],
        }
        item = symbol_item(
            symbol,
            sort_text=f"{rank:03d}",
            markdown=markdown,
            score=answer.score,
            where=where,
            more_data=more_data,
        )
        item.command = choice_command(drawing_id, symbol.id)  # clients run it once the item is chosen
        items.append(item)
    return types.CompletionList(is_incomplete=False, items=items)


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
        "command": choice_command_json(drawing_id, symbol.id),
    }
    if where is not None:
        edit, package_edits = symbol_edits(symbol, where)
        entry["textEdit"] = _CONVERTER.unstructure(edit)
        entry["additionalTextEdits"] = [_CONVERTER.unstructure(e) for e in package_edits]
    return entry
