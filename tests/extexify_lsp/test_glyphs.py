"""`extexify/glyphs` and glyph images in documentation, against the real server running the test artifact."""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from lsprotocol import types
from PIL import Image
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from extexify_lsp.protocol import GLYPHS, MAX_GLYPHS
from tests.extexify_lsp.artifacts import MISSING_GLYPHS, glyph_cell
from tests.extexify_lsp.lsp_client import cursor, make_client, open_document

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning"),
]

PNG_URI = "data:image/png;base64,"
LEQSLANT = "latex:amssymb:leqslant"


def label_order(artifact: Path) -> list[str]:
    return json.loads((artifact / "extexify.json").read_text())["labels"]


def pixels(uri: str) -> np.ndarray:
    assert uri.startswith(PNG_URI)
    image = Image.open(io.BytesIO(base64.b64decode(uri.removeprefix(PNG_URI))))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGBA"))


async def glyphs(client: LanguageClient, symbol_ids: object) -> dict[str, str | None]:
    answer = await client.protocol.send_request_async(GLYPHS, {"symbolIds": symbol_ids})
    return answer["glyphs"]


async def test_glyphs_are_png_data_uris_of_the_symbols_cells(
    grouped_client: LanguageClient, test_artifact: Path
) -> None:
    labels = label_order(test_artifact)
    asked = [labels[0], LEQSLANT, labels[-1], labels[41]]
    answer = await glyphs(grouped_client, asked)
    assert list(answer) == asked
    for symbol_id, uri in answer.items():
        assert uri is not None
        np.testing.assert_array_equal(pixels(uri), glyph_cell(labels.index(symbol_id)))


async def test_unknown_symbols_and_missing_glyphs_are_null(grouped_client: LanguageClient) -> None:
    answer = await glyphs(grouped_client, ["latex:nowhere:nothing", *MISSING_GLYPHS, LEQSLANT])
    assert answer["latex:nowhere:nothing"] is None
    assert all(answer[m] is None for m in MISSING_GLYPHS)
    assert answer[LEQSLANT] is not None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([LEQSLANT], "params must be an object with 'symbolIds'"),
        ({}, "params must be an object with 'symbolIds'"),
        ({"symbolIds": LEQSLANT}, "a list of symbol id strings"),
        ({"symbolIds": [LEQSLANT, 3]}, "a list of symbol id strings"),
        ({"symbolIds": [None]}, "a list of symbol id strings"),
        ({"symbolIds": []}, f"symbolIds must list 1 to {MAX_GLYPHS} ids, got 0"),
        ({"symbolIds": [LEQSLANT] * (MAX_GLYPHS + 1)}, f"got {MAX_GLYPHS + 1}"),
    ],
)
async def test_bad_params_get_invalid_params(
    grouped_client: LanguageClient, params: object, message: str
) -> None:
    with pytest.raises(JsonRpcInvalidParams) as error:
        await grouped_client.protocol.send_request_async(GLYPHS, params)
    assert message in error.value.message
    assert (await glyphs(grouped_client, [LEQSLANT] * MAX_GLYPHS))[LEQSLANT] is not None


def shows_images(request: pytest.FixtureRequest) -> bool:
    """VS Code shows Markdown images; Neovim would show the data URI as text."""
    return request.node.callspec.params["grouped_client"] == "visual-studio-code"


async def hover_value(client: LanguageClient, text: str) -> str:
    text, position = cursor(text)
    uri = open_document(client, text)
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )
    assert hover is not None
    return hover.contents.value


async def test_hover_shows_the_glyph_to_clients_that_show_images(
    grouped_client: LanguageClient, request: pytest.FixtureRequest
) -> None:
    value = await hover_value(grouped_client, "Let $a \\leq|slant b$.")
    glyph = (await glyphs(grouped_client, [LEQSLANT]))[LEQSLANT]
    assert (f"![]({glyph})" in value) == shows_images(request)
    assert "amssymb" in value and ("data:" in value) == shows_images(request)
    # A symbol without a glyph is described all the same.
    value = await hover_value(grouped_client, "$A \\c|up B$")
    assert "data:" not in value and "core LaTeX" in value


async def test_completion_documentation_shows_the_glyph_only_when_resolved(
    grouped_client: LanguageClient, request: pytest.FixtureRequest
) -> None:
    text, position = cursor("\\documentclass{article}\n\\begin{document}\n$x \\le|$\n\\end{document}\n")
    uri = open_document(grouped_client, text)
    result = await grouped_client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )
    # Over a thousand items: no images in the list itself.
    assert len(result.items) > 1000
    assert not any("data:" in str(item.documentation) for item in result.items)
    leqslant = next(item for item in result.items if item.data["symbolId"] == LEQSLANT)
    resolved = await grouped_client.completion_item_resolve_async(leqslant)
    glyph = (await glyphs(grouped_client, [LEQSLANT]))[LEQSLANT]
    assert (f"![]({glyph})" in resolved.documentation.value) == shows_images(request)


async def initialized_hover(artifact: Path, client_info: types.ClientInfo | None, options: object) -> str:
    """Hover on \\leqslant from a fresh client that says who it is and what it wants."""
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "extexify_lsp", "--model", str(artifact)],
        client_factory=make_client,
    )
    client = await config.start()
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            client_info=client_info,
            initialization_options=options,
        )
    )
    try:
        return await hover_value(client, "$\\leq|slant$")
    finally:
        await client.shutdown_session()
        await client.stop()


@pytest.mark.parametrize(
    ("client_info", "options", "images"),
    [
        (types.ClientInfo(name="code-server", version="4.0"), None, True),
        (types.ClientInfo(name="extexify-web"), {"glyphImages": True}, True),
        (None, {"glyphImages": True}, True),
        (types.ClientInfo(name="Visual Studio Code"), {"glyphImages": False}, False),
        (types.ClientInfo(name="Neovim"), {"other": 1}, False),
        (None, None, False),
    ],
)
async def test_clients_say_whether_they_show_images(
    test_artifact: Path, client_info: types.ClientInfo | None, options: object, images: bool
) -> None:
    assert (
        "![](data:image/png;base64," in await initialized_hover(test_artifact, client_info, options)
    ) == images
