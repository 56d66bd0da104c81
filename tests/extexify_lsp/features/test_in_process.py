"""The feature functions in process, through the `Server` protocol: a pygls Workspace and the shipped model.

The same features run end to end through a server process in the tests beside this folder; here they
run without one, in milliseconds, and a failure points at the feature rather than the transport.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.workspace import TextDocument, Workspace

from extexify_lsp.features.completion import complete_command, resolve_item
from extexify_lsp.features.context import Server
from extexify_lsp.features.documents import open_document
from extexify_lsp.features.hover import hover_symbol
from extexify_lsp.features.recognize import recognize_strokes
from extexify_lsp.glyphs import GlyphAtlas
from extexify_lsp.items import placement
from extexify_lsp.personal import RecentDrawings
from extexify_lsp.positions import offset_at
from extexify_lsp.protocol import InvalidParamsError
from extexify_lsp.ranking import Ranker
from extexify_lsp.recognizer import Recognizer
from extexify_lsp.symbols import Symbol, SymbolTable
from tests.extexify_lsp.lsp_client import LEQ


@dataclass
class InProcessServer:
    """What the features need from the server (`Server`), with a real workspace and model, no process."""

    recognizer: Recognizer
    workspace: Workspace = field(default_factory=lambda: Workspace(None))
    markdown: bool = True
    resolved: frozenset[str] = frozenset()
    defaults: frozenset[str] = frozenset()
    glyph_images: bool = False
    drawings: RecentDrawings = field(default_factory=RecentDrawings)

    @property
    def symbols(self) -> SymbolTable:
        return self.recognizer.symbols

    @cached_property
    def ranker(self) -> Ranker:
        return Ranker(self.recognizer.symbols, self.recognizer.groups)

    def symbol(self, symbol_id: str) -> Symbol | None:
        return self.symbols.get(symbol_id) if symbol_id in self.symbols else None

    @property
    def glyphs(self) -> GlyphAtlas | None:
        return self.recognizer.glyphs

    async def probabilities(self, drawing: list[np.ndarray]) -> np.ndarray:
        return self.recognizer.probabilities([drawing])[0].numpy()

    async def recognition(self, drawing: list[np.ndarray]) -> tuple[np.ndarray, Ranker]:
        return await self.probabilities(drawing), self.ranker  # no store: the model alone

    def completion_markdown(self) -> bool:
        return self.markdown

    def completion_resolves(self, prop: str) -> bool:
        return prop in self.resolved

    def completion_defaults(self, prop: str) -> bool:
        return prop in self.defaults

    def hover_markdown(self) -> bool:
        return self.markdown


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.load(device="cpu")


@pytest.fixture
def server(recognizer: Recognizer) -> Server:
    return InProcessServer(recognizer)


def opened(server: Server, marked: str) -> tuple[types.TextDocumentIdentifier, types.Position]:
    """Open `marked` without its `|` in the server's workspace; its URI and the `|` position."""
    text = marked.replace("|", "")
    before = marked[: marked.index("|")]
    uri = f"file:///in-process/doc{len(server.workspace.text_documents)}.tex"
    server.workspace.put_text_document(types.TextDocumentItem(uri, "latex", 1, text))
    position = types.Position(before.count("\n"), len(before) - (before.rfind("\n") + 1))
    return types.TextDocumentIdentifier(uri), position


DOCUMENT = "\\documentclass{article}\n\\begin{document}\n%s\n\\end{document}\n"


def completion(
    server: Server, document: types.TextDocumentIdentifier, position: types.Position
) -> types.CompletionList:
    """The completion list at `position`, which must be one; it comes in JSON form."""
    result = complete_command(server, types.CompletionParams(document, position))
    assert result is not None
    return get_converter().structure(result, types.CompletionList)


