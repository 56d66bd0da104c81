"""`textDocument/hover` on symbol commands, against the real server and the shipped model's symbols."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import LanguageClient

from tests.extexify_lsp.lsp_client import RawConnection, cursor, listening, open_document

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


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def raw() -> AsyncIterator[RawConnection]:
    """A connection for params that pytest-lsp's typed client cannot send: positions beyond LSP's integers."""
    async with listening("--tcp", "0") as (port, _):
        connection = await RawConnection.tcp(port)
        await connection.initialize()
        yield connection
        await connection.close()


@pytest.mark.parametrize("method", [types.TEXT_DOCUMENT_HOVER, types.TEXT_DOCUMENT_COMPLETION])
@pytest.mark.parametrize(
    "position",
    [{"line": 2**31, "character": 0}, {"line": 0, "character": 2**31}, {"line": 10**30, "character": 0}],
)
async def test_positions_beyond_lsp_integers_are_invalid_params(
    raw: RawConnection, method: str, position: dict[str, int]
) -> None:
    uri = "file:///extexify-test/huge-position.tex"
    await raw.send_message(
        {
            "jsonrpc": "2.0",
            "method": types.TEXT_DOCUMENT_DID_OPEN,
            "params": {
                "textDocument": {"uri": uri, "languageId": "latex", "version": 1, "text": "$\\alpha$"}
            },
        }
    )
    answer = await raw.request(1, method, {"textDocument": {"uri": uri}, "position": position})
    assert answer["error"]["code"] == JsonRpcInvalidParams.CODE and "position" in answer["error"]["message"]
    # The largest position there is lies past the end of the document: no command there, no answer.
    largest = {"line": 2**31 - 1, "character": 2**31 - 1}
    answer = await raw.request(2, method, {"textDocument": {"uri": uri}, "position": largest})
    assert answer["result"] is None
