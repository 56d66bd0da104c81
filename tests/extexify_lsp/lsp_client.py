"""How the tests start `extexify-lsp` and talk to it: the client, documents, cursors, requests."""

from __future__ import annotations

import itertools
import os
import sys

from lsprotocol import types
from lsprotocol.converters import get_converter
from pytest_lsp import LanguageClient
from pytest_lsp.client import register_lsp_features

from extexify_lsp.protocol import RECOGNIZE_STROKES

# EXTEXIFY_TEST_MODEL runs the suite against another artifact; by default the shipped model is used.
MODEL_ARGS = ["--model", os.environ["EXTEXIFY_TEST_MODEL"]] if "EXTEXIFY_TEST_MODEL" in os.environ else []
SERVER_COMMAND = [sys.executable, "-m", "extexify_lsp", *MODEL_ARGS]
CONVERTER = get_converter()

_uris = itertools.count()


def make_client() -> LanguageClient:
    """pytest-lsp's test client, keeping custom methods' results as plain JSON rather than namedtuples."""
    client = LanguageClient(converter_factory=get_converter)
    register_lsp_features(client)
    return client


def open_document(client: LanguageClient, text: str, suffix: str = ".tex") -> str:
    """Open `text` as a new document (never on disk) and return its URI."""
    uri = f"file:///extexify-test/doc{next(_uris)}{suffix}"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="latex", version=1, text=text)
        )
    )
    return uri


def cursor(text: str, marker: str = "|") -> tuple[str, types.Position]:
    """`text` without its `|` marker, and the marker's position."""
    offset = text.index(marker)
    before = text[:offset]
    position = types.Position(line=before.count("\n"), character=offset - (before.rfind("\n") + 1))
    return before + text[offset + len(marker) :], position


async def recognize(client: LanguageClient, params: object) -> types.CompletionList:
    """Send `extexify/recognizeStrokes`; check the JSON result is an LSP CompletionList and return it."""
    raw = await client.protocol.send_request_async(RECOGNIZE_STROKES, params)
    assert raw["isIncomplete"] is False
    return CONVERTER.structure(raw, types.CompletionList)


def at(position: types.Position) -> dict[str, int]:
    return {"line": position.line, "character": position.character}
