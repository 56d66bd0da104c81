"""Read a Detexify Next source (`packages/data/source`): a directory or a `.tar.gz` of one, never unpacked.

The layout: `symbols.json` (the symbol table), `samples/manifest.json` (one JSONL file per symbol),
`reviews/rejected-samples.json` (sample ids the curator excluded) and `imports/legacy-detexify.json`
(legacy Detexify keys -> canonical ids). A tarball is streamed twice: once for that metadata, which
sits at both ends of the archive, and once for the samples, so memory holds one file at a time.
"""

from __future__ import annotations

import json
import os
import tarfile
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import numpy as np

from extexify_lsp.strokes import InvalidStrokesError, normalize
from extexify_lsp.symbols import SymbolTable, SymbolTableError
from training.dataset import Dataset
from training.legacy_ids import LegacyIds

SYMBOLS = "symbols.json"
MANIFEST = "samples/manifest.json"
REJECTED = "reviews/rejected-samples.json"
LEGACY = "imports/legacy-detexify.json"
METADATA = (SYMBOLS, MANIFEST, REJECTED, LEGACY)
EXAMPLES_PER_REASON = 3
# The shared copy of Detexify Next's source: in the folder EXTEXIFY_SHARED_DATA names, else in
# ../shared/data beside the checkout (as the tests find it).
SHARED_DATA_VARIABLE = "EXTEXIFY_SHARED_DATA"
SHARED_TARBALL = "detexify-source.tar.gz"


def shared_source() -> Path:
    """Where the shared Detexify Next source tarball is expected (it may be missing)."""
    folder = os.environ.get(SHARED_DATA_VARIABLE)
    default = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    return (Path(folder) if folder else default) / SHARED_TARBALL


class SourceError(ValueError):
    """The path is not a readable Detexify Next source, or (when no report is kept) a row is unusable."""


@dataclass(frozen=True)
class SourceSample:
    id: str  # e.g. "sample:legacy-detexify-db:242926"
    symbol_id: str  # canonical id, e.g. "latex:amssymb:bigstar"
    strokes: list[np.ndarray]  # (n, 2) float arrays in the unit square, sample-wide normalized


@dataclass(frozen=True)
class ManifestEntry:
    symbol_id: str
    path: str  # relative to the source root
    sample_count: int


@dataclass(frozen=True)
class SourceIndex:
    """Everything in a source except the samples themselves."""

    root: PurePosixPath  # of the source inside a tarball; "." for a directory
    symbols: SymbolTable
    files: tuple[ManifestEntry, ...]
    rejected: frozenset[str]
    legacy: LegacyIds


