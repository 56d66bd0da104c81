"""A sample store for the toolkit: its samples as a dataset (a team retrains on them), its stats, its export.

User symbols join the symbol table after the built-in ones, in the store's order; every sample that cannot
be used is counted in the import report.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from extexify_lsp.store import SampleStore, StoredSample, StoreError, UserSymbol, open_store
from extexify_lsp.strokes import InvalidStrokesError, normalize, parse_strokes
from extexify_lsp.symbols import Symbol, SymbolTable
from training.dataset import Dataset
from training.sources import ImportReport

SAMPLE_ID_PREFIX = "store:"  # dataset sample ids of store samples: store:<sample id>


@contextmanager
def reading(spec: str | None) -> Iterator[SampleStore]:
    """The existing store `spec` names (None: the default file), open for reading; StoreError if none."""
    store = open_store(spec, writable=False)
    if store is None:
        raise StoreError(f"'{spec}' names no store: give a file path or a postgresql:// DSN")
    try:
        yield store
    finally:
        store.close()


def user_symbol(symbol: UserSymbol) -> Symbol:
    """A user symbol as an entry of the symbol table."""
    return Symbol(
        id=symbol.id, command=symbol.command, package=symbol.package, fontenc="OT1", mode=symbol.mode
    )


def empty_dataset(symbols: SymbolTable) -> Dataset:
    return Dataset.from_drawings(symbols, ())


def import_store(store: SampleStore, base: Dataset, report: ImportReport) -> Dataset:
    """`base`'s samples, then the store's, labelled in `base`'s symbol table plus the store's user symbols.

    Store samples of symbols in neither, or whose strokes cannot be read, are skipped and counted in `report`.
    """
    known = set(base.symbols.ids)
    table = SymbolTable([*base.symbols, *(user_symbol(s) for s in store.symbols() if s.id not in known)])
    items = [(str(base.sample_ids[i]), base.symbol_id(i), base.drawing(i)) for i in range(len(base))]
    samples = store.samples()
    report.rows += len(samples)
    report.expected = (report.expected or 0) + len(samples)
    for sample in samples:
        where = f"{store.location} sample {sample.id}"
        if sample.symbol_id not in table:
            report.skip("symbol not in the symbol table", f"{where} ({sample.symbol_id})")
            continue
        try:
            drawing = _drawing(sample)
        except InvalidStrokesError as error:
            report.skip("invalid strokes", f"{where} ({error})")
            continue
        items.append((f"{SAMPLE_ID_PREFIX}{sample.id}", sample.symbol_id, drawing))
        report.imported += 1
    return Dataset.from_drawings(table, items)


def _drawing(sample: StoredSample) -> list[np.ndarray]:
    """The strokes as the server reads them, fitted into the unit square; times kept."""
    strokes = parse_strokes(sample.strokes)
    return [np.column_stack([xy, s[:, 2]]) for xy, s in zip(normalize(strokes), strokes, strict=True)]


@dataclass(frozen=True)
class SymbolCounts:
    symbol_id: str
    command: str | None  # None: a built-in symbol (the store knows only user symbols' commands)
    taught: int
    picked: int


@dataclass(frozen=True)
class StoreStats:
    location: str
    user_symbols: int
    symbols: tuple[SymbolCounts, ...] = field(default=())  # most samples first

    @property
    def taught(self) -> int:
        return sum(s.taught for s in self.symbols)

    @property
    def picked(self) -> int:
        return sum(s.picked for s in self.symbols)

    def summary(self) -> str:
        lines = [
            f"{self.location}: {self.taught + self.picked} samples "
            f"({self.taught} taught, {self.picked} picked) of {len(self.symbols)} symbols; "
            f"{self.user_symbols} user symbols"
        ]
        if self.symbols:
            width = max(len(s.symbol_id) for s in self.symbols)
            lines.append(f"{'symbol':<{width}}  {'taught':>6}  {'picked':>6}")
            lines.extend(f"{s.symbol_id:<{width}}  {s.taught:>6}  {s.picked:>6}" for s in self.symbols)
        return "\n".join(lines)


def store_stats(store: SampleStore) -> StoreStats:
    """Samples per symbol and source."""
    by_source: Counter[tuple[str, str]] = Counter((s.symbol_id, s.source) for s in store.samples())
    user = {s.id: s for s in store.symbols()}
    ids = sorted({symbol_id for symbol_id, _ in by_source} | set(user))
    counts = [
        SymbolCounts(
            i, user[i].command if i in user else None, by_source[(i, "taught")], by_source[(i, "picked")]
        )
        for i in ids
    ]
    counts.sort(key=lambda c: -(c.taught + c.picked))
    return StoreStats(store.location, len(user), tuple(counts))


def export_store(store: SampleStore, out: IO[str]) -> tuple[int, int]:
    """Write the user symbols, then the samples, as JSON lines; (symbols, samples) written."""
    symbols = store.symbols()
    for symbol in symbols:
        _line(
            out,
            {
                "type": "symbol",
                "id": symbol.id,
                "command": symbol.command,
                "package": symbol.package,
                "mode": symbol.mode,
            },
        )
    samples = store.samples()
    for sample in samples:
        _line(
            out,
            {
                "type": "sample",
                "id": sample.id,
                "symbolId": sample.symbol_id,
                "source": sample.source,
                "created": sample.created,
                "modelVersion": sample.model_version,
                "strokes": sample.strokes,
            },
        )
    return len(symbols), len(samples)


def _line(out: IO[str], record: dict[str, Any]) -> None:
    out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
