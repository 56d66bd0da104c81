"""Completion items for symbols: detail, documentation, and the edits that insert a command where it fits."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from lsprotocol import types
from pylatexenc.latex2text import LatexNodes2Text
from pylatexenc.latexwalker import LatexWalker, get_default_latex_context_db

from extexify_lsp.latex import Preamble, in_math_mode, read_preamble
from extexify_lsp.positions import position_at
from extexify_lsp.symbols import Symbol
from extexify_lsp.text_cache import per_text

if TYPE_CHECKING:
    from pygls.workspace import TextDocument

    from extexify_lsp.recognizer import Candidate

# Ranking factor for candidates that fit the mode at the cursor: enough to reorder near-ties only.
MODE_FIT_BONUS = 1.25
MODE_NAMES = {"math": "math", "text": "text", "both": "math or text"}
CORE_LATEX = "core LaTeX"
# `\text` is amsmath's; a text-only symbol wrapped in it needs the package.
TEXT_IN_MATH_PACKAGE = "amsmath"

_LATEX_TO_TEXT = LatexNodes2Text(math_mode="verbatim")
# Built once: a LatexWalker without it builds its own, which takes twice as long as the parse.
_LATEX_CONTEXT = get_default_latex_context_db()


@lru_cache(maxsize=4096)
def unicode_character(command: str) -> str | None:
    """The Unicode character `command` typesets, per pylatexenc's LaTeX-to-text table; None if none."""
    nodes = LatexWalker(command, latex_context=_LATEX_CONTEXT).get_latex_nodes()[0]
    text = unicodedata.normalize("NFC", _LATEX_TO_TEXT.nodelist_to_text(nodes))
    # A bare ASCII letter or digit is what pylatexenc makes of font switches (\mathds{A} -> "A"): not it.
    if len(text) != 1 or text.isspace() or (text.isascii() and text.isalnum()):
        return None
    return text


def fits_mode(symbol: Symbol, in_math: bool) -> bool:
    return symbol.mode == "both" or (symbol.mode == "math") == in_math


def mode_ranked(candidates: Sequence[Candidate], in_math: bool) -> list[Candidate]:
    """Candidates best first, those that fit the mode at the cursor a little ahead."""
    return sorted(
        candidates, key=lambda c: -c.score * (MODE_FIT_BONUS if fits_mode(c.symbol, in_math) else 1.0)
    )


def symbol_detail(symbol: Symbol) -> str:
    """One line such as `amssymb · math mode`."""
    parts = [symbol.package or CORE_LATEX, f"{MODE_NAMES[symbol.mode]} mode"]
    if symbol.fontenc != "OT1":
        parts.append(f"{symbol.fontenc} font encoding")
    return " · ".join(parts)


def symbol_markdown(symbol: Symbol, glyph: str | None = None) -> str:
    """Markdown describing the symbol: character, package and mode, after its `glyph` image URI if given."""
    description = _describe(symbol, _code)
    return description if glyph is None else f"![]({glyph})\n\n{description}"


def symbol_plaintext(symbol: Symbol) -> str:
    """The same description for clients that do not render Markdown."""
    return _describe(symbol, str)


def symbol_documentation(
    symbol: Symbol, markdown: bool, glyph: str | None = None
) -> types.MarkupContent | str:
    """A completion item's documentation, as Markdown (with the `glyph` image URI, if given) or plain text."""
    if markdown:
        return types.MarkupContent(types.MarkupKind.Markdown, symbol_markdown(symbol, glyph))
    return symbol_plaintext(symbol)


def _describe(symbol: Symbol, code: Callable[[str], str]) -> str:
    char = unicode_character(symbol.command)
    title = code(symbol.command) if char is None else f"{code(symbol.command)} {char}"
    if symbol.package is None:
        package = f"{CORE_LATEX}, no package needed"
    else:
        loading = code(f"\\usepackage{{{symbol.package}}}")
        package = f"{code(symbol.package)} ({loading})"
    lines = [title, "", f"- package: {package}", f"- mode: {MODE_NAMES[symbol.mode]}"]
    if symbol.fontenc != "OT1":
        loading = code(f"\\usepackage[{symbol.fontenc}]{{fontenc}}")
        lines.append(f"- font encoding: {symbol.fontenc} ({loading})")
    if char is not None:
        lines.append(f"- Unicode: U+{ord(char):04X} {unicodedata.name(char, '')}".rstrip())
    return "\n".join(lines)


