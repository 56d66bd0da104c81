"""What a LaTeX source says at a position: math or text mode, which packages the preamble loads."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

MATH_ENVIRONMENTS = frozenset(
    name + star
    for name in (
        "equation",
        "align",
        "alignat",
        "flalign",
        "gather",
        "multline",
        "eqnarray",
        "displaymath",
        "math",
        "dmath",
    )
    for star in ("", "*")
)
# Commands whose braced argument is typeset in text mode, even inside math.
TEXT_COMMANDS = (
    "text",
    "mbox",
    "hbox",
    "fbox",
    "textrm",
    "textnormal",
    "textup",
    "textit",
    "textbf",
    "textsf",
    "texttt",
    "textsl",
    "textsc",
    "textmd",
    "intertext",
    "shortintertext",
    "tag",
)
# Packages that load others: a symbol from amsmath is available once mathtools is loaded.
IMPLIED_PACKAGES: Mapping[str, tuple[str, ...]] = {
    "mathtools": ("amsmath",),
    "amssymb": ("amsfonts",),
}

_MODE_TOKEN = re.compile(
    r"""
      (?P<comment>%[^\n]*)
    | \\(?P<env>begin|end)\s*\{(?P<name>[^{}]*)\}
    | \\(?P<group>(?:"""
    + "|".join(TEXT_COMMANDS)
    + r"""|ensuremath))(?![A-Za-z@])\s*\{
    | \\[A-Za-z@]+
    | \\(?P<escape>.)
    | (?P<dollars>\$\$?)
    | (?P<brace>[{}])
    """,
    re.VERBOSE | re.DOTALL,
)

# Only what the preamble reader needs is a token, all starting with `\` or `%`, for the regex engine to skip
# the rest by itself; possessive quantifiers do not retry a failed token shorter. Options and names stop at
# the next bracket or brace: an unclosed `\usepackage[` is tried up to the next `[` only, and thousands of
# them are read in linear time (`[^\]]*` made it quadratic).
_PREAMBLE_TOKEN = re.compile(
    r"""
      \\(?:
          (?P<command>usepackage|RequirePackage|documentclass)(?![A-Za-z@])
              \s*+(?:\[(?P<options>[^\[\]]*+)\])?\s*+\{(?P<names>[^{}]*+)\}
        | (?P<begin_document>begin\s*+\{document\})
        | [\\%]  # `\%` starts no comment; in `\\%` the comment starts after the line break `\\`
      )
    | %[^\n]*+
    """,
    re.VERBOSE,
)
# `\(` is closed by `\)`, `\[` by `\]`.
_MATH_CLOSERS = {"(": "\\)", "[": "\\]"}
# A blank line: it ends a paragraph.
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")

# How far before the cursor math mode is looked for, and how much of a document can be its preamble. A
# formula or a preamble longer than this is not LaTeX anyone writes by hand; without these bounds, a
# request on a 20 MB paragraph would scan all of it, every time.
MAX_MODE_SCAN = 20_000
MAX_PREAMBLE = 200_000
# Longer than any control word: how far from the cursor one is looked for.
MAX_COMMAND = 100

_COMMAND_BEFORE = re.compile(r"\\[A-Za-z@]*\Z")
_CONTROL_SEQUENCE = re.compile(r"\\(?:[A-Za-z@]+(?:\{[^{}\s]\})?|[^A-Za-z@\s])")


@dataclass
class _Frame:
    """An open mode switch: what ends it, and the brace depth inside it."""

    math: bool
    closer: str  # "$", "$$", "\\)", "\\]", "}" or "end:<environment>"
    depth: int


def in_math_mode(text: str, offset: int) -> bool:
    """Whether a symbol inserted at `offset` (a str index) is typeset in math mode.

    One pass over the paragraph up to `offset`, since no math mode outlives a paragraph break (TeX stops
    with an error there), and over at most MAX_MODE_SCAN characters of it; `%` comments and escaped
    characters (`\\$`) are skipped.
    """
    stack: list[_Frame] = []
    depth = 0
    for token in _MODE_TOKEN.finditer(text, _paragraph_start(text, offset), offset):
        kind = token.lastgroup  # None for a control word that switches nothing
        if kind == "dollars":
            _dollars(stack, token["dollars"], depth)
        elif kind == "escape":
            escaped = token["escape"]
            if escaped in _MATH_CLOSERS:
                stack.append(_Frame(math=True, closer=_MATH_CLOSERS[escaped], depth=depth))
            elif escaped in ")]":
                _close(stack, "\\" + escaped)
        elif kind == "name" and token["name"].strip() in MATH_ENVIRONMENTS:
            closer = "end:" + token["name"].strip()
            if token["env"] == "begin":
                stack.append(_Frame(math=True, closer=closer, depth=depth))
            else:
                _close(stack, closer)
        elif kind == "group":
            depth += 1
            stack.append(_Frame(math=token["group"] == "ensuremath", closer="}", depth=depth))
        elif kind == "brace":
            if token["brace"] == "{":
                depth += 1
                continue
            depth = max(0, depth - 1)
            # A closing brace ends every switch opened inside its group.
            while stack and stack[-1].depth > depth:
                stack.pop()
    return bool(stack) and stack[-1].math


def _paragraph_start(text: str, offset: int) -> int:
    """Where the paragraph holding `offset` starts (after the last blank line before it, else at 0), or the
    start of the line MAX_MODE_SCAN characters back if that is later."""
    window = max(0, offset - MAX_MODE_SCAN)
    if window > 0:  # from the first line start in the window; inside a line as long as the window, anywhere
        newline = text.find("\n", window - 1, offset)
        window = window if newline < 0 else newline + 1
    # Not the cursor's own line: once the symbol is inserted there, that line is no longer blank.
    start = window
    for blank in _BLANK_LINE.finditer(text, max(0, window - 1), offset):
        start = blank.end() - 1
    return start


def _dollars(stack: list[_Frame], dollars: str, depth: int) -> None:
    if stack and stack[-1].closer == "$":
        # Inside $...$ a `$$` is a closing `$` followed by an opening one.
        stack.pop()
        if dollars == "$$":
            stack.append(_Frame(math=True, closer="$", depth=depth))
    elif stack and stack[-1].closer == dollars:
        stack.pop()
    else:
        stack.append(_Frame(math=True, closer=dollars, depth=depth))


def _close(stack: list[_Frame], closer: str) -> None:
    """Pop back to the frame `closer` ends; a stray closer (no such frame) changes nothing."""
    for i in range(len(stack) - 1, -1, -1):
        if stack[i].closer == closer:
            del stack[i:]
            return


@dataclass(frozen=True)
class Preamble:
    """The packages a document loads and where new `\\usepackage` lines go."""

    packages: Mapping[str, frozenset[str]] = field(default_factory=dict)  # name -> options
    # str index where "\n\usepackage{...}" goes: after the last \usepackage (or \documentclass) line;
    # None: neither was seen (a fragment of a larger document).
    insert_offset: int | None = None

    def loads(self, package: str, option: str | None = None) -> bool:
        """Whether `package` is loaded (directly or by a package that loads it), with `option` if given."""
        if package in self.packages:
            return option is None or option in self.packages[package]
        return option is None and any(package in IMPLIED_PACKAGES.get(loaded, ()) for loaded in self.packages)


def read_preamble(text: str) -> Preamble:
    """Read `\\usepackage[opts]{a,b}` lines up to `\\begin{document}` (or MAX_PREAMBLE), skipping comments."""
    packages: dict[str, frozenset[str]] = {}
    anchor_end: int | None = None
    anchor_is_usepackage = False
    for token in _PREAMBLE_TOKEN.finditer(text, 0, MAX_PREAMBLE):
        if token.lastgroup == "begin_document":
            break
        command = token.group("command")
        if command is None:
            continue
        if command == "documentclass":
            if not anchor_is_usepackage:
                anchor_end = token.end()
            continue
        options = frozenset(o.strip() for o in (token.group("options") or "").split(",") if o.strip())
        for name in token.group("names").split(","):
            if name.strip():
                packages[name.strip()] = packages.get(name.strip(), frozenset()) | options
        anchor_end, anchor_is_usepackage = token.end(), True
    if anchor_end is None:
        return Preamble(packages=packages)
    line_end = text.find("\n", anchor_end)
    line_end = len(text) if line_end < 0 else line_end
    rest = text[anchor_end:line_end].strip()
    # After the whole line, unless more than a comment follows on it (`...{article}\begin{document}`).
    return Preamble(packages=packages, insert_offset=line_end if not rest or rest[0] == "%" else anchor_end)


def command_start(text: str, offset: int) -> int | None:
    """Offset of the backslash of the partial control word that ends at `offset`, if there is one."""
    match = _COMMAND_BEFORE.search(text, max(0, offset - MAX_COMMAND), offset)
    return match.start() if match else None


def command_span(text: str, offset: int) -> tuple[int, int] | None:
    """The span of the control sequence (with a one-character braced argument, `\\mathbb{R}`) at `offset`."""
    # Within the cursor's line, and no further from the cursor than a control sequence can reach.
    window = max(0, offset - MAX_COMMAND)
    start = text.rfind("\n", window, offset) + 1 or window
    end = text.find("\n", offset, offset + MAX_COMMAND)
    for match in _CONTROL_SEQUENCE.finditer(text, start, offset + MAX_COMMAND if end < 0 else end):
        if match.start() <= offset < match.end():
            return match.start(), match.end()
    return None
