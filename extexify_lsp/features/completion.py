"""`textDocument/completion` after a backslash: every symbol command, with its package edit.

With over a thousand items the answer is built in JSON form from parts made once per process: each
symbol's label, kind, detail, data (and documentation, for clients that cannot ask for it later through
`completionItem/resolve`). Per request only the sort text and the edits vary; clients that take an
`itemDefaults.editRange` get the range once for the whole list, and clients that resolve
`additionalTextEdits` get an item's `\\usepackage` edit when they resolve it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from lsprotocol import types
from lsprotocol.converters import get_converter

from extexify_lsp.features.documents import open_document
from extexify_lsp.features.glyphs import documentation_glyph
from extexify_lsp.items import (
    Placement,
    completion_sort_text,
    placement,
    symbol_documentation,
    symbol_edits,
    symbol_item,
)
from extexify_lsp.latex import command_start
from extexify_lsp.positions import offset_at
from extexify_lsp.protocol import InvalidParamsError

if TYPE_CHECKING:
    from extexify_lsp.features.context import Server
    from extexify_lsp.symbols import Symbol, SymbolTable

CONVERTER = get_converter()
# A JSON object, as the client receives it.
Json = dict[str, object]


def complete_command(server: Server, params: types.CompletionParams) -> Json | None:
    """All symbol commands when the cursor ends a partial `\\command`, as a CompletionList in JSON form;
    None elsewhere."""
    document = open_document(server.workspace, params.text_document.uri)
    offset = offset_at(document, params.position)
    start = command_start(document.source, offset)
    if start is None:
        return None
    # The item replaces the typed `\lefta...` from its backslash; no $...$ wrapping while typing.
    where = placement(document, start, offset, wrap_for_mode=False)
    edit_range = CONVERTER.unstructure(where.range)
    defaults = server.completion_defaults("editRange")
    # In the data, for resolve to find the preamble; without it, the package edits come with every item.
    lazy_edits = None
    if server.completion_resolves("additionalTextEdits"):
        lazy_edits = {"uri": params.text_document.uri}
    package_edits = _PackageEdits(where)
    items = []
    for symbol, parts in _symbol_parts(
        server.symbols, server.completion_markdown(), not server.completion_resolves("documentation")
    ):
        item = {**parts, "sortText": completion_sort_text(symbol, where)}
        if defaults:
            item["textEditText"] = symbol.command
        else:
            item["textEdit"] = {"range": edit_range, "newText": symbol.command}
        if lazy_edits is not None:
            item["data"] = {**parts["data"], **lazy_edits}  # type: ignore[dict-item]
        elif additional := package_edits.of(symbol):
            item["additionalTextEdits"] = additional
        items.append(item)
    answer: Json = {"isIncomplete": False, "items": items}
    if defaults:
        answer["itemDefaults"] = {"editRange": edit_range}
    return answer


@lru_cache(maxsize=8)
def _symbol_parts(symbols: SymbolTable, markdown: bool, documented: bool) -> tuple[tuple[Symbol, Json], ...]:
    """Each command symbol with the JSON of its item's parts that no document changes."""
    return tuple(
        (
            symbol,
            CONVERTER.unstructure(
                symbol_item(symbol, sort_text="", markdown=markdown, documented=documented)
            ),
        )
        for symbol in symbols
        if symbol.command.startswith("\\")
    )


class _PackageEdits:
    """The `\\usepackage` edits of one placement, in JSON form, made once per package and font encoding.

    Nothing is wrapped while typing, so the edits depend on nothing else.
    """

    def __init__(self, where: Placement) -> None:
        self.where = where
        self.edits: dict[tuple[str | None, str], list[Json]] = {}

    def of(self, symbol: Symbol) -> list[Json]:
        key = (symbol.package, symbol.fontenc)
        if key not in self.edits:
            self.edits[key] = CONVERTER.unstructure(symbol_edits(symbol, self.where)[1])
        return self.edits[key]


def resolve_item(server: Server, item: types.CompletionItem) -> types.CompletionItem:
    """The item with its documentation, found by the symbol id in its data, and its package edits when
    they were left for now (its data names the document)."""
    data = item.data if isinstance(item.data, dict) else {}
    symbol_id = data.get("symbolId")
    symbol = server.symbol(symbol_id) if isinstance(symbol_id, str) else None
    if symbol is None:
        raise InvalidParamsError(f"the item's data names no known symbol: {item.data!r:.300}")
    uri = data.get("uri")
    if isinstance(uri, str) and item.additional_text_edits is None:
        document = open_document(server.workspace, uri)
        # Nothing is wrapped while typing: the packages a command needs depend on the preamble alone,
        # so where in the document it goes does not matter.
        where = placement(document, 0, 0, wrap_for_mode=False)
        item.additional_text_edits = symbol_edits(symbol, where)[1]
    if item.documentation is None:
        item.documentation = symbol_documentation(
            symbol, server.completion_markdown(), documentation_glyph(server, symbol.id)
        )
    return item
