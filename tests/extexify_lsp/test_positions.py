"""LSP positions to str offsets and back, in process, against pygls' own (slow) conversion."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec

from extexify_lsp.positions import CHUNK, offset_at, position_at

ENCODINGS = [
    types.PositionEncodingKind.Utf16,
    types.PositionEncodingKind.Utf8,
    types.PositionEncodingKind.Utf32,
]
# Letters, a line break, a 2-unit UTF-16 character (outside the BMP) and accented ones.
text = st.text(alphabet=st.sampled_from("ab \n$\\é€😋\N{MATHEMATICAL DOUBLE-STRUCK CAPITAL A}"), max_size=40)


def document(source: str, encoding: types.PositionEncodingKind = ENCODINGS[0]) -> TextDocument:
    return TextDocument("file:///t.tex", source, version=1, position_codec=PositionCodec(encoding))


@pytest.mark.parametrize("encoding", ENCODINGS)
@given(source=text, data=st.data())
def test_positions_round_trip_like_pygls(encoding: types.PositionEncodingKind, source: str, data) -> None:
    doc = document(source, encoding)
    offset = data.draw(st.integers(0, len(source)))
    position = position_at(doc, offset)
    assert position == doc.position_codec.position_to_client_units(
        doc.lines, types.Position(source.count("\n", 0, offset), offset - (source.rfind("\n", 0, offset) + 1))
    )
    assert offset_at(doc, position) == offset


def test_a_position_inside_a_two_unit_character_goes_before_it() -> None:
    doc = document("a😋b")
    assert offset_at(doc, types.Position(0, 2)) == 1
    assert offset_at(doc, types.Position(0, 3)) == 2
    assert position_at(doc, 2) == types.Position(0, 3)


def test_positions_past_a_line_or_the_document_end_clamp() -> None:
    doc = document("ab\ncd")
    assert offset_at(doc, types.Position(0, 99)) == 2  # the end of line 0, not into line 1
    assert offset_at(doc, types.Position(1, 2**31 - 1)) == 5
    assert offset_at(doc, types.Position(2**31 - 1, 0)) == 5


def test_the_line_index_follows_changes() -> None:
    doc = document("ab\ncd")
    assert offset_at(doc, types.Position(1, 1)) == 4
    doc.apply_change(
        types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(0, 0), types.Position(0, 0)), text="x\ny\n"
        )
    )
    doc.version = 2
    assert offset_at(doc, types.Position(3, 1)) == 8
    assert position_at(doc, 8) == types.Position(3, 1)


def test_positions_across_chunks_of_the_line_count() -> None:
    # Lines of every length from 0 to 150, many to a chunk and across chunk boundaries, and a long last line.
    lines = ["x" * (i % 151) for i in range(1000)] + ["y" * 3 * CHUNK]
    source = "\n".join(lines)
    doc = document(source)
    start = 0
    for number, line in enumerate(lines):
        assert offset_at(doc, types.Position(number, 0)) == start
        assert offset_at(doc, types.Position(number, len(line) // 2)) == start + len(line) // 2
        assert position_at(doc, start + len(line)) == types.Position(number, len(line))
        start += len(line) + 1
