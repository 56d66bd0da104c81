"""pytest-lsp clients driving the real `extexify-lsp` process with the shipped model or a test copy of it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.extexify_lsp.artifacts import write_test_artifact
from tests.extexify_lsp.lsp_client import SERVER_COMMAND, make_client

# The editors extexify ships clients for; their declared capabilities shape the answers.
CLIENTS = ["visual-studio-code", "neovim"]
# What they say they are (pytest-lsp's capability files know, but hand over only the capabilities).
CLIENT_INFO = {
    "visual-studio-code": types.ClientInfo(name="Visual Studio Code", version="1.65.2"),
    "neovim": types.ClientInfo(name="Neovim", version="0.11.0"),
}


def initialize_params(client: str) -> types.InitializeParams:
    return types.InitializeParams(
        capabilities=client_capabilities(client),
        client_info=CLIENT_INFO[client],
        root_uri=Path.cwd().as_uri(),
    )


@pytest_lsp.fixture(
    scope="module",
    params=CLIENTS,
    config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client),
)
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest):
    """A client with VS Code's or Neovim's capabilities, initialized against a fresh server process."""
    await lsp_client.initialize_session(initialize_params(request.param))
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


@pytest.fixture(scope="session")
def test_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the model under test with made-up groups and glyph atlas (artifacts.py)."""
    return write_test_artifact(tmp_path_factory.mktemp("grouped-model"))


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=CLIENTS)
async def grouped_client(
    test_artifact: Path, request: pytest.FixtureRequest
) -> AsyncIterator[LanguageClient]:
    """A VS Code or Neovim client of a server running the test artifact (groups and glyphs)."""
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "extexify_lsp", "--model", str(test_artifact)],
        client_factory=make_client,
    )
    client = await config.start()
    await client.initialize_session(initialize_params(request.param))
    yield client
    await client.shutdown_session()
    await client.stop()
