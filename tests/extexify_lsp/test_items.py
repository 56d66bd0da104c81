"""Where a symbol goes and the edits that put it there, in process: a pygls TextDocument, no server."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec

from extexify_lsp.items import Placement, placement, symbol_edits
from extexify_lsp.symbols import Symbol

LEQSLANT = Symbol("latex:amssymb:leqslant", "\\leqslant", "amssymb", "OT1", "math")
ALPHA = Symbol("latex:latex2e:alpha", "\\alpha", None, "OT1", "math")
GUILLEMOT = Symbol("latex:latex2e:guillemotleft", "\\guillemotleft", None, "T1", "text")
TEXTBULLET = Symbol("latex:textcomp:textbullet", "\\textbullet", "textcomp", "OT1", "text")
SMILEY = Symbol("latex:wasysym:smiley", "\\smiley", "wasysym", "OT1", "both")


def document(text: str, encoding: str = types.PositionEncodingKind.Utf16) -> TextDocument:
    return TextDocument("file:///t.tex", text, version=1, position_codec=PositionCodec(encoding))


def place(marked: str, *, wrap_for_mode: bool = True) -> tuple[TextDocument, Placement]:
    """The placement at the `|` of `marked`, or replacing the text between two `|`."""
    start = marked.index("|")
    end = marked.index("|", start + 1) - 1 if marked.count("|") == 2 else start
    doc = document(marked.replace("|", ""))
    return doc, placement(doc, start, end, wrap_for_mode=wrap_for_mode)


def edited(doc: TextDocument, edits: list[types.TextEdit]) -> str:
    """The document's text with `edits` applied (non-overlapping, as LSP requires)."""
    text = doc.source
    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = (
            text[: doc.offset_at_position(edit.range.start)]
            + edit.new_text
            + text[doc.offset_at_position(edit.range.end) :]
        )
    return text


def insert(marked: str, symbol: Symbol, *, wrap_for_mode: bool = True) -> str:
    doc, where = place(marked, wrap_for_mode=wrap_for_mode)
    edit, more = symbol_edits(symbol, where)
    return edited(doc, [edit, *more])


ARTICLE = "\\documentclass{article}\n"


@pytest.mark.parametrize(
    ("marked", "symbol", "expected"),
    [
        # Math mode: the command as it is; its package after \documentclass.
        (ARTICLE + "$x |$", LEQSLANT, ARTICLE[:-1] + "\n\\usepackage{amssymb}\n$x \\leqslant$"),
        (ARTICLE + "$x |$", ALPHA, ARTICLE + "$x \\alpha$"),
        # Text mode: a math symbol is wrapped in $...$; a text one in math goes in \text{...} with amsmath.
        (ARTICLE + "Let |", ALPHA, ARTICLE + "Let $\\alpha$"),
        (
            ARTICLE + "$x |$",
            TEXTBULLET,
            ARTICLE[:-1] + "\n\\usepackage{textcomp}\n\\usepackage{amsmath}\n$x \\text{\\textbullet}$",
        ),
        # T1 symbols load the font encoding; a symbol for both modes is never wrapped.
        (ARTICLE + "Text |", GUILLEMOT, ARTICLE[:-1] + "\n\\usepackage[T1]{fontenc}\nText \\guillemotleft"),
        (ARTICLE + "Text |", SMILEY, ARTICLE[:-1] + "\n\\usepackage{wasysym}\nText \\smiley"),
        # Packages already loaded (directly or through another) are not added again.
        (ARTICLE + "\\usepackage{amssymb}\n$|$", LEQSLANT, ARTICLE + "\\usepackage{amssymb}\n$\\leqslant$"),
        (
            ARTICLE + "\\usepackage{mathtools,textcomp}\n$|$",
            TEXTBULLET,
            ARTICLE + "\\usepackage{mathtools,textcomp}\n$\\text{\\textbullet}$",
        ),
        # New lines go after the last \usepackage line, even one with a comment after it.
        (
            ARTICLE + "\\usepackage{a} % note\n\\usepackage{b}\n\\begin{document}\n$|$",
            LEQSLANT,
            ARTICLE
            + "\\usepackage{a} % note\n\\usepackage{b}\n\\usepackage{amssymb}\n"
            + "\\begin{document}\n$\\leqslant$",
        ),
        # A fragment without a preamble gets the command alone.
        ("Just $x |$", LEQSLANT, "Just $x \\leqslant$"),
    ],
)
def test_insertion_edits(marked: str, symbol: Symbol, expected: str) -> None:
    assert insert(marked, symbol) == expected


def test_without_wrapping_the_typed_command_is_replaced_as_it_is() -> None:
    # Completion after `\le` in text: the user chose where the command goes.
    assert insert(ARTICLE + "Text |\\le|", LEQSLANT, wrap_for_mode=False) == (
        ARTICLE[:-1] + "\n\\usepackage{amssymb}\nText \\leqslant"
    )


def test_placement_positions_are_in_utf16_code_units() -> None:
    # The emoji before the cursor takes two UTF-16 code units, the é one.
    where = place(ARTICLE + "\\usepackage{amssymb}\nCafé 😋 $x |$")[1]
    assert where.range == types.Range(types.Position(2, 11), types.Position(2, 11))
    assert where.in_math
    assert where.preamble_end == types.Position(1, 20)


def test_placement_in_utf8_and_utf32_clients() -> None:
    text = "é😋|"
    for encoding, character in ((types.PositionEncodingKind.Utf8, 6), (types.PositionEncodingKind.Utf32, 2)):
        doc = document(text.replace("|", ""), encoding)
        where = placement(doc, 2, 2, wrap_for_mode=True)
        assert where.range.start == types.Position(0, character)


@pytest.mark.parametrize(
    ("marked", "in_math"),
    [
        ("$x |$", True),
        ("\\begin{align}\n  a &= |\n\\end{align}", True),
        ("$x$ |", False),
        ("\\[ \\text{if |} \\]", False),
    ],
)
def test_placement_knows_the_mode(marked: str, in_math: bool) -> None:
    assert place(marked)[1].in_math is in_math
