"""Big and pathological documents through the real server: right answers, and memory given back on close.

How fast these answers come is measured by bench/documents.py; here only that they are right.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.extexify_lsp.lsp_client import LEQ, SERVER_COMMAND, at, make_client, open_document, recognize

pytestmark = pytest.mark.asyncio(loop_scope="module")

MIB = 2**20
# Within this of where it was, the server's resident memory after documents are closed (issue 9).
RSS_TOLERANCE_MIB = 50


@pytest_lsp.fixture(
    scope="module", config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client)
)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


def end(text: str) -> types.Position:
    return types.Position(line=text.count("\n"), character=len(text) - (text.rfind("\n") + 1))


def close(client: LanguageClient, uri: str) -> None:
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))


def resident_mib(client: LanguageClient) -> float:
    """The server process's resident memory (VmRSS), in MiB."""
    assert client._server is not None
    status = Path(f"/proc/{client._server.pid}/status").read_text()
    return next(int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:"))


async def test_a_preamble_of_unclosed_usepackage_options_gets_its_edits(client: LanguageClient) -> None:
    text = "\\documentclass{article}\n" + "\\usepackage[" * 16_000 + "\n\\begin{document}\n$x \\le"
    uri = open_document(client, text)
    result = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(uri), end(text))
    )
    leqslant = next(item for item in result.items if item.label == "\\leqslant")
    cursor = end(text)
    assert leqslant.text_edit.range == types.Range(types.Position(cursor.line, 3), cursor)
    # After the \documentclass line: the unclosed options load nothing.
    assert [(e.range.start, e.new_text) for e in leqslant.additional_text_edits] == [
        (types.Position(0, 23), "\n\\usepackage{amssymb}")
    ]
    close(client, uri)


@pytest.mark.parametrize("line_break", ["\n", " "])
async def test_a_20_mb_paragraph_gets_edits_at_the_cursor(client: LanguageClient, line_break: str) -> None:
    line = "Some words, a formula $x + y^2$ and \\alpha in text, then more words." + line_break
    text = line * (20 * MIB // len(line)) + "and $a "
    uri = open_document(client, text)
    cursor = end(text)
    result = await recognize(
        client, {"strokes": LEQ, "limit": 20, "textDocument": {"uri": uri}, "position": at(cursor)}
    )
    for item in result.items:
        assert item.text_edit.range == types.Range(cursor, cursor)
        # In math mode at the cursor: math symbols go in as they are, text ones in \text{...}.
        wrapped = f"\\text{{{item.label}}}" if item.data["mode"] == "text" else item.label
        assert item.text_edit.new_text == wrapped
        assert not item.additional_text_edits  # no preamble to add packages to
    alpha = text.rindex("\\alpha")
    start = end(text[:alpha])
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(start.line, start.character + 2))
    )
    assert hover.range == types.Range(start, types.Position(start.line, start.character + len("\\alpha")))
    close(client, uri)


async def test_closed_documents_give_their_memory_back(client: LanguageClient) -> None:
    """Four 10 MB documents opened, asked about and closed, cycle after cycle."""
    base = ("Text with $x^2$ and \\beta.\n" * (10 * MIB // 27))[:-1]

    async def cycle(number: int) -> float:
        uris = []
        for i in range(4):
            # A different text each time: nothing may stay alive by being equal to what came before.
            text = f"{base} {number}.{i} $x "
            uris.append(open_document(client, text))
            await recognize(
                client,
                {"strokes": LEQ, "limit": 1, "textDocument": {"uri": uris[-1]}, "position": at(end(text))},
            )
        for uri in uris:
            close(client, uri)
        await recognize(client, {"strokes": LEQ, "limit": 1})  # answered once the closes are handled
        return resident_mib(client)

    settled = await cycle(0)  # the first cycle may grow allocator pools for good
    after = [await cycle(number) for number in range(1, 5)]
    assert max(after) - settled < RSS_TOLERANCE_MIB, f"resident MiB: {settled:.0f} then {after}"
