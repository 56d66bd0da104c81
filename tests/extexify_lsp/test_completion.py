"""`textDocument/completion` after a backslash, against the real server and the shipped model's symbols."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import LanguageClient, client_capabilities

from tests.extexify_lsp.conftest import CLIENTS
from tests.extexify_lsp.lsp_client import cursor, open_document

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    # pytest-lsp warns when an answer uses what the client did not declare (e.g. Markdown): fail instead.
    pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning"),
]

DOCUMENT = "\\documentclass{article}\n%s\\begin{document}\n%s\n\\end{document}\n"


async def complete(
    client: LanguageClient, preamble: str, body: str
) -> tuple[types.CompletionList | None, str]:
    text, position = cursor(DOCUMENT % (preamble, body))
    uri = open_document(client, text)
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )
    return result, text


def by_id(result: types.CompletionList) -> dict[str, types.CompletionItem]:
    return {item.data["symbolId"]: item for item in result.items}


def text_edit(result: types.CompletionList, item: types.CompletionItem) -> types.TextEdit:
    """The edit `item` makes: its own, or its text over the list's default range (Neovim's clients)."""
    if item.text_edit is not None:
        assert isinstance(item.text_edit, types.TextEdit)
        return item.text_edit
    assert result.item_defaults is not None and isinstance(result.item_defaults.edit_range, types.Range)
    return types.TextEdit(result.item_defaults.edit_range, item.text_edit_text or item.label)


async def test_completion_lists_every_symbol_command(client: LanguageClient) -> None:
    result, _ = await complete(client, "", r"$x \le|$")
    assert result is not None and result.is_incomplete is False
    items = by_id(result)
    # Every symbol whose command is a control sequence; `|`, `[`, `/` ... are not typed after a backslash.
    assert len(items) > 1100
    assert all(item.label.startswith("\\") for item in result.items)
    leqslant = items["latex:amssymb:leqslant"]
    assert leqslant.label == "\\leqslant"
    assert leqslant.detail == "amssymb · math mode"
    assert without_uri(leqslant.data) == {
        "symbolId": "latex:amssymb:leqslant",
        "package": "amssymb",
        "mode": "math",
    }
    # For resolve to find the package edits in the document; clients that take them inline need none.
    assert ("uri" in leqslant.data) == resolves(client, "additionalTextEdits")


def resolves(client: LanguageClient, prop: str) -> bool:
    support = client.capabilities.text_document.completion.completion_item.resolve_support
    return support is not None and prop in support.properties


def without_uri(data: dict) -> dict:
    return {key: value for key, value in data.items() if key != "uri"}


async def package_edits(client: LanguageClient, item: types.CompletionItem) -> list[types.TextEdit]:
    """The item's `\\usepackage` edits: in the list, or on resolve for clients that resolve them (both
    VS Code and Neovim do)."""
    if resolves(client, "additionalTextEdits"):
        assert item.additional_text_edits is None
        item = await client.completion_item_resolve_async(item)
    return list(item.additional_text_edits or ())


async def test_documentation_comes_inline_or_on_resolve(client: LanguageClient) -> None:
    result, _ = await complete(client, "", r"$x \le|$")
    leqslant = by_id(result)["latex:amssymb:leqslant"]
    if resolves(client, "documentation"):  # VS Code: over a thousand items, so documentation comes later
        assert all(item.documentation is None for item in result.items)
        leqslant = await client.completion_item_resolve_async(leqslant)
    documentation = leqslant.documentation
    assert isinstance(documentation, types.MarkupContent)
    assert documentation.kind == types.MarkupKind.Markdown
    assert "amssymb" in documentation.value and "⩽" in documentation.value and "U+2A7D" in documentation.value
    assert leqslant.label == "\\leqslant" and text_edit(result, leqslant).new_text == "\\leqslant"


@pytest.mark.parametrize("data", [None, {}, {"symbolId": "latex:nowhere:nothing"}, {"symbolId": 3}])
async def test_resolving_an_item_that_names_no_symbol_is_invalid_params(client: LanguageClient, data) -> None:
    with pytest.raises(JsonRpcInvalidParams, match="names no known symbol"):
        await client.completion_item_resolve_async(types.CompletionItem(label="\\x", data=data))
    result, _ = await complete(client, "", r"$x \le|$")  # and the server keeps serving
    assert result is not None and len(result.items) > 1100


async def test_completion_replaces_the_typed_prefix_and_adds_the_package(client: LanguageClient) -> None:
    result, _ = await complete(client, "", r"$x \le|$")
    leqslant = by_id(result)["latex:amssymb:leqslant"]
    # Line 2 is `$x \le$`: the typed `\le` (characters 3 to 6) becomes the command.
    assert text_edit(result, leqslant) == types.TextEdit(
        range=types.Range(types.Position(2, 3), types.Position(2, 6)), new_text="\\leqslant"
    )
    assert await package_edits(client, leqslant) == [
        types.TextEdit(
            range=types.Range(types.Position(0, 23), types.Position(0, 23)),
            new_text="\n\\usepackage{amssymb}",
        )
    ]
    alpha = by_id(result)["latex:latex2e:alpha"]
    assert text_edit(result, alpha).new_text == "\\alpha" and not await package_edits(client, alpha)


async def test_no_package_edit_when_the_preamble_loads_it(client: LanguageClient) -> None:
    result, _ = await complete(client, "\\usepackage{amssymb}\n\\usepackage[T1]{fontenc}\n", r"Text \|")
    items = by_id(result)
    assert not await package_edits(client, items["latex:amssymb:leqslant"])
    assert not await package_edits(client, items["latex:latex2e:guillemotleft"])
    # A package not loaded yet goes after the last \usepackage (line 2).
    assert await package_edits(client, items["latex:wasysym:smiley"]) == [
        types.TextEdit(
            range=types.Range(types.Position(2, 24), types.Position(2, 24)),
            new_text="\n\\usepackage{wasysym}",
        )
    ]


async def test_t1_symbols_load_the_font_encoding(client: LanguageClient) -> None:
    result, _ = await complete(client, "", r"Text \guil|")
    guillemot = by_id(result)["latex:latex2e:guillemotleft"]
    assert guillemot.detail == "core LaTeX · text mode · T1 font encoding"
    assert [e.new_text for e in await package_edits(client, guillemot)] == ["\n\\usepackage[T1]{fontenc}"]


@pytest.mark.parametrize(("body", "first_mode"), [(r"$x \|$", "math"), (r"Text \|", "text")])
async def test_symbols_for_the_mode_at_the_cursor_sort_first(
    client: LanguageClient, body: str, first_mode: str
) -> None:
    result, _ = await complete(client, "", body)
    modes = [item.data["mode"] for item in sorted(result.items, key=lambda item: item.sort_text)]
    other = "text" if first_mode == "math" else "math"
    assert max(i for i, m in enumerate(modes) if m != other) < min(
        i for i, m in enumerate(modes) if m == other
    )
    # While typing, nothing is wrapped in $...$ or \text{...}: the user chose where the command goes.
    assert all(text_edit(result, item).new_text == item.label for item in result.items)


@pytest.mark.parametrize("body", ["Plain text|", "$x|$", "\\alpha |"])
async def test_no_completion_without_a_backslash(client: LanguageClient, body: str) -> None:
    result, _ = await complete(client, "", body)
    assert result is None


async def test_plain_text_documentation_for_clients_without_markdown(
    plaintext_client: LanguageClient,
) -> None:
    result, _ = await complete(plaintext_client, "", r"$x \le|$")
    documentation = by_id(result)["latex:amssymb:leqslant"].documentation
    assert isinstance(documentation, str)
    assert "`" not in documentation and "\\usepackage{amssymb}" in documentation


def takes_default_edit_range(client: LanguageClient) -> bool:
    completion_list = client.capabilities.text_document.completion.completion_list
    return completion_list is not None and "editRange" in (completion_list.item_defaults or ())


async def test_the_clients_cover_both_list_shapes() -> None:
    """The `client` fixture's editors: Neovim takes itemDefaults.editRange, VS Code 1.65 does not."""
    supports = {name: client_capabilities(name).text_document.completion.completion_list for name in CLIENTS}
    assert "editRange" in supports["neovim"].item_defaults
    assert supports["visual-studio-code"] is None