@dataclass
class ImportReport:
    """What an import kept, excluded on purpose and skipped (by reason); nothing is dropped silently."""

    rows: int = 0  # rows read
    expected: int | None = None  # rows the source says it holds (the manifest's counts, the table's size)
    imported: int = 0
    excluded_rejected: int = 0  # curator-rejected samples, excluded by design
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)  # reason -> first few offending rows

    def skip(self, reason: str, where: str) -> None:
        self.skipped[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < EXAMPLES_PER_REASON:
            shown.append(where)

    def summary(self) -> str:
        listed = f" (the source lists {self.expected})" if self.expected is not None else ""
        lines = [f"read {self.rows} rows{listed}", f"imported {self.imported} samples"]
        if self.excluded_rejected:
            lines.append(f"excluded {self.excluded_rejected} samples rejected by the curator")
        if not self.skipped:
            lines.append("skipped none")
        for reason, count in self.skipped.most_common():
            lines.append(f"skipped {count}: {reason} (e.g. {'; '.join(self.examples[reason])})")
        return "\n".join(lines)


def _is_tarball(path: Path) -> bool:
    return path.is_file() and path.name.endswith((".tar.gz", ".tgz"))


def _check_source(path: Path) -> None:
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    if path.is_dir():
        if not (path / SYMBOLS).is_file():
            raise SourceError(f"{path}: not a Detexify Next source directory (no {SYMBOLS})")
    elif not _is_tarball(path):
        raise SourceError(f"{path}: expected a Detexify Next source directory or a .tar.gz of one")


def _iter_tar_members(path: Path) -> Iterator[tuple[PurePosixPath, IO[bytes]]]:
    """(member path, open file) for each regular file, streaming the archive once."""
    try:
        with tarfile.open(path, "r|gz") as archive:
            for member in archive:
                handle = archive.extractfile(member) if member.isfile() else None
                if handle is not None:
                    yield PurePosixPath(member.name), handle
    except (tarfile.TarError, EOFError, OSError) as error:
        raise SourceError(f"{path}: cannot read the archive ({error})") from None


def _load_json(raw: bytes, where: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as error:
        raise SourceError(f"{where}: not valid JSON ({error})") from None


def _read_metadata(path: Path) -> tuple[PurePosixPath, dict[str, Any]]:
    """The source root inside the archive ("." for a directory) and the parsed metadata files."""
    found: dict[PurePosixPath, bytes] = {}
    if path.is_dir():
        root = PurePosixPath(".")
        found = {root / name: (path / name).read_bytes() for name in METADATA if (path / name).is_file()}
    else:
        suffixes = {PurePosixPath(name).parts: name for name in METADATA}
        for name, handle in _iter_tar_members(path):
            if any(name.parts[-len(parts) :] == parts for parts in suffixes):
                found[name] = handle.read()
                if len(found) == len(METADATA):
                    break
        tables = [name.parent for name in found if name.name == SYMBOLS]
        # The shallowest symbols.json marks the source root (Detexify's archives have one top directory).
        root = min(tables, key=lambda p: len(p.parts), default=PurePosixPath("."))
    metadata = {name: found[root / name] for name in METADATA if root / name in found}
    for required in (SYMBOLS, MANIFEST):
        if required not in metadata:
            raise SourceError(f"{path}: not a Detexify Next source (no {required})")
    return root, {name: _load_json(raw, f"{path}: {name}") for name, raw in metadata.items()}


def read_source_index(path: str | Path) -> SourceIndex:
    """The symbol table, the manifest, the rejected ids and the legacy-id mapping of a source."""
    path = Path(path)
    _check_source(path)
    root, metadata = _read_metadata(path)
    try:
        symbols = SymbolTable.from_list(metadata[SYMBOLS]["symbols"])
        files = tuple(
            ManifestEntry(str(e["symbolId"]), str(e["path"]), int(e["sampleCount"]))
            for e in metadata[MANIFEST]["samples"]
        )
        rejected = frozenset(metadata.get(REJECTED, {}).get("rejected", {}))
        legacy = LegacyIds.from_entries(metadata.get(LEGACY, {}).get("symbols", []), symbols.ids)
    except (KeyError, TypeError, ValueError, AttributeError, SymbolTableError) as error:
        raise SourceError(f"{path}: malformed source metadata ({type(error).__name__}: {error})") from None
    return SourceIndex(root=root, symbols=symbols, files=files, rejected=rejected, legacy=legacy)


def read_symbol_table(path: str | Path) -> SymbolTable:
    return read_source_index(path).symbols


def _stored_strokes(raw: object) -> list[np.ndarray]:
    """Strokes as stored in the JSONL files ([[{"x", "y"}, ...], ...]), re-normalized sample-wide.

    Detexify Next's lab samples are stored relative to their canvas, not fitted like the rest;
    normalizing again makes every sample what the server's `normalize` makes of a request.
    """
    if not isinstance(raw, list):
        raise InvalidStrokesError("strokes must be a list of strokes")
    try:
        # Not parse_strokes' point-by-point checks: a full import converts ~6 million points.
        strokes = [np.array([(p["x"], p["y"]) for p in s]) for s in raw if s]
    except (KeyError, TypeError) as error:
        raise InvalidStrokesError(f"a point is not an {{'x', 'y'}} object ({error!r})") from None
    for stroke in strokes:
        if stroke.dtype.kind not in "iuf" or stroke.ndim != 2:
            raise InvalidStrokesError(f"a point has coordinates that are not numbers ({stroke.dtype})")
    return normalize([stroke.astype(np.float64) for stroke in strokes]) if strokes else []


def _select_symbols(index: SourceIndex, symbol_ids: Collection[str] | None) -> SymbolTable:
    if symbol_ids is None:
        return index.symbols
    unknown = sorted(set(symbol_ids) - set(index.symbols.ids))
    if unknown:
        raise SourceError(f"unknown symbol ids: {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}")
    wanted = set(symbol_ids)
    return SymbolTable(s for s in index.symbols if s.id in wanted)


def _iter_files(
    path: Path, root: PurePosixPath, wanted: dict[str, ManifestEntry]
) -> Iterator[tuple[ManifestEntry, IO[bytes]]]:
    """The wanted sample files as (entry, open file): manifest order for a directory, else archive order."""
    if path.is_dir():
        for name, entry in wanted.items():
            if (path / name).is_file():
                with open(path / name, "rb") as handle:
                    yield entry, handle
        return
    by_member = {root / name: entry for name, entry in wanted.items()}
    for member, stream in _iter_tar_members(path):
        if member in by_member:
            yield by_member[member], stream


def _iter_samples(
    path: Path,
    index: SourceIndex,
    table: SymbolTable,
    *,
    include_rejected: bool,
    report: ImportReport | None,
) -> Iterator[SourceSample]:
    def skip(reason: str, where: str) -> None:
        if report is None:
            raise SourceError(f"{where}: {reason}")
        report.skip(reason, where)

    wanted = {e.path: e for e in index.files if e.symbol_id in table}
    if report is not None:
        report.expected = sum(e.sample_count for e in wanted.values())
    unseen = dict(wanted)
    seen_ids: set[str] = set()
    for entry, handle in _iter_files(path, index.root, wanted):
        unseen.pop(entry.path, None)
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{entry.path}:{number}"
            if report is not None:
                report.rows += 1
            try:
                row = json.loads(line)
                sample_id, symbol_id, raw_strokes = row["id"], row["symbolId"], row["strokes"]
            except (ValueError, KeyError, TypeError):
                skip("malformed JSON row", where)
                continue
            if not isinstance(sample_id, str):
                skip("malformed JSON row", f"{where} (id {sample_id!r} is not a string)")
                continue
            if sample_id in index.rejected and not include_rejected:
                if report is not None:
                    report.excluded_rejected += 1
                continue
            if symbol_id != entry.symbol_id:
                skip("symbol id differs from the manifest's", f"{where} ({symbol_id})")
                continue
            if sample_id in seen_ids:
                skip("duplicate sample id", f"{where} ({sample_id})")
                continue
            try:
                strokes = _stored_strokes(raw_strokes)
            except InvalidStrokesError as error:
                skip("invalid strokes", f"{where} ({error})")
                continue
            if not strokes:
                skip("empty drawing", where)
                continue
            seen_ids.add(sample_id)
            if report is not None:
                report.imported += 1
            yield SourceSample(id=str(sample_id), symbol_id=symbol_id, strokes=strokes)
    for entry in unseen.values():
        for _ in range(entry.sample_count):
            skip("sample file listed in the manifest is missing", entry.path)


def iter_source_samples(
    path: str | Path,
    symbol_ids: Collection[str] | None = None,
    *,
    include_rejected: bool = False,
    report: ImportReport | None = None,
) -> Iterator[SourceSample]:
    """Samples of a source (all symbols, or those in `symbol_ids`), curator-rejected ones excluded.

    Unusable rows are counted in `report`; without a report the first one raises SourceError.
    """
    path = Path(path)
    index = read_source_index(path)
    table = _select_symbols(index, symbol_ids)
    return _iter_samples(path, index, table, include_rejected=include_rejected, report=report)


def import_source(
    path: str | Path, symbol_ids: Collection[str] | None = None, *, include_rejected: bool = False
) -> tuple[Dataset, ImportReport]:
    """Import a source into a dataset whose symbol table is the source's (or the `symbol_ids` subset)."""
    path = Path(path)
    index = read_source_index(path)
    table = _select_symbols(index, symbol_ids)
    report = ImportReport()
    # Archives need not follow the manifest's order; the dataset does (symbol table order, then file order),
    # so a directory and a tarball of it give the same file.
    by_symbol: dict[str, list[SourceSample]] = {symbol.id: [] for symbol in table}
    for sample in _iter_samples(path, index, table, include_rejected=include_rejected, report=report):
        by_symbol[sample.symbol_id].append(sample)
    dataset = Dataset.from_drawings(
        table, ((s.id, s.symbol_id, s.strokes) for samples in by_symbol.values() for s in samples)
    )
    return dataset, report
