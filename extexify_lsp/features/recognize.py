"""`extexify/recognizeStrokes`: strokes in, completion items ranked best first out.

By default one item per draw-alike group, labelled with the member that fits the document; the other
members ride along in `data.alternatives`, each with its own edits. With `"groups": false`, one item per
symbol. The answer is built in JSON form, as the client receives it, from each symbol's fixed parts, made
once per process (`prepare_answers`, at start-up): the server answers while the user draws. Items carry no
documentation; clients that show it ask `completionItem/resolve`.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from lsprotocol.converters import get_converter

from extexify_lsp.features.documents import open_document
from extexify_lsp.features.teach import choice_command
from extexify_lsp.items import (
    Packages,
    Placement,
    insertion,
    package_edits,
    placement,
    symbol_detail,
    unicode_character,
)
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
    edits = None if where is None else _Edits(where)
    items = []
    for rank, answer in enumerate(answers):
        symbol = answer.label.symbol
        item = {
            **_item_parts(symbol),
            "sortText": f"{rank:03d}",
            "data": {
                **_data_parts(symbol),
                "score": answer.score,
                "alternatives": [_alternative(c, edits, drawing_id) for c in answer.alternatives],
            },
            # Clients run it once the item is chosen.
            "command": choice_command(drawing_id, symbol.id),
        }
        if edits is not None:
            item.update(edits.of(symbol))
        items.append(item)
    return {"isIncomplete": False, "items": items}


def prepare_answers(symbols: Iterable[Symbol]) -> None:
    """Make the symbols' fixed parts now, so that no answer waits for them (a symbol's Unicode character
    takes a LaTeX parse)."""
    for symbol in symbols:
        _item_parts(symbol)
        _data_parts(symbol)


# Enough for the model's symbols and the user's: a team's store may hold thousands.
@lru_cache(maxsize=16384)
def _item_parts(symbol: Symbol) -> dict[str, Any]:
    """The JSON of a symbol's item that no drawing or document changes: label, kind, detail."""
    return {
        "label": symbol.command,
        "kind": types.CompletionItemKind.Constant.value,
        "detail": symbol_detail(symbol),
    }


@lru_cache(maxsize=16384)
def _data_parts(symbol: Symbol) -> dict[str, Any]:
    """What an item's data, and an alternative, say of the symbol whatever the drawing."""
    return {
        "symbolId": symbol.id,
        "package": symbol.package,
        "mode": symbol.mode,
        "unicode": unicode_character(symbol.command),
    }


class _Edits:
    """The edits inserting symbols at one placement, as JSON: `textEdit` and `additionalTextEdits`."""

    def __init__(self, where: Placement) -> None:
        self.where = where
        self.range = _CONVERTER.unstructure(where.range)  # the same for every symbol
        self.package_edits: dict[Packages, list[dict[str, Any]]] = {}  # most symbols need the same

    def of(self, symbol: Symbol) -> dict[str, Any]:
        text, packages = insertion(symbol, self.where)
        if (edits := self.package_edits.get(packages)) is None:
            edits = self.package_edits[packages] = _CONVERTER.unstructure(package_edits(packages, self.where))
        return {"textEdit": {"range": self.range, "newText": text}, "additionalTextEdits": edits}


def _alternative(candidate: Candidate, edits: _Edits | None, drawing_id: str) -> dict[str, Any]:
    """Another member of an item's group, as JSON: the command recording it as the choice and, with a
    placement, the edits that insert it instead."""
    symbol = candidate.symbol
    entry: dict[str, Any] = {
        **_data_parts(symbol),
        "label": symbol.command,
        "score": candidate.score,
        "command": choice_command(drawing_id, symbol.id),
    }
    if edits is not None:
        entry.update(edits.of(symbol))
    return entry
