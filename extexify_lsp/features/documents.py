"""Finding the text of the document a request names: an open one, or a LaTeX file of the workspace."""

from __future__ import annotations

import stat
from pathlib import Path
from urllib.parse import unquote

from pygls.uris import to_fs_path
from pygls.workspace import TextDocument, Workspace

from extexify_lsp.protocol import InvalidParamsError

# Larger than any LaTeX source; a client naming a log file must not exhaust the server's memory.
MAX_FILE_MIB = 8
# A client (a web page talking to `--ws`, say) may name any path: only LaTeX sources are read from disk.
SOURCE_SUFFIXES = (".tex", ".sty", ".cls", ".ltx")


def open_document(workspace: Workspace, uri: str) -> TextDocument:
    """The open document at `uri`; a document the client has not opened is read from its file.

    Only regular LaTeX source files inside the workspace folders the client declared are read;
    raises InvalidParamsError saying why for anything else.
    """
    document = workspace.text_documents.get(unquote(uri))
    if document is not None:
        return document
    file = _workspace_file(workspace, uri)
    try:
        source = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidParamsError(f"textDocument {uri:.200} is not open and cannot be read: {error}") from None
    return TextDocument(uri, source=source, position_codec=workspace.position_codec)


def workspace_roots(workspace: Workspace) -> list[Path]:
    """The folders the client declared (rootUri or rootPath, and workspaceFolders), symlinks resolved."""
    roots = []
    for uri in [workspace.root_uri, *(folder.uri for folder in workspace.folders.values())]:
        try:
            path = to_fs_path(uri) if uri else None
            if path is not None and Path(path).is_absolute():
                roots.append(Path(path).resolve())
        except (OSError, RuntimeError, ValueError):  # a folder URI no file system path can be made of
            continue
    return list(dict.fromkeys(roots))


def _workspace_file(workspace: Workspace, uri: str) -> Path:
    """The file `uri` names, symlinks resolved, if it may be read; else InvalidParamsError saying why not."""
    refused = f"textDocument {uri:.200} is not open"
    try:
        path = to_fs_path(uri)
    except ValueError as error:  # urllib: "Invalid IPv6 URL"
        raise InvalidParamsError(f"{refused}, and its URI is malformed: {error}") from None
    if path is None:
        raise InvalidParamsError(f"{refused}, and only file: URIs can be read from disk")
    if not Path(path).is_absolute():
        raise InvalidParamsError(f"{refused}, and its file: URI has a relative path")
    roots = workspace_roots(workspace)
    if not roots:
        raise InvalidParamsError(
            f"{refused}, and with no workspace folder declared only open documents are read"
        )
    # Whether the file exists is checked last: what is outside the workspace is none of the client's business.
    try:
        file = Path(path).resolve()
    except (OSError, RuntimeError, ValueError) as error:
        raise _unreadable(refused, error) from None
    if not any(file.is_relative_to(root) for root in roots):
        raise InvalidParamsError(f"{refused}, and only files inside the workspace folders are read")
    if file.suffix.lower() not in SOURCE_SUFFIXES:
        suffixes = ", ".join(SOURCE_SUFFIXES)
        raise InvalidParamsError(f"{refused}, and only LaTeX sources ({suffixes}) are read from disk")
    try:
        status = file.stat()
    except (OSError, RuntimeError, ValueError) as error:
        raise _unreadable(refused, error) from None
    # Only regular files: reading a device or a named pipe could block or never end.
    if not stat.S_ISREG(status.st_mode):
        raise InvalidParamsError(f"{refused} and cannot be read: not a regular file")
    if status.st_size > MAX_FILE_MIB * 2**20:
        raise InvalidParamsError(f"{refused} and cannot be read: larger than {MAX_FILE_MIB} MiB")
    return file


def _unreadable(refused: str, error: Exception) -> InvalidParamsError:
    """The error for a path the file system refuses: too long, a symlink loop, a NUL character, missing."""
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return InvalidParamsError(f"{refused} and cannot be read: {reason:.200}")
