"""Import the original Detexify database: a plain-SQL dump loaded into PostgreSQL, or a live database.

The table is `samples(id integer, key text, strokes json)`: `key` is a legacy Detexify id such as
`amssymb-OT1-_bigstar` and `strokes` is `[[[x, y, t], ...], ...]` in canvas pixels. A dump is never
read into memory: its COPY block is streamed into a staging table and upserted into `samples` (so
loading the same dump twice adds nothing), then rows are read back through a server-side cursor.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import psycopg2
import psycopg2.extensions
from psycopg2 import sql
from tqdm import tqdm

from extexify_lsp.strokes import InvalidStrokesError, normalize, parse_strokes
from training.dataset import Dataset
from training.sources import ImportReport, SourceIndex, SourceSample

# Sample ids of database rows, the same form Detexify Next gives them in its source files.
SAMPLE_ID_PREFIX = "sample:legacy-detexify-db:"
COLUMNS = ("id", "key", "strokes")
COPY_START = re.compile(
    r'^COPY\s+(?:"?public"?\.)?"?samples"?\s*\((?P<columns>[^)]*)\)\s+FROM\s+stdin;\s*$', re.IGNORECASE
)
COPY_END = "\\."
INTEGER = re.compile(r"-?[0-9]{1,10}")
BATCH_SIZE = 2000


class SqlImportError(RuntimeError):
    """The database cannot be reached or created, or the dump holds no usable `samples` data."""


@dataclass(frozen=True)
class LoadReport:
    """What loading a dump into the database did; every line that was not loaded is listed by number."""

    rows: int  # data lines in the dump's COPY block
    inserted: int  # new rows in `samples`; the rest were there already (same id)
    malformed_lines: list[int]  # lines that were not `id <tab> key <tab> strokes`, 32-bit id
    duplicate_lines: list[int] = field(default_factory=list)  # rows repeating an earlier row's id
    after_end_lines: list[int] = field(default_factory=list)  # row-shaped lines after the `\.` end marker

    @property
    def existing(self) -> int:
        """Well-formed rows whose id was already in `samples` (loaded before)."""
        return self.rows - len(self.malformed_lines) - len(self.duplicate_lines) - self.inserted

    def summary(self) -> str:
        return (
            f"loaded {self.rows} dump rows: {self.inserted} new, {self.existing} already there, "
            f"{len(self.duplicate_lines)} repeating an earlier row's id, "
            f"{len(self.malformed_lines)} malformed"
        )


def _connect(dsn: str) -> psycopg2.extensions.connection:
    try:
        return psycopg2.connect(dsn)
    except psycopg2.Error as error:
        raise SqlImportError(f"cannot connect to {dsn!r}: {str(error).strip()}") from None


def ensure_database(dsn: str) -> None:
    """Create the database named in `dsn` unless it exists (connecting to `postgres` to do so)."""
    params = psycopg2.extensions.parse_dsn(dsn)
    name = params.get("dbname")
    if not name:
        raise SqlImportError(f"the DSN {dsn!r} names no database (dbname=... or postgresql://host/dbname)")
    admin = _connect(psycopg2.extensions.make_dsn(dsn, dbname="postgres"))
    try:
        admin.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg2.Error as error:
        raise SqlImportError(f"cannot create database {name!r}: {str(error).strip()}") from None
    finally:
        admin.close()


def _open_dump(path: Path) -> IO[str]:
    if not path.is_file():
        raise SqlImportError(f"{path}: no such dump file")
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="\n")
    return open(path, encoding="utf-8", newline="\n")


def _is_integer_id(text: str) -> bool:
    """Whether a COPY field is an `integer` (32-bit) value; anything else would abort the whole COPY."""
    return INTEGER.fullmatch(text) is not None and -(2**31) <= int(text) < 2**31


class _CopyBlock:
    """A file-like view of a dump's `COPY samples` data lines, for `copy_expert`; checks each line's shape."""

    def __init__(self, lines: Iterator[tuple[int, str]], columns: list[str]) -> None:
        self._lines = lines
        self._order = [columns.index(c) for c in COLUMNS]
        self._width = len(columns)
        self._buffer = ""
        self._ids: set[str] = set()
        self.rows = 0
        self.malformed: list[int] = []
        self.duplicates: list[int] = []  # the first row with an id is loaded, later ones are not
        self.ended = False

    def _next_line(self) -> str | None:
        if self.ended:
            return None
        for number, line in self._lines:
            line = line.rstrip("\n")
            if line == COPY_END:
                self.ended = True
                return None
            fields = line.split("\t")
            self.rows += 1
            if len(fields) != self._width or not _is_integer_id(fields[self._order[0]]):
                self.malformed.append(number)
                continue
            row_id = str(int(fields[self._order[0]]))
            if row_id in self._ids:
                self.duplicates.append(number)
                continue
            self._ids.add(row_id)
            return "\t".join(fields[i] for i in self._order) + "\n"
        return None

    def read(self, size: int = -1) -> str:
        while size < 0 or len(self._buffer) < size:
            line = self._next_line()
            if line is None:
                break
            self._buffer += line
        if size < 0:
            size = len(self._buffer)
        chunk, self._buffer = self._buffer[:size], self._buffer[size:]
        return chunk


def load_dump(path: str | Path, dsn: str) -> LoadReport:
    """Load a plain-SQL Detexify dump (.sql or .sql.gz) into `samples` in `dsn`; creates both if missing."""
    path = Path(path)
    ensure_database(dsn)
    connection = _connect(dsn)
    try:
        with _open_dump(path) as dump, connection, connection.cursor() as cursor:
            lines = enumerate(dump, start=1)
            match = next(filter(None, (COPY_START.match(line) for _, line in lines)), None)
            if match is None:
                raise SqlImportError(
                    f"{path}: no `COPY samples (...) FROM stdin` block; expected a plain-SQL pg_dump "
                    "(the default format, not --inserts) of the Detexify `samples` table"
                )
            columns = [c.strip().strip('"') for c in match["columns"].split(",")]
            if not set(COLUMNS) <= set(columns):
                raise SqlImportError(f"{path}: the samples table has columns {columns}, expected {COLUMNS}")
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS samples (id integer PRIMARY KEY, key text, strokes text);"
                "CREATE TEMP TABLE samples_staging (id integer, key text, strokes text) ON COMMIT DROP"
            )
            block = _CopyBlock(lines, columns)
            cursor.copy_expert("COPY samples_staging (id, key, strokes) FROM STDIN", block)
            if not block.ended:
                raise SqlImportError(f"{path}: the COPY block of samples does not end (no `\\.` line)")
            if block.rows and len(block.malformed) == block.rows:
                raise SqlImportError(
                    f"{path}: none of the {block.rows} lines of the COPY block is a samples row "
                    f"(line {block.malformed[0]}: expected {len(columns)} tab-separated fields "
                    f"{', '.join(columns)}, with an integer id)"
                )
            # Rows cut off by an early end marker would be lost without a word: count them.
            after_end = [number for number, line in lines if line.count("\t") == len(columns) - 1]
            # The dump's own json column is loaded as text, so a malformed row is reported, not fatal.
            cursor.execute(
                "INSERT INTO samples (id, key, strokes) SELECT id, key, strokes FROM samples_staging "
                "ON CONFLICT (id) DO NOTHING"
            )
            inserted = cursor.rowcount
    except psycopg2.Error as error:
        raise SqlImportError(f"{path}: loading into {dsn!r} failed: {str(error).strip()}") from None
    except (OSError, UnicodeDecodeError, EOFError) as error:
        raise SqlImportError(f"{path}: cannot read the dump ({error})") from None
    finally:
        connection.close()
    return LoadReport(block.rows, inserted, block.malformed, block.duplicates, after_end)


def _database_strokes(raw: object) -> list[np.ndarray]:
    """Canvas strokes as (n, 3) arrays: x, y normalized sample-wide, t in ms since the first point or NaN."""
    drawing = parse_strokes(raw)
    xy = normalize(drawing)
    times = np.concatenate([s[:, 2] for s in drawing])
    start = np.nanmin(times) if np.isfinite(times).any() else 0.0
    return [np.column_stack([p, s[:, 2] - start]) for p, s in zip(xy, drawing, strict=True)]


def iter_database_samples(
    dsn: str,
    index: SourceIndex,
    report: ImportReport,
    *,
    include_rejected: bool = False,
    batch_size: int = BATCH_SIZE,
) -> Iterator[SourceSample]:
    """Rows of `samples` in `dsn` as samples (ordered by id), read in batches through a server-side cursor.

    Keys are mapped to canonical ids through the source's legacy mapping; unusable rows are counted in
    `report` by reason, and rows the curator rejected are excluded.
    """
    connection = _connect(dsn)
    try:
        with connection:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM samples")
                (total,) = cursor.fetchone()
            report.expected = total
            # A named cursor lives on the server: rows arrive batch_size at a time, however big the table.
            with connection.cursor(name="extexify_samples") as cursor:
                cursor.itersize = batch_size
                cursor.execute("SELECT id, key, strokes::text FROM samples ORDER BY id")
                for row_id, key, text in tqdm(cursor, total=total, desc="samples", unit=" rows"):
                    sample = _row_sample(row_id, key, text, index, report, include_rejected)
                    if sample is not None:
                        yield sample
    except psycopg2.Error as error:
        raise SqlImportError(f"reading samples from {dsn!r} failed: {str(error).strip()}") from None
    finally:
        connection.close()


def _row_sample(
    row_id: int,
    key: str | None,
    text: str | None,
    index: SourceIndex,
    report: ImportReport,
    include_rejected: bool,
) -> SourceSample | None:
    """The sample in one database row, or None (counted in `report`) when it cannot be used."""
    sample_id = f"{SAMPLE_ID_PREFIX}{row_id}"
    report.rows += 1
    if sample_id in index.rejected and not include_rejected:
        report.excluded_rejected += 1
        return None
    symbol_id = index.legacy.canonical_id(key) if key is not None else None
    if symbol_id is None:
        report.skip("unknown key", f"row {row_id} ({key!r})")
        return None
    try:
        raw = json.loads(text) if text is not None else None
    except ValueError:
        report.skip("malformed JSON", f"row {row_id}")
        return None
    if isinstance(raw, list) and not any(raw):
        report.skip("empty drawing", f"row {row_id}")
        return None
    try:
        strokes = _database_strokes(raw)
    except InvalidStrokesError as error:
        report.skip("invalid strokes", f"row {row_id} ({error})")
        return None
    report.imported += 1
    return SourceSample(id=sample_id, symbol_id=symbol_id, strokes=strokes)


def import_database(
    dsn: str, index: SourceIndex, *, include_rejected: bool = False, batch_size: int = BATCH_SIZE
) -> tuple[Dataset, ImportReport]:
    """Import the `samples` table of `dsn` into a dataset with the source's symbol table."""
    report = ImportReport()
    samples = iter_database_samples(
        dsn, index, report, include_rejected=include_rejected, batch_size=batch_size
    )
    dataset = Dataset.from_drawings(index.symbols, ((s.id, s.symbol_id, s.strokes) for s in samples))
    return dataset, report


def import_dump(
    path: str | Path, dsn: str, index: SourceIndex, *, include_rejected: bool = False
) -> tuple[Dataset, ImportReport, LoadReport]:
    """Load a dump into `dsn`, then import the table; malformed dump lines are counted as skipped rows."""
    loaded = load_dump(path, dsn)
    dataset, report = import_database(dsn, index, include_rejected=include_rejected)
    for reason, numbers in (
        ("malformed dump line", loaded.malformed_lines),
        ("id repeated in the dump", loaded.duplicate_lines),
        ("row after the `\\.` that ends the COPY block, not read", loaded.after_end_lines),
    ):
        for number in numbers:
            report.skip(reason, f"{path}:{number}")
    return dataset, report, loaded