def test_completion_replaces_the_typed_command_and_adds_its_package(server: Server) -> None:
    document, position = opened(server, DOCUMENT % "$x \\le|$")
    result = completion(server, document, position)
    leqslant = next(item for item in result.items if item.label == "\\leqslant")
    assert leqslant.text_edit == types.TextEdit(types.Range(types.Position(2, 3), position), "\\leqslant")
    assert list(leqslant.additional_text_edits) == [
        types.TextEdit(types.Range(types.Position(0, 23), types.Position(0, 23)), "\n\\usepackage{amssymb}")
    ]
    assert leqslant.documentation is not None


def test_completion_leaves_documentation_to_resolve_when_the_client_resolves_it(
    recognizer: Recognizer,
) -> None:
    server = InProcessServer(recognizer, resolved=frozenset({"documentation"}), markdown=False)
    document, position = opened(server, DOCUMENT % "Text \\guil|")
    result = completion(server, document, position)
    guillemot = next(item for item in result.items if item.label == "\\guillemotleft")
    assert guillemot.documentation is None
    documentation = resolve_item(server, guillemot).documentation
    assert isinstance(documentation, str) and "T1" in documentation
    with pytest.raises(InvalidParamsError, match="names no known symbol"):
        resolve_item(server, types.CompletionItem("\\x", data={"symbolId": "latex:nowhere:x"}))


def test_hover_over_a_command(server: Server) -> None:
    document, position = opened(server, DOCUMENT % "$a \\leq|slant b$")
    hover = hover_symbol(server, types.HoverParams(document, position))
    assert hover is not None and "amssymb" in hover.contents.value
    assert hover.range == types.Range(types.Position(2, 3), types.Position(2, 12))


async def test_recognized_items_insert_at_the_cursor(server: Server) -> None:
    document, position = opened(server, DOCUMENT % "Let |")
    params = {
        "strokes": LEQ,
        "limit": 10,
        "textDocument": {"uri": document.uri},
        "position": {"line": position.line, "character": position.character},
    }
    result = get_converter().structure(await recognize_strokes(server, params), types.CompletionList)
    assert len(result.items) == 10
    for item in result.items:
        assert item.text_edit.range == types.Range(position, position)
        if item.data["mode"] == "math":  # in text: wrapped
            assert item.text_edit.new_text == f"${item.label}$"


def test_documents_not_opened_are_refused_without_a_workspace_folder(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "on-disk.tex"
    path.write_text(DOCUMENT % "$\\alpha$")
    params = types.HoverParams(types.TextDocumentIdentifier(path.as_uri()), types.Position(2, 2))
    with pytest.raises(InvalidParamsError, match="no workspace folder declared"):
        hover_symbol(server, params)
    server.workspace.add_folder(types.WorkspaceFolder(tmp_path.as_uri(), "tmp"))
    assert hover_symbol(server, params) is not None


# With "/" as the workspace, every absolute path is inside it: each one goes all the way to the file system.
uris = st.one_of(
    st.text(max_size=60),
    st.builds("file://{}".format, st.text(max_size=60)),
    st.builds("file:///{}.tex".format, st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)),
    st.sampled_from(
        [
            "file://[::1/x.tex",
            "file:rel.tex",
            "file:///%00.tex",
            "file:///" + "a" * 5000 + ".tex",
            "file:///dev",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(uri=uris)
def test_any_uri_is_read_or_refused_with_invalid_params(uri: str) -> None:
    try:
        open_document(Workspace("file:///"), uri)
    except InvalidParamsError as error:
        assert str(error)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200), line=st.integers(0, 2**31 - 1), character=st.integers(0, 2**31 - 1))
def test_any_position_in_any_text_places_without_error(text: str, line: int, character: int) -> None:
    document = TextDocument("file:///t.tex", text, version=1)
    offset = offset_at(document, types.Position(line, character))
    assert 0 <= offset <= len(text)
    where = placement(document, offset, offset, wrap_for_mode=True)
    assert offset_at(document, where.range.start) == offset