async def test_the_edit_range_comes_once_for_clients_that_take_item_defaults(client: LanguageClient) -> None:
    result, _ = await complete(client, "", r"$x \le|$")
    typed = types.Range(types.Position(2, 3), types.Position(2, 6))
    if takes_default_edit_range(client):  # Neovim: each item carries its text only
        assert result.item_defaults == types.CompletionItemDefaults(edit_range=typed)
        assert all(item.text_edit is None and item.text_edit_text == item.label for item in result.items)
    else:  # VS Code: each item its whole edit
        assert result.item_defaults is None
        assert all(item.text_edit == types.TextEdit(typed, item.label) for item in result.items)


async def test_documents_with_different_preambles_get_their_own_edits(client: LanguageClient) -> None:
    """The items' unchanging parts are made once; the sort text and package edits are each document's."""
    loaded, _ = await complete(client, "\\usepackage{amssymb}\n", r"Text \le|")
    bare, _ = await complete(client, "", r"$x \le|$")
    loaded_item, bare_item = by_id(loaded)["latex:amssymb:leqslant"], by_id(bare)["latex:amssymb:leqslant"]
    assert not await package_edits(client, loaded_item) and await package_edits(client, bare_item)
    assert loaded_item.sort_text == "2\\leqslant" and bare_item.sort_text == "1\\leqslant"
    assert without_uri(loaded_item.data) == without_uri(bare_item.data)
    assert loaded_item.detail == bare_item.detail
    assert text_edit(loaded, loaded_item).range != text_edit(bare, bare_item).range


async def test_package_edits_come_inline_for_clients_that_do_not_resolve_them(
    plaintext_client: LanguageClient,
) -> None:
    result, _ = await complete(plaintext_client, "", r"$x \le|$")
    leqslant = by_id(result)["latex:amssymb:leqslant"]
    assert "uri" not in leqslant.data
    assert [e.new_text for e in leqslant.additional_text_edits] == ["\n\\usepackage{amssymb}"]


async def test_resolving_the_package_edits_of_a_closed_document_is_invalid_params(
    client: LanguageClient,
) -> None:
    assert resolves(client, "additionalTextEdits")  # VS Code and Neovim both do
    text, position = cursor(DOCUMENT % ("", r"$x \le|$"))
    uri = open_document(client, text)
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))
    with pytest.raises(JsonRpcInvalidParams, match="is not open"):
        await client.completion_item_resolve_async(by_id(result)["latex:amssymb:leqslant"])