def _code(text: str) -> str:
    """`text` as inline Markdown code, even when it contains a backtick."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


# The packages an insertion needs that the preamble lacks: (option, name) pairs.
Packages = tuple[tuple[str | None, str], ...]


@dataclass(frozen=True)
class Placement:
    """Where a command goes in a document, and what the document around it already provides."""

    range: types.Range  # replaced by the command; empty for an insertion at the cursor
    in_math: bool
    preamble: Preamble
    preamble_end: types.Position | None  # new \usepackage lines go after this point; None: no preamble
    wrap_for_mode: bool  # wrap math-only symbols in $...$ in text mode, text-only ones in \text{...} in math
    # insertion()'s answers by symbol id: an answer asks for each symbol's up to three times.
    insertions: dict[str, tuple[str, Packages]] = field(default_factory=dict, compare=False, repr=False)


def placement(document: TextDocument, start: int, end: int, *, wrap_for_mode: bool) -> Placement:
    """The placement of a command replacing `document.source[start:end]` (str offsets)."""
    text = document.source
    preamble = per_text(document, read_preamble)
    return Placement(
        range=types.Range(position_at(document, start), position_at(document, end)),
        in_math=in_math_mode(text, start),
        preamble=preamble,
        preamble_end=None
        if preamble.insert_offset is None
        else position_at(document, preamble.insert_offset),
        wrap_for_mode=wrap_for_mode,
    )


def symbol_item(
    symbol: Symbol, *, sort_text: str, markdown: bool, documented: bool = True
) -> types.CompletionItem:
    """The completion item for `symbol`, without edits: its label, detail, documentation and data.

    Without `documented`, the documentation is left for `completionItem/resolve` to fill in.
    """
    return types.CompletionItem(
        label=symbol.command,
        kind=types.CompletionItemKind.Constant,
        detail=symbol_detail(symbol),
        documentation=symbol_documentation(symbol, markdown) if documented else None,
        sort_text=sort_text,
        data={"symbolId": symbol.id, "package": symbol.package, "mode": symbol.mode},
    )


def symbol_edits(symbol: Symbol, where: Placement) -> tuple[types.TextEdit, list[types.TextEdit]]:
    """The edit inserting `symbol` at the placement, and those adding the `\\usepackage` lines it needs."""
    new_text, packages = insertion(symbol, where)
    return types.TextEdit(range=where.range, new_text=new_text), package_edits(packages, where)


def needs_new_package(symbol: Symbol, where: Placement) -> bool:
    """Whether inserting `symbol` there needs a package the preamble does not load."""
    return bool(insertion(symbol, where)[1])


def insertion(symbol: Symbol, where: Placement) -> tuple[str, Packages]:
    """The text to insert and the packages it needs that the preamble lacks."""
    if (known := where.insertions.get(symbol.id)) is None:
        known = where.insertions[symbol.id] = _insertion(symbol, where)
    return known


def _insertion(symbol: Symbol, where: Placement) -> tuple[str, Packages]:
    text = symbol.command
    needed: list[tuple[str | None, str]] = []
    if symbol.package is not None:
        needed.append((None, symbol.package))
    if symbol.fontenc != "OT1":
        needed.append((symbol.fontenc, "fontenc"))
    if where.wrap_for_mode and not fits_mode(symbol, where.in_math):
        if where.in_math:
            text = f"\\text{{{text}}}"
            needed.append((None, TEXT_IN_MATH_PACKAGE))
        else:
            text = f"${text}$"
    missing = [(option, name) for option, name in needed if not where.preamble.loads(name, option)]
    return text, tuple(dict.fromkeys(missing))


def package_edits(packages: Packages, where: Placement) -> list[types.TextEdit]:
    """The edits adding `\\usepackage` lines for `packages` to the placement's preamble."""
    if not packages or where.preamble_end is None:
        return []
    lines = "".join(
        f"\n\\usepackage{{{name}}}" if option is None else f"\n\\usepackage[{option}]{{{name}}}"
        for option, name in packages
    )
    return [types.TextEdit(range=types.Range(where.preamble_end, where.preamble_end), new_text=lines)]


def completion_sort_text(symbol: Symbol, where: Placement) -> str:
    """Sort key for the backslash completion list: symbols that fit the mode, then those already available."""
    available = symbol.package is None or where.preamble.loads(symbol.package)
    tier = (0 if fits_mode(symbol, where.in_math) else 2) + (0 if available else 1)
    return f"{tier}{symbol.command}"
