"""`textDocument/hover` on symbol commands, against the real server and the shipped model's symbols."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.extexify_lsp.lsp_client import cursor, open_document

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning"),
]


async def hover(client: LanguageClient, text: str) -> types.Hover | None:
    text, position = cursor(text)
    uri = open_document(client, text)
    return await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )


async def test_hover_shows_package_mode_and_character(client: LanguageClient) -> None:
    result = await hover(client, "Let $a \\leq|slant b$.")
    assert result is not None
    assert result.range == types.Range(types.Position(0, 7), types.Position(0, 16))
    assert "amssymb" in result.contents.value
    assert "math" in result.contents.value
    assert "⩽" in result.contents.value


async def test_hover_on_a_command_from_several_packages_lists_them_all(client: LanguageClient) -> None:
    result = await hover(client, "$\\ii|nt f$")
    assert "amsmath" in result.contents.value and "esint" in result.contents.value


async def test_hover_on_a_command_with_its_argument(client: LanguageClient) -> None:
    result = await hover(client, "$\\mathcal{|A}$")
    assert result.range == types.Range(types.Position(0, 1), types.Position(0, 12))
    assert "\N{MATHEMATICAL SCRIPT CAPITAL A}" in result.contents.value


@pytest.mark.parametrize("text", ["Plain |text", "$\\notasymbol|$", "$x| + y$", "\\begin{doc|ument}"])
async def test_no_hover_off_symbols(client: LanguageClient, text: str) -> None:
    assert await hover(client, text) is None


async def test_plain_text_hover_for_clients_without_markdown(plaintext_client: LanguageClient) -> None:
    result = await hover(plaintext_client, "Let $a \\leq|slant b$.")
    assert result.contents.kind == types.MarkupKind.PlainText
    assert "`" not in result.contents.value and "amssymb" in result.contents.value
