"""Finding the text of the document a request names."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from pygls.uris import to_fs_path
from pygls.workspace import TextDocument, Workspace

from extexify_lsp.protocol import InvalidParamsError

# Larger than any LaTeX source; a client naming /dev/zero or a log file must not exhaust the server's memory.
MAX_FILE_MIB = 8


def open_document(workspace: Workspace, uri: str) -> TextDocument:
    """The open document at `uri`; a document the client has not opened is read from its file: URI.

    Raises InvalidParamsError when the document is neither open nor a readable UTF-8 file.
    """
    document = workspace.text_documents.get(unquote(uri))
    if document is not None:
        return document
    path = to_fs_path(uri)
    if path is None:
        raise InvalidParamsError(f"textDocument {uri} is not open, and only file: URIs can be read from disk")
    file = Path(path)
    # Only regular files: reading a device or a named pipe could block or never end.
    if not file.is_file():
        raise InvalidParamsError(f"textDocument {uri} is not open and cannot be read: no such regular file")
    try:
        if file.stat().st_size > MAX_FILE_MIB * 2**20:
            raise InvalidParamsError(
                f"textDocument {uri} is not open and cannot be read: larger than {MAX_FILE_MIB} MiB"
            )
        source = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidParamsError(f"textDocument {uri} is not open and cannot be read: {error}") from None
    return TextDocument(uri, source=source, position_codec=workspace.position_codec)
