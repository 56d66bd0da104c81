"""What a LaTeX source says at a position: math or text mode, which packages the preamble loads."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

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

_PREAMBLE_TOKEN = re.compile(
    r"""
      \\(?P<command>usepackage|RequirePackage|documentclass)(?![A-Za-z@])
          \s*(?:\[(?P<options>[^\]]*)\])?\s*\{(?P<names>[^{}]*)\}
    | (?P<begin_document>\\begin\s*\{document\})
    | \\[A-Za-z@]+
    | \\.
    | %[^\n]*
    """,
    re.VERBOSE | re.DOTALL,
)

_COMMAND_BEFORE = re.compile(r"\\[A-Za-z@]*\Z")
_CONTROL_SEQUENCE = re.compile(r"\\(?:[A-Za-z@]+(?:\{[^{}\s]\})?|[^A-Za-z@\s])")


@dataclass
class _Frame:
    """An open mode switch: what ends it, and the brace depth inside it."""

    math: bool
    closer: str  # "$", "$$", "\\)", "\\]", "}" or "end:<environment>"
    depth: int


# Requests outnumber document changes: cache by text (cheap, a str caches its hash) and offset.
@lru_cache(maxsize=64)
def in_math_mode(text: str, offset: int) -> bool:
    """Whether a symbol inserted at `offset` (a str index) is typeset in math mode.

    One pass over the paragraph up to `offset`, since no math mode outlives a paragraph break (TeX stops
    with an error there); `%` comments and escaped characters (`\\$`) are skipped.
    """
    stack: list[_Frame] = []
    depth = 0
    for token in _MODE_TOKEN.finditer(text, _paragraph_start(text, offset), offset):
        if token.group("dollars"):
            _dollars(stack, token.group("dollars"), depth)
        elif token.group("escape") in ("(", "["):
            closer = "\\)" if token.group("escape") == "(" else "\\]"
            stack.append(_Frame(math=True, closer=closer, depth=depth))
        elif token.group("escape") in (")", "]"):
            _close(stack, "\\" + token.group("escape"))
        elif token.group("env") and token.group("name").strip() in MATH_ENVIRONMENTS:
            closer = "end:" + token.group("name").strip()
            if token.group("env") == "begin":
                stack.append(_Frame(math=True, closer=closer, depth=depth))
            else:
                _close(stack, closer)
        elif token.group("group"):
            depth += 1
            stack.append(_Frame(math=token.group("group") == "ensuremath", closer="}", depth=depth))
        elif token.group("brace") == "{":
            depth += 1
        elif token.group("brace") == "}":
            depth = max(0, depth - 1)
            # A closing brace ends every switch opened inside its group.
            while stack and stack[-1].depth > depth:
                stack.pop()
    return bool(stack) and stack[-1].math


def _paragraph_start(text: str, offset: int) -> int:
    """Where the paragraph holding `offset` starts: after the last blank line before it, else 0."""
    end = text.rfind("\n", 0, offset)
    while end > 0:
        start = text.rfind("\n", 0, end)
        if not text[start + 1 : end].strip():
            return end
        end = start
    return 0


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


@lru_cache(maxsize=16)
def read_preamble(text: str) -> Preamble:
    """Read `\\usepackage[opts]{a,b}` lines up to `\\begin{document}`, skipping comments."""
    packages: dict[str, frozenset[str]] = {}
    anchor_end: int | None = None
    anchor_is_usepackage = False
    for token in _PREAMBLE_TOKEN.finditer(text):
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
    match = _COMMAND_BEFORE.search(text, max(0, offset - 100), offset)
    return match.start() if match else None


def command_span(text: str, offset: int) -> tuple[int, int] | None:
    """The span of the control sequence (with a one-character braced argument, `\\mathbb{R}`) at `offset`."""
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    for match in _CONTROL_SEQUENCE.finditer(text, line_start, len(text) if line_end < 0 else line_end):
        if match.start() <= offset < match.end():
            return match.start(), match.end()
    return None
