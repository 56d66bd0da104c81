"""What extexify adds to LSP: the server's name, its own methods, their params and the params' validation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import numpy as np
from lsprotocol import types

from extexify_lsp.strokes import Drawing, InvalidStrokesError, parse_strokes

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


class InvalidParamsError(ValueError):
    """Request params are malformed; the message says what is wrong and is meant for the client."""


@dataclass(frozen=True)
class RecognizeStrokesParams:
    """Params of `extexify/recognizeStrokes`, validated."""

    drawing: Drawing  # parse_strokes() output: (n, 3) arrays of x, y, t
    limit: int = DEFAULT_LIMIT
    uri: str | None = None  # with `position`: the document and cursor the symbol goes to
    position: types.Position | None = None
    groups: bool = True  # one item per draw-alike group; False: one per symbol


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
        return RecognizeStrokesParams(drawing, limit, groups=groups)
    if document is None or position is None:
        raise InvalidParamsError("'textDocument' and 'position' go together: give both or neither")
    return RecognizeStrokesParams(drawing, limit, _uri(document), _position(position), groups)


def parse_glyphs_params(raw: object) -> list[str]:
    """The symbol ids of `extexify/glyphs` params; raise InvalidParamsError saying what is wrong."""
    ids = raw.get("symbolIds") if isinstance(raw, Mapping) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InvalidParamsError("params must be an object with 'symbolIds', a list of symbol id strings")
    if not 1 <= len(ids) <= MAX_GLYPHS:
        raise InvalidParamsError(f"symbolIds must list 1 to {MAX_GLYPHS} ids, got {len(ids)}")
    return ids


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
