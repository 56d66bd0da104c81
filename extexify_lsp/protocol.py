"""What extexify adds to LSP: the server's name, its own methods, their params and the params' validation."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
from lsprotocol import types

from extexify_lsp.strokes import Drawing, InvalidStrokesError, parse_strokes
from extexify_lsp.symbols import CORE_PACKAGE, MODES, Mode

SERVER_NAME = "extexify-lsp"
try:
    SERVER_VERSION = version("extexify")
except PackageNotFoundError:  # running from a source tree that was never installed
    SERVER_VERSION = "0+unknown"

RECOGNIZE_STROKES = "extexify/recognizeStrokes"
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_UINTEGER = 2**31 - 1  # LSP's uinteger: the largest line or character a position can hold
GLYPHS = "extexify/glyphs"
MAX_GLYPHS = 200  # symbol ids per request
TEACH = "extexify/teach"
FORGET = "extexify/forget"
TAUGHT = "extexify/taught"
RECORD_CHOICE = "extexify.recordChoice"  # a workspace command, run through workspace/executeCommand
STORE_OPTION = "store"  # initializationOptions key: the sample store, as `--store` takes it
# A control word (`\mycirc`) or a control symbol (`\{`): what a taught command may be.
COMMAND_PATTERN = re.compile(r"\\(?:[A-Za-z]+|[^A-Za-z\s])")
PACKAGE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
MAX_NAME = 64  # characters of a taught command or package name


class InvalidParamsError(ValueError):
    """Request params are malformed; the message says what is wrong and is meant for the client."""


class RequestFailedError(Exception):
    """A valid request that cannot be done (personalization is off, the store failed); says why."""


@dataclass(frozen=True)
class RecognizeStrokesParams:
    """Params of `extexify/recognizeStrokes`, validated."""

    drawing: Drawing  # parse_strokes() output: (n, 3) arrays of x, y, t
    limit: int = DEFAULT_LIMIT
    uri: str | None = None  # with `position`: the document and cursor the symbol goes to
    position: types.Position | None = None
    groups: bool = True  # one item per draw-alike group; False: one per symbol
    strokes: list[Any] = field(default_factory=list)  # as received: kept to record the user's choice


def strokes_param(
    drawing: Sequence[np.ndarray], scale: float = 300.0, interval_ms: float = 16.0
) -> list[list[list[float]]]:
    """The `strokes` param for a drawing in the unit square, as a canvas client sends it.

    Points become [x, y, t] in pixels of a `scale`-pixel canvas, `interval_ms` apart (16 ms: a 60 Hz pointer).
    For Python clients: tests and benchmarks.
    """
    strokes, t = [], 0.0
    for stroke in drawing:
        points = []
        for x, y in stroke[:, :2].tolist():
            points.append([x * scale, y * scale, t])
            t += interval_ms
        strokes.append(points)
    return strokes


def parse_recognize_strokes_params(raw: object) -> RecognizeStrokesParams:
    """Validate raw JSON params; raise InvalidParamsError saying what is wrong."""
    if not isinstance(raw, Mapping):
        raise InvalidParamsError("params must be an object with 'strokes'")
    if "strokes" not in raw:
        raise InvalidParamsError("params lack 'strokes'")
    try:
        drawing = parse_strokes(raw["strokes"])
    except InvalidStrokesError as error:
        raise InvalidParamsError(f"strokes: {error}") from None
    limit = raw.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidParamsError(f"limit must be an integer from 1 to {MAX_LIMIT}, got {limit!r}")
    groups = raw.get("groups", True)
    if not isinstance(groups, bool):
        raise InvalidParamsError(f"groups must be true or false, got {groups!r}")
    document, position = raw.get("textDocument"), raw.get("position")
    if document is None and position is None:
        return RecognizeStrokesParams(drawing, limit, groups=groups, strokes=list(raw["strokes"]))
    if document is None or position is None:
        raise InvalidParamsError("'textDocument' and 'position' go together: give both or neither")
    return RecognizeStrokesParams(
        drawing, limit, _uri(document), _position(position), groups, list(raw["strokes"])
    )


def parse_glyphs_params(raw: object) -> list[str]:
    """The symbol ids of `extexify/glyphs` params; raise InvalidParamsError saying what is wrong."""
    ids = raw.get("symbolIds") if isinstance(raw, Mapping) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InvalidParamsError("params must be an object with 'symbolIds', a list of symbol id strings")
    if not 1 <= len(ids) <= MAX_GLYPHS:
        raise InvalidParamsError(f"symbolIds must list 1 to {MAX_GLYPHS} ids, got {len(ids)}")
    return ids


@dataclass(frozen=True)
class NewSymbol:
    """A symbol to teach that the model does not know, as `extexify/teach` params give it."""

    command: str
    package: str | None
    mode: Mode


@dataclass(frozen=True)
class TeachParams:
    """Params of `extexify/teach`, validated: strokes and either a known symbol id or a new symbol."""

    strokes: list[Any]  # as received: what the store keeps
    drawing: Drawing
    symbol_id: str | None
    symbol: NewSymbol | None


def parse_teach_params(raw: object) -> TeachParams:
    """Validate raw JSON params; raise InvalidParamsError saying what is wrong."""
    if not isinstance(raw, Mapping) or "strokes" not in raw:
        raise InvalidParamsError("params must be an object with 'strokes' and 'symbolId' or 'symbol'")
    try:
        drawing = parse_strokes(raw["strokes"])
    except InvalidStrokesError as error:
        raise InvalidParamsError(f"strokes: {error}") from None
    if ("symbolId" in raw) == ("symbol" in raw):
        raise InvalidParamsError("give either 'symbolId' (a known symbol) or 'symbol' (a new one), not both")
    if "symbolId" in raw:
        return TeachParams(list(raw["strokes"]), drawing, _symbol_id(raw["symbolId"]), None)
    return TeachParams(list(raw["strokes"]), drawing, None, _new_symbol(raw["symbol"]))


def _new_symbol(raw: object) -> NewSymbol:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("command"), str):
        raise InvalidParamsError("symbol must be an object with a 'command' string, such as \\mycirc")
    command = raw["command"]
    if len(command) > MAX_NAME or not COMMAND_PATTERN.fullmatch(command):
        raise InvalidParamsError(
            f"symbol.command must be a LaTeX control sequence: a backslash and letters (\\mycirc) or "
            f"one other character (\\{{), got {command!r:.80}"
        )
    package = raw.get("package")
    if package is not None and (
        not isinstance(package, str) or len(package) > MAX_NAME or not PACKAGE_PATTERN.fullmatch(package)
    ):
        raise InvalidParamsError(
            f"symbol.package must be a package name such as dsfont (letters, digits, - and _), "
            f"or absent, got {package!r:.80}"
        )
    mode = raw.get("mode", "math")
    if mode not in MODES:
        raise InvalidParamsError(f"symbol.mode must be one of {', '.join(MODES)}, got {mode!r:.80}")
    # Detexify's name for core LaTeX means no package, as in the symbol table.
    return NewSymbol(command, None if package in (None, CORE_PACKAGE) else package, mode)


def _symbol_id(raw: object) -> str:
    if not isinstance(raw, str) or not raw:
        raise InvalidParamsError(f"symbolId must be a symbol id string, got {raw!r:.80}")
    return raw


def parse_forget_params(raw: object) -> int | str:
    """The sample id (int) or symbol id (str) that `extexify/forget` params name."""
    if not isinstance(raw, Mapping) or ("sampleId" in raw) == ("symbolId" in raw):
        raise InvalidParamsError("params must be an object with either 'sampleId' or 'symbolId'")
    if "symbolId" in raw:
        return _symbol_id(raw["symbolId"])
    sample_id = raw["sampleId"]
    if isinstance(sample_id, bool) or not isinstance(sample_id, int) or not 1 <= sample_id <= 2**63 - 1:
        raise InvalidParamsError(f"sampleId must be a positive integer, got {sample_id!r:.80}")
    return sample_id


@dataclass(frozen=True)
class Choice:
    """The argument of `extexify.recordChoice`: which symbol the user chose for which drawing."""

    drawing_id: str
    symbol_id: str


def record_choice_arguments(drawing_id: str, symbol_id: str) -> list[dict[str, str]]:
    """The `arguments` of the command that records choosing `symbol_id` for the drawing."""
    return [{"drawingId": drawing_id, "symbolId": symbol_id}]


def parse_record_choice_arguments(arguments: Sequence[object]) -> Choice:
    """Validate `extexify.recordChoice` arguments: one `{drawingId, symbolId}` object."""
    if len(arguments) != 1 or not isinstance(arguments[0], Mapping):
        raise InvalidParamsError(f"{RECORD_CHOICE} takes one argument, {{drawingId, symbolId}}")
    drawing_id = arguments[0].get("drawingId")
    if not isinstance(drawing_id, str) or not drawing_id:
        raise InvalidParamsError(
            f"drawingId must be a string from a recognizeStrokes item, got {drawing_id!r:.80}"
        )
    return Choice(drawing_id, _symbol_id(arguments[0].get("symbolId")))


def _uri(raw: object) -> str:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("uri"), str) or not raw["uri"]:
        raise InvalidParamsError("textDocument must be an object with a 'uri' string")
    return raw["uri"]


def _position(raw: object) -> types.Position:
    if not isinstance(raw, Mapping):
        raise InvalidParamsError("position must be an object with 'line' and 'character'")
    values = []
    for name in ("line", "character"):
        value = raw.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_UINTEGER:
            raise InvalidParamsError(
                f"position.{name} must be an integer from 0 to {MAX_UINTEGER}, got {value!r:.40}"
            )
        values.append(value)
    return types.Position(line=values[0], character=values[1])
