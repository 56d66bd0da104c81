"""Documents a request names but the client never opened: only LaTeX sources inside the declared workspace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import ClientServerConfig, LanguageClient

from extexify_lsp.protocol import RECOGNIZE_STROKES
from tests.extexify_lsp.lsp_client import LEQ, SERVER_COMMAND, at, cursor, make_client, recognize

pytestmark = pytest.mark.asyncio(loop_scope="module")

SOURCE = (
    "\\documentclass{article}\n\\usepackage{amssymb}\n\\begin{document}\n$a \\leq|slant b$\n\\end{document}\n"
)
CONFIG = ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client)


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A workspace with LaTeX sources and a few traps, a folder beside it, and one added later."""
    base = tmp_path_factory.mktemp("documents")
    text, _ = cursor(SOURCE)
    workspace, outside, later = base / "workspace", base / "outside", base / "later"
    for folder in (workspace / "chapters", outside, later):
        folder.mkdir(parents=True)
    for path in (
        workspace / "main.tex",
        workspace / "chapters" / "one.ltx",
        workspace / "style.sty",
        workspace / "class.cls",
        workspace / "notes.txt",
        workspace / "not-utf-8.tex",
        outside / "secret.tex",
        later / "added.tex",
    ):
        path.write_text(text)
    (workspace / "not-utf-8.tex").write_bytes(b"\\alpha \xff\xfe")
    (workspace / "folder.tex").mkdir()
    os.mkfifo(workspace / "pipe.tex")
    (workspace / "link-out.tex").symlink_to(outside / "secret.tex")
    (workspace / "link-in.tex").symlink_to(workspace / "main.tex")
    (workspace / "loop.tex").symlink_to(workspace / "loop.tex")
    # The workspace as the client names it may itself go through a symlink.
    (base / "workspace-link").symlink_to(workspace)
    return {"workspace": workspace, "outside": outside, "later": later, "link": base / "workspace-link"}


@pytest_lsp.fixture(scope="module", config=CONFIG)
async def client(lsp_client: LanguageClient, folders: dict[str, Path]):
    """A client whose workspace is `folders["workspace"]`, named through a symlink."""
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=folders["link"].as_uri())
    )
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(scope="module", config=CONFIG)
async def folderless_client(lsp_client: LanguageClient):
    """A client that declares no workspace folder at all."""
    await lsp_client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


async def hover(client: LanguageClient, uri: str) -> types.Hover | None:
    _, position = cursor(SOURCE)
    return await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )


@pytest.mark.parametrize(
    "name", ["main.tex", "chapters/one.ltx", "style.sty", "class.cls", "link-in.tex", "chapters/../main.tex"]
)
async def test_latex_sources_inside_the_workspace_are_read(
    client: LanguageClient, folders: dict[str, Path], name: str
) -> None:
    result = await hover(client, f"{folders['workspace'].as_uri()}/{name}")
    assert result is not None and "amssymb" in result.contents.value


async def test_a_file_read_from_disk_gets_edits_for_its_preamble(
    client: LanguageClient, folders: dict[str, Path]
) -> None:
    text, position = cursor(SOURCE.replace("\\leq|slant", "|"))
    path = folders["workspace"] / "fresh.tex"
    path.write_text(text)
    result = await recognize(
        client,
        {"strokes": LEQ, "limit": 100, "textDocument": {"uri": path.as_uri()}, "position": at(position)},
    )
    new_lines = {e.new_text for item in result.items for e in item.additional_text_edits or []}
    assert new_lines and "\n\\usepackage{amssymb}" not in new_lines  # the file loads it already
    assert all(item.text_edit.range.start == position for item in result.items)


def refusals(folders: dict[str, Path]) -> list[tuple[str, str]]:
    """URIs the server must not read, and what the answer says."""
    workspace = folders["workspace"].as_uri()
    outside = "only files inside the workspace folders are read"
    return [
        ("file:///etc/passwd", outside),
        ("file:///proc/self/environ", outside),
        (f"{workspace}/../outside/secret.tex", outside),
        (f"{workspace}/chapters/../../outside/secret.tex", outside),
        (f"{workspace}/link-out.tex", outside),
        (folders["outside"].as_uri() + "/secret.tex", outside),
        ("file:main.tex", "relative path"),
        ("file:../outside/secret.tex", "relative path"),
        (f"{workspace}/notes.txt", "only LaTeX sources (.tex, .sty, .cls, .ltx) are read"),
        (f"{workspace}/missing.tex", "cannot be read: No such file or directory"),
        (f"{workspace}/folder.tex", "not a regular file"),
        (f"{workspace}/pipe.tex", "not a regular file"),
        (f"{workspace}/loop.tex", "cannot be read"),
        (f"{workspace}/not-utf-8.tex", "cannot be read"),
        (f"{workspace}/nul%00.tex", "cannot be read"),
        (f"{workspace}/{'a' * 5000}.tex", "cannot be read: File name too long"),
        (f"{workspace}/{'a/' * 3000}x.tex", "cannot be read: File name too long"),
        (f"file:///{'a' * 1_000_000}.tex", outside),
        ("file://[::1/x.tex", "its URI is malformed: Invalid IPv6 URL"),
        ("untitled:Untitled-1", "only file: URIs can be read"),
    ]


async def test_everything_else_is_refused_with_invalid_params(
    client: LanguageClient, folders: dict[str, Path]
) -> None:
    for uri, reason in refusals(folders):
        with pytest.raises(JsonRpcInvalidParams) as error:
            await hover(client, uri)
        assert reason in error.value.message, uri[:100]
        assert len(error.value.message) < 500


async def test_every_request_that_names_a_document_refuses_alike(
    client: LanguageClient, folders: dict[str, Path]
) -> None:
    uri = f"{folders['workspace'].as_uri()}/link-out.tex"
    document = types.TextDocumentIdentifier(uri=uri)
    requests = [
        client.text_document_completion_async(types.CompletionParams(document, types.Position(3, 8))),
        client.text_document_hover_async(types.HoverParams(document, types.Position(3, 8))),
        client.protocol.send_request_async(
            RECOGNIZE_STROKES,
            {"strokes": LEQ, "textDocument": {"uri": uri}, "position": at(types.Position(3, 8))},
        ),
    ]
    for request in requests:
        with pytest.raises(JsonRpcInvalidParams, match="only files inside the workspace folders"):
            await request


async def test_workspace_folders_added_later_are_read(
    client: LanguageClient, folders: dict[str, Path]
) -> None:
    uri = folders["later"].as_uri() + "/added.tex"
    with pytest.raises(JsonRpcInvalidParams, match="inside the workspace folders"):
        await hover(client, uri)
    folder = types.WorkspaceFolder(uri=folders["later"].as_uri(), name="later")
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(types.WorkspaceFoldersChangeEvent(added=[folder], removed=[]))
    )
    assert await hover(client, uri) is not None
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(types.WorkspaceFoldersChangeEvent(added=[], removed=[folder]))
    )
    with pytest.raises(JsonRpcInvalidParams, match="inside the workspace folders"):
        await hover(client, uri)


async def test_without_workspace_folders_only_open_documents_are_read(
    folderless_client: LanguageClient, folders: dict[str, Path]
) -> None:
    with pytest.raises(JsonRpcInvalidParams, match="no workspace folder declared"):
        await hover(folderless_client, folders["workspace"].as_uri() + "/main.tex")
    text, _ = cursor(SOURCE)
    uri = "file:///nowhere/open.tex"
    folderless_client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="latex", version=1, text=text)
        )
    )
    assert await hover(folderless_client, uri) is not None
