"""The symbol table: Detexify's LaTeX symbols with their package, font encoding and mode."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Literal, cast

Mode = Literal["math", "text", "both"]
MODES: tuple[str, ...] = ("math", "text", "both")
# Detexify's name for "no package": the symbol is part of LaTeX itself.
CORE_PACKAGE = "latex2e"


class SymbolTableError(ValueError):
    """A symbol table file or entry is malformed."""


@dataclass(frozen=True)
class Symbol:
    id: str  # Detexify canonical id, e.g. "latex:amssymb:leqslant"
    command: str  # e.g. "\\leqslant"
    package: str | None  # None: core LaTeX, no \usepackage needed
    fontenc: str
    mode: Mode

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> Symbol:
        try:
            symbol_id, command, fontenc, mode = (str(raw[k]) for k in ("id", "command", "fontenc", "mode"))
        except KeyError as missing:
            raise SymbolTableError(f"symbol entry {raw!r} lacks {missing}") from None
        if mode not in MODES:
            raise SymbolTableError(f"symbol {symbol_id}: mode {mode!r} is not one of {MODES}")
        package = raw.get("package")
        return cls(
            id=symbol_id,
            command=command,
            package=None if package in (None, "", CORE_PACKAGE) else str(package),
            fontenc=fontenc,
            mode=cast(Mode, mode),
        )

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


class SymbolTable:
    """An ordered, id-indexed collection of symbols; the order is the model's label order."""

    def __init__(self, symbols: Iterable[Symbol]) -> None:
        self.symbols: tuple[Symbol, ...] = tuple(symbols)
        self._index = {s.id: i for i, s in enumerate(self.symbols)}
        if len(self._index) != len(self.symbols):
            raise SymbolTableError("symbol ids are not unique")
        self._by_command: dict[str, list[Symbol]] = {}
        for symbol in self.symbols:
            self._by_command.setdefault(symbol.command, []).append(symbol)

    def __len__(self) -> int:
        return len(self.symbols)

    def __iter__(self) -> Iterator[Symbol]:
        return iter(self.symbols)

    def __getitem__(self, index: int) -> Symbol:
        return self.symbols[index]

    def __contains__(self, symbol_id: object) -> bool:
        return symbol_id in self._index

    def index(self, symbol_id: str) -> int:
        try:
            return self._index[symbol_id]
        except KeyError:
            raise SymbolTableError(f"unknown symbol id {symbol_id!r}") from None

    def get(self, symbol_id: str) -> Symbol:
        return self.symbols[self.index(symbol_id)]

    def by_command(self, command: str) -> list[Symbol]:
        """All symbols typeset by `command` (the same command can exist in several packages)."""
        return self._by_command.get(command, [])

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.symbols]

    def to_list(self) -> list[dict[str, str | None]]:
        return [s.to_dict() for s in self.symbols]

    @classmethod
    def from_list(cls, entries: Iterable[Mapping[str, object]]) -> SymbolTable:
        return cls(Symbol.from_dict(e) for e in entries)

    @classmethod
    def from_json(cls, text: str | bytes) -> SymbolTable:
        """Parse Detexify's symbols.json (`{"symbols": [...]}`) or a bare list of entries."""
        data = json.loads(text)
        entries = data.get("symbols") if isinstance(data, dict) else data
        if not isinstance(entries, list):
            raise SymbolTableError("symbols.json must hold a list under 'symbols'")
        return cls.from_list(entries)
