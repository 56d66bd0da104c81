"""The LaTeX context scanner: math mode at a position and the packages a preamble loads."""

from __future__ import annotations

import pytest

from extexify_lsp.latex import (
    MAX_MODE_SCAN,
    MAX_PREAMBLE,
    command_span,
    command_start,
    in_math_mode,
    read_preamble,
)

CURSOR = "|"


def math_at_cursor(source: str) -> bool:
    """Whether the `|` in `source` is in math mode (the `|` itself is removed first)."""
    offset = source.index(CURSOR)
    return in_math_mode(source[:offset] + source[offset + 1 :], offset)


@pytest.mark.parametrize(
    "source",
    [
        "a $x | y$ b",
        "$|$",  # an editor's auto-closed dollar pair, cursor inside
        "$$ x | $$",
        r"\( x | \)",
        r"\[ x | \]",
        r"\begin{equation} x | \end{equation}",
        r"\begin{equation*} x | \end{equation*}",
        r"\begin{align} x &= | \end{align}",
        r"\begin{align*} x &= | \end{align*}",
        r"\begin{gather} | \end{gather}",
        r"\begin{gather*} | \end{gather*}",
        r"\begin{multline} | \end{multline}",
        r"\begin{multline*} | \end{multline*}",
        r"\begin { equation }  | \end{equation}",
        r"$\text{a $b|$ c}$",  # math inside text inside math
        r"\[ \text{a} | \]",  # back to math after \text{...}
        r"$ \frac{a}{b|} $",
        r"\begin{equation} \begin{cases} x | \end{cases} \end{equation}",
        r"\ensuremath{x |}",
        "$a$ and $b |",  # unclosed math at the end of a document being typed
        "\\$ $x|$",
        "$x % a comment with a $ in it\n y | $",
        r"\[ x \\ y | \]",  # a line break in math is not the end of \[
    ],
)
def test_math_mode(source: str) -> None:
    assert math_at_cursor(source)


@pytest.mark.parametrize(
    "source",
    [
        "plain | text",
        "|",
        "$x$ | $y$",
        "$$ x $$ | ",
        r"\( x \) |",
        r"\[ x \] |",
        r"\begin{equation} x \end{equation} |",
        r"\begin{align*} x \end{align*} |",
        r"$ \text{a | b} $",
        r"\[ \mbox{a | b} \]",
        r"\begin{align} x \text{ if | } \end{align}",
        r"$ \text{a {b} c |} $",  # nested braces inside \text
        r"price \$5 and | more",  # escaped dollar
        r"\$ x \$ |",
        "% $ in a comment\n |",
        r"50\% % then $ comment" + "\n |",
        r"\begin{itemize} \item | \end{itemize}",
        r"\textbf{$x$ and |}",
        r"$a$$b$ |",  # two inline formulas, not display math
        r"\texttt{x} $y$ \textit{|}",
        "an unclosed $x\n  \nnext paragraph |",  # no math mode outlives a paragraph break
    ],
)
def test_text_mode(source: str) -> None:
    assert not math_at_cursor(source)


def test_math_mode_at_every_offset_of_a_mixed_line() -> None:
    source = r"a $b$ \(c\) d"
    # Offsets are insertion points: between "$" and "b" is math, between "b" and "$" too.
    expected = [False, False, False, True, True, False, False, False, True, True, True, False, False]
    assert [in_math_mode(source, i) for i in range(len(source))] == expected


def test_math_mode_opened_after_many_paragraphs() -> None:
    source = "Some $x$ text.\n\n" * 5_000 + "Let $\\alpha + \n\\beta$"
    assert in_math_mode(source, len(source) - 1)
    assert not in_math_mode(source, len(source))


def test_math_mode_is_a_linear_scan_of_a_large_document() -> None:
    # 20,000 formulas; quadratic behaviour or recursion would show up as a timeout.
    source = "text $x^2$ \\begin{align} y \\end{align}\n" * 20_000
    assert not in_math_mode(source, len(source))
    assert in_math_mode(source, len(source) - len("\\end{align}\n") - 1)


PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[utf8]{inputenc}
% \usepackage{commented}
\usepackage[T1]{fontenc}
\usepackage{amsmath, amssymb}
\RequirePackage{ stmaryrd }
\begin{document}
\usepackage{too-late}
\end{document}
"""


def test_preamble_packages_and_options() -> None:
    preamble = read_preamble(PREAMBLE)
    assert set(preamble.packages) == {"inputenc", "fontenc", "amsmath", "amssymb", "stmaryrd"}
    assert preamble.loads("fontenc", "T1")
    assert not preamble.loads("inputenc", "T1")
    assert preamble.loads("amsfonts")  # amssymb loads it
    assert not preamble.loads("commented")
    assert not preamble.loads("too-late")


def test_new_packages_go_after_the_last_usepackage_line() -> None:
    preamble = read_preamble(PREAMBLE)
    assert preamble.insert_offset == PREAMBLE.index("\n\\begin{document}")


def test_new_packages_go_after_documentclass_without_usepackage() -> None:
    source = "\\documentclass{article} % comment\n\n\\begin{document}\n$x$\n\\end{document}\n"
    preamble = read_preamble(source)
    assert preamble.packages == {}
    assert preamble.insert_offset == source.index("\n\n")


def test_new_packages_go_right_after_the_last_usepackage_when_the_line_goes_on() -> None:
    source = r"\documentclass{article}\usepackage{amsmath}\begin{document}$x$\end{document}"
    assert read_preamble(source).insert_offset == source.index(r"\begin{document}")


def test_a_fragment_without_preamble_has_no_insertion_point() -> None:
    assert read_preamble("Some text with $x$ in it.\n").insert_offset is None


def test_a_usepackage_at_the_end_without_newline() -> None:
    source = r"\usepackage{mathtools}"
    preamble = read_preamble(source)
    assert preamble.insert_offset == len(source)
    assert preamble.loads("amsmath")  # mathtools loads amsmath


def test_multi_line_usepackage() -> None:
    source = "\\documentclass{article}\n\\usepackage[\n  T1\n]{fontenc}\n\\begin{document}\n"
    preamble = read_preamble(source)
    assert preamble.loads("fontenc", "T1")
    assert preamble.insert_offset == source.index("\n\\begin{document}")


def test_command_start_finds_the_partial_command_before_the_cursor() -> None:
    assert command_start(r"$x \leq", 7) == 3
    assert command_start("$x \\", 4) == 3
    assert command_start("$x leq", 6) is None
    assert command_start(r"\alpha beta", 11) is None


@pytest.mark.parametrize(
    ("source", "offset", "span"),
    [
        (r"$a \leqslant b$", 4, (3, 12)),
        (r"$a \leqslant b$", 3, (3, 12)),
        (r"$a \leqslant b$", 11, (3, 12)),
        (r"$a \leqslant b$", 12, None),
        (r"$\mathbb{R}^n$", 5, (1, 11)),
        (r"50\% off", 3, (2, 4)),
        ("x\n\\alpha", 0, None),
    ],
)
def test_command_span(source: str, offset: int, span: tuple[int, int] | None) -> None:
    assert command_span(source, offset) == span


def test_thousands_of_unclosed_usepackage_options_do_not_hide_the_real_packages() -> None:
    source = (
        "\\documentclass{article}\n"
        + "\\usepackage[" * 16_000
        + "\n\\usepackage[T1]{fontenc}\n\\usepackage{amssymb}\n\\begin{document}\n"
    )
    preamble = read_preamble(source)
    assert set(preamble.packages) == {"fontenc", "amssymb"}
    assert preamble.loads("fontenc", "T1")
    assert preamble.insert_offset == source.index("\n\\begin{document}")


def test_escaped_percent_and_line_break_before_a_comment_in_the_preamble() -> None:
    source = "\\documentclass{article}\n50\\% \\usepackage{a} \\\\% \\usepackage{b}\n\\begin{document}\n"
    assert set(read_preamble(source).packages) == {"a"}


def test_the_preamble_is_read_up_to_a_bound() -> None:
    filler = "%" + "x" * 99 + "\n"
    source = "\\documentclass{article}\n" + filler * (MAX_PREAMBLE // 100) + "\\usepackage{late}\n"
    assert not read_preamble(source).loads("late")


def test_math_mode_in_a_huge_paragraph_is_found_near_the_cursor() -> None:
    paragraph = "word $x$ and \\alpha, " * 1_000_000  # 20 MB, no paragraph break
    for line_break in ("", "\n"):
        source = paragraph.replace(", ", "," + line_break) + "then $a + "
        assert in_math_mode(source, len(source))
        assert not in_math_mode(source, len(source) - len("$a + "))


def test_math_mode_opened_further_back_than_the_bound_is_not_seen() -> None:
    # The price of a bounded scan: a formula longer than MAX_MODE_SCAN is taken for text.
    for terms, in_math in ((MAX_MODE_SCAN // 8, True), (MAX_MODE_SCAN // 4, False)):
        source = "$" + "x + " * terms + "y"
        assert in_math_mode(source, len(source)) is in_math


def test_a_cursor_on_an_empty_line_stays_in_its_paragraph() -> None:
    # Inserting the symbol makes the line non-blank: the formula opened above it is still open.
    assert math_at_cursor("\\begin{align}\n x\n|\n\\end{align}")
    assert math_at_cursor("$x\n|")
    assert not math_at_cursor("$x\n\n|")


def test_command_span_on_a_huge_line() -> None:
    source = "x " * 5_000_000 + "\\alpha " + "y " * 5_000_000
    start = source.index("\\alpha")
    assert command_span(source, start + 3) == (start, start + len("\\alpha"))
    assert command_span(source, start - 2) is None
