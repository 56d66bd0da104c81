"""pytest-lsp clients driving the real `extexify-lsp` process with the shipped model."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.extexify_lsp.lsp_client import SERVER_COMMAND, make_client

# The editors extexify ships clients for; their declared capabilities shape the answers.
CLIENTS = ["visual-studio-code", "neovim"]


@pytest_lsp.fixture(
    scope="module",
    params=CLIENTS,
    config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client),
)
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest):
    """A client with VS Code's or Neovim's capabilities, initialized against a fresh server process."""
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(request.param),
            root_uri=Path.cwd().as_uri(),
        )
    )
    yield
    await lsp_client.shutdown_session()


PLAINTEXT_ONLY = types.ClientCapabilities(
    text_document=types.TextDocumentClientCapabilities(
        completion=types.CompletionClientCapabilities(
            completion_item=types.ClientCompletionItemOptions(
                documentation_format=[types.MarkupKind.PlainText]
            )
        ),
        hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.PlainText]),
    )
)


@pytest_lsp.fixture(
    scope="module", config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client)
)
async def plaintext_client(lsp_client: LanguageClient):
    """A client that declares it cannot render Markdown."""
    await lsp_client.initialize_session(types.InitializeParams(capabilities=PLAINTEXT_ONLY))
    yield
    await lsp_client.shutdown_session()
