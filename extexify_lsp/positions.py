"""LSP positions (a line, and code units of the client's encoding) to str offsets and back, at C speed.

pygls' own conversion splits the whole document into lines and counts code units one character at a time
in Python, for every request: seconds on a 20 MB document. Here lines are found through a count of line
breaks per chunk of the text, made once per document version, and code units are counted by encoding.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

from lsprotocol import types
from pygls.workspace import TextDocument

from extexify_lsp.text_cache import per_text

# Characters per chunk: few enough that finding a line inside one takes no time, and the count of a 20 MB
# document is some thousand entries.
CHUNK = 4096


def line_counts(text: str) -> array[int]:
    """Entry k: the number of line breaks ("\\n") before str offset k * CHUNK; the last: all of them."""
    counts, total = array("q", [0]), 0
    for start in range(0, len(text), CHUNK):
        total += text.count("\n", start, start + CHUNK)
        counts.append(total)
    return counts


def offset_at(document: TextDocument, position: types.Position) -> int:
    """The str offset of `position`; past the end of a line is its end, past the last line the document's."""
    text, counts = document.source, per_text(document, line_counts)
    if position.line > counts[-1]:
        return len(text)
    start = _line_start(text, counts, position.line)
    # A character takes at least one code unit: the line's first `character` characters hold the position.
    stop = min(start + position.character, len(text))
    end = text.find("\n", start, stop)
    end = stop if end < 0 else end
    return end if text.isascii() else start + _code_points(document, text[start:end], position.character)


def position_at(document: TextDocument, offset: int) -> types.Position:
    """The LSP position of a str offset into the document."""
    text, counts = document.source, per_text(document, line_counts)
    chunk = offset // CHUNK
    line = counts[chunk] + text.count("\n", chunk * CHUNK, offset)
    start = _line_start(text, counts, line)
    character = offset - start if text.isascii() else _units(document, text[start:offset])
    return types.Position(line=line, character=character)


def _line_start(text: str, counts: array[int], line: int) -> int:
    """The str offset at which `line` (at most the number of line breaks) starts."""
    if line == 0:
        return 0
    # The chunk holding the line break that ends the line before, then that break itself.
    chunk = bisect_left(counts, line) - 1
    start = chunk * CHUNK
    for _ in range(line - counts[chunk]):
        start = text.find("\n", start) + 1
    return start


def _units(document: TextDocument, text: str) -> int:
    """The number of code units `text` takes in the document's position encoding."""
    encoding = document.position_codec.encoding
    if text.isascii() or encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _code_points(document: TextDocument, line: str, units: int) -> int:
    """How many code points of `line` its first `units` code units hold (a split character is left out)."""
    encoding = document.position_codec.encoding
    if line.isascii() or encoding == types.PositionEncodingKind.Utf32:
        return min(units, len(line))
    if encoding == types.PositionEncodingKind.Utf8:
        return len(line.encode("utf-8", "surrogatepass")[:units].decode("utf-8", "ignore"))
    return len(line.encode("utf-16-le", "surrogatepass")[: 2 * units].decode("utf-16-le", "ignore"))
