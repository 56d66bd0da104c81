"""The sample store: the user's own drawings and symbols, in SQLite (one machine) or PostgreSQL (a team).

Each sample keeps the strokes as the client sent them, the symbol, where it came from (`taught` or
`picked`), the time and the model version. Several servers may share one store: every change runs in one
transaction that first bumps a revision counter, which serializes writers (so sample ids grow in commit
order) and tells other servers something changed. A store that cannot be read, written or understood is a
StoreError: it is never recreated or overwritten.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from extexify_lsp.symbols import Mode

SCHEMA_VERSION = 1
STORE_FILE = "samples.sqlite3"
OFF = "none"
TIMEOUT_S = 5.0  # how long to wait for another server's write (SQLite) or a connection (PostgreSQL)
USER_PREFIX = "user:"
Source = Literal["taught", "picked"]
SOURCES: tuple[str, ...] = ("taught", "picked")
# Any constant: it names the lock that serializes creating the tables in one PostgreSQL database.
_PG_SCHEMA_LOCK = 0x657874_6578

_TABLES = ("extexify_meta", "extexify_symbols", "extexify_samples")
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS extexify_symbols (id TEXT PRIMARY KEY, command TEXT NOT NULL, "
    "package TEXT, mode TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS extexify_samples (id {serial}, symbol_id TEXT NOT NULL, "
    "strokes TEXT NOT NULL, source TEXT NOT NULL, created DOUBLE PRECISION NOT NULL, "
    "model_version TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS extexify_samples_symbol ON extexify_samples (symbol_id)",
)
_META = "CREATE TABLE IF NOT EXISTS extexify_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)"
_BUMP = "UPDATE extexify_meta SET value = value + 1 WHERE key = 'revision'"
_SAMPLE_COLUMNS = "id, symbol_id, strokes, source, created, model_version"


class StoreError(Exception):
    """The store cannot be opened, read or written; the message says which store, why and what to do."""


class UnknownSymbolError(StoreError):
    """A sample names a user symbol the store does not hold (it was forgotten meanwhile)."""


@dataclass(frozen=True)
class UserSymbol:
    """A symbol the user taught that the model does not know."""

    id: str  # `user:\R`, or `user:\R@pkg` with a package: the same command and package, the same id
    command: str
    package: str | None
    mode: Mode

    @classmethod
    def new(cls, command: str, package: str | None = None, mode: Mode = "math") -> UserSymbol:
        return cls(user_symbol_id(command, package), command, package, mode)


def user_symbol_id(command: str, package: str | None) -> str:
    return f"{USER_PREFIX}{command}" + ("" if package is None else f"@{package}")


@dataclass(frozen=True)
class StoredSample:
    id: int
    symbol_id: str
    strokes: list[Any]  # the `strokes` JSON as the client sent it
    source: Source
    created: float  # unix seconds
    model_version: str  # sha256 of the weights that were serving when it was stored


def default_store_path() -> Path:
    """`$XDG_DATA_HOME/extexify/samples.sqlite3`, or under ~/.local/share when that variable is unset."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "extexify" / STORE_FILE


def is_postgres(spec: str) -> bool:
    return spec.startswith(("postgresql://", "postgres://"))


def open_store(spec: str | None, *, timeout: float = TIMEOUT_S, writable: bool = True) -> SampleStore | None:
    """The store `spec` names: None (personalization off) for "none"; the default SQLite file for None;
    PostgreSQL for a `postgresql://` DSN; else a SQLite file path.

    A writable store is created on first use, and one that cannot be written is a StoreError. Not
    `writable`: for tools that only read, an existing store, which may be read-only."""
    if spec is not None and spec.strip().lower() == OFF:
        return None
    if spec is not None and is_postgres(spec):
        return PostgresStore(spec, timeout, writable)
    if spec is not None and not spec.strip():
        raise StoreError("the store is an empty string: give a file path, a postgresql:// DSN or 'none'")
    path = default_store_path() if spec is None else Path(spec).expanduser()
    return SqliteStore(path, timeout, writable)


def describe_store(spec: str | None) -> str:
    """What to call the store in messages: its path, or its DSN without the password."""
    if spec is None:
        return str(default_store_path())
    if is_postgres(spec):
        return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", re.sub(r"password=\S*", "password=***", spec))
    return spec


class SampleStore:
    """The operations; subclasses bring the connection, the transactions and the SQL dialect."""

    location: str  # for messages; never holds a password
    _serial: str  # the samples.id column: an autoincrementing primary key

    def __init__(self, writable: bool) -> None:
        self.writable = writable
        # One connection, used from whichever thread calls (the server's store thread, a CLI).
        self._lock = threading.Lock()

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Any]:
        """A cursor inside one transaction, committed at the end or rolled back on an exception."""
        raise NotImplementedError

    def _sql(self, text: str) -> str:
        """`text` with `?` placeholders in the driver's style."""
        return text

    @contextmanager
    def _write(self) -> Iterator[Any]:
        # The revision update comes first: it locks the row, so writers go one at a time.
        with self._transaction(write=True) as cursor:
            cursor.execute(_BUMP)
            yield cursor

    def add_sample(self, strokes: Sequence[Any], symbol_id: str, source: Source, model_version: str) -> int:
        """Store a drawing of `symbol_id`; its id. A `user:` symbol must be in the store."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        text = json.dumps(strokes, separators=(",", ":"))
        with self._write() as cursor:
            if symbol_id.startswith(USER_PREFIX):
                cursor.execute(self._sql("SELECT 1 FROM extexify_symbols WHERE id = ?"), (symbol_id,))
                if cursor.fetchone() is None:
                    raise UnknownSymbolError(f"{symbol_id} is not in the store {self.location} (forgotten?)")
            cursor.execute(
                self._sql(
                    "INSERT INTO extexify_samples (symbol_id, strokes, source, created, model_version) "
                    "VALUES (?, ?, ?, ?, ?) RETURNING id"
                ),
                (symbol_id, text, source, time.time(), model_version),
            )
            return int(cursor.fetchone()[0])

    def ensure_symbol(self, symbol: UserSymbol) -> None:
        """Add the user symbol, or update its mode if it is there."""
        with self._write() as cursor:
            cursor.execute(
                self._sql(
                    "INSERT INTO extexify_symbols (id, command, package, mode) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET mode = excluded.mode"
                ),
                (symbol.id, symbol.command, symbol.package, symbol.mode),
            )

    def symbols(self) -> list[UserSymbol]:
        with self._transaction(write=False) as cursor:
            cursor.execute("SELECT id, command, package, mode FROM extexify_symbols ORDER BY id")
            return [UserSymbol(*row) for row in cursor.fetchall()]

    def samples(self, after_id: int = 0) -> list[StoredSample]:
        """Samples with ids above `after_id`, oldest first."""
        with self._transaction(write=False) as cursor:
            cursor.execute(
                self._sql(f"SELECT {_SAMPLE_COLUMNS} FROM extexify_samples WHERE id > ? ORDER BY id"),
                (after_id,),
            )
            return [
                StoredSample(int(i), symbol_id, json.loads(strokes), source, float(created), version)
                for i, symbol_id, strokes, source, created, version in cursor.fetchall()
            ]

    def forget_sample(self, sample_id: int) -> int:
        """Remove one sample; how many were removed (0 or 1)."""
        with self._write() as cursor:
            cursor.execute(self._sql("DELETE FROM extexify_samples WHERE id = ?"), (sample_id,))
            return int(cursor.rowcount)

    def forget_symbol(self, symbol_id: str) -> int:
        """Remove a symbol's samples, and the symbol itself if it is the user's; how many samples went."""
        with self._write() as cursor:
            cursor.execute(self._sql("DELETE FROM extexify_samples WHERE symbol_id = ?"), (symbol_id,))
            removed = int(cursor.rowcount)
            cursor.execute(self._sql("DELETE FROM extexify_symbols WHERE id = ?"), (symbol_id,))
            return removed

    def counts(self) -> dict[str, int]:
        """Samples per symbol id."""
        with self._transaction(write=False) as cursor:
            cursor.execute("SELECT symbol_id, COUNT(*) FROM extexify_samples GROUP BY symbol_id")
            return {symbol_id: int(n) for symbol_id, n in cursor.fetchall()}

    def revision(self) -> int:
        """A number that changes whenever a sample or symbol is added or removed, by any server."""
        with self._transaction(write=False) as cursor:
            cursor.execute("SELECT value FROM extexify_meta WHERE key = 'revision'")
            return int(cursor.fetchone()[0])

    def close(self) -> None:
        raise NotImplementedError


class SqliteStore(SampleStore):
    """A SQLite file in WAL mode; its schema version is `PRAGMA user_version`."""

    _serial = "INTEGER PRIMARY KEY AUTOINCREMENT"  # ids are never reused, even after a forget

    def __init__(self, path: Path, timeout: float = TIMEOUT_S, writable: bool = True) -> None:
        super().__init__(writable)
        self.path = path
        self.location = str(path)
        if path.is_dir():
            raise StoreError(f"the store {path} is a directory; give a file path (or --store none)")
        if not writable and not path.is_file():
            raise StoreError(f"there is no store at {path}")
        if writable and not path.exists():
            try:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                # Drawings are personal: only the user may read the file.
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600))
            except FileExistsError:
                pass  # another server created it meanwhile
            except OSError as error:
                raise StoreError(f"cannot create the store {path}: {error.strerror or error}") from None
        try:
            self._conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            raise self._error(error) from None
        try:
            self._set_up()
        except StoreError:
            self._conn.close()
            raise

    def _set_up(self) -> None:
        with self._transaction(write=self.writable) as cursor:
            version = int(cursor.execute("PRAGMA user_version").fetchone()[0])
            _check_version(version, self.location)
            if version == 0:
                if not self.writable:
                    raise StoreError(f"{self.path} holds no extexify store")
                tables = {
                    row[0] for row in cursor.execute("SELECT name FROM sqlite_master WHERE type='table'")
                }
                foreign = sorted(tables - set(_TABLES) - {"sqlite_sequence"})
                if foreign:
                    raise StoreError(
                        f"{self.path} is an SQLite database of something else "
                        f"(tables {', '.join(foreign[:3])}): give another --store path"
                    )
                cursor.execute(_META)
                for statement in _SCHEMA:
                    cursor.execute(statement.format(serial=self._serial))
                cursor.execute("INSERT OR IGNORE INTO extexify_meta (key, value) VALUES ('revision', 0)")
            if not self.writable:
                return
            # Also the write probe: a read-only file or directory fails here, not at the first teach.
            cursor.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        # Outside a transaction; WAL lets servers read while another writes (and persists in the file).
        with self._lock:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
            except sqlite3.Error as error:
                raise self._error(error) from None

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            try:
                cursor = self._conn.cursor()
                # IMMEDIATE takes the write lock at once: two writers never deadlock upgrading a read lock.
                cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield cursor
                    cursor.execute("COMMIT")
                except BaseException:
                    with suppress(sqlite3.Error):
                        cursor.execute("ROLLBACK")
                    raise
            except sqlite3.Error as error:
                raise self._error(error) from None

    def _error(self, error: sqlite3.Error) -> StoreError:
        name = getattr(error, "sqlite_errorname", "")
        if name in ("SQLITE_BUSY", "SQLITE_LOCKED") or "locked" in str(error):
            reason = "it is locked by another program; try again, or close the program that holds it"
        elif name.startswith("SQLITE_READONLY") or name == "SQLITE_CANTOPEN":
            reason = f"it cannot be written ({error}); make the file and its folder writable"
        elif name in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
            reason = f"it is not a readable SQLite database ({error}); move it away to start a new store"
        else:
            reason = str(error)
        return StoreError(f"the store {self.path} cannot be used: {reason}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class PostgresStore(SampleStore):
    """Tables in an existing PostgreSQL database; its schema version is a row of extexify_meta."""

    _serial = "BIGSERIAL PRIMARY KEY"

    def __init__(self, dsn: str, timeout: float = TIMEOUT_S, writable: bool = True) -> None:
        super().__init__(writable)
        try:
            import psycopg2
        except ImportError:
            raise StoreError(
                "a PostgreSQL store needs psycopg2: pip install 'extexify[postgres]' (or psycopg2-binary)"
            ) from None
        self._psycopg2 = psycopg2
        self._dsn = dsn
        self._timeout = timeout
        self.location = describe_store(dsn)
        self._conn = self._connect()
        try:
            self._set_up()
        except StoreError:
            self._conn.close()
            raise

    def _connect(self) -> Any:
        try:
            return self._psycopg2.connect(
                self._dsn, connect_timeout=max(1, round(self._timeout)), application_name="extexify"
            )
        except self._psycopg2.Error as error:
            raise StoreError(
                f"cannot connect to the store {self.location}: {_first_line(error)} "
                "(the database must exist: create it with `createdb`)"
            ) from None

    def _set_up(self) -> None:
        with self._transaction(write=self.writable) as cursor:
            cursor.execute("SELECT to_regclass('extexify_meta') IS NOT NULL")
            if not cursor.fetchone()[0] and not self.writable:
                raise StoreError(f"the database {self.location} holds no extexify store")
            if not self.writable:
                cursor.execute("SELECT value FROM extexify_meta WHERE key = 'schema_version'")
                _check_version(int(cursor.fetchone()[0]), self.location)
                return
            # Servers starting together on a new database would otherwise race creating the tables.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_SCHEMA_LOCK,))
            cursor.execute(_META)
            cursor.execute("SELECT value FROM extexify_meta WHERE key = 'schema_version'")
            row = cursor.fetchone()
            _check_version(0 if row is None else int(row[0]), self.location)
            # DDL only on a new store: CREATE INDEX locks the table even when the index exists.
            if row is None:
                for statement in _SCHEMA:
                    cursor.execute(statement.format(serial=self._serial))
                cursor.execute(
                    "INSERT INTO extexify_meta (key, value) VALUES ('schema_version', %s), ('revision', 0)",
                    (SCHEMA_VERSION,),
                )
            # The write probe: a role that may only read fails here, not at the first teach.
            cursor.execute("UPDATE extexify_meta SET value = value WHERE key = 'revision'")

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s")

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Any]:
        with self._lock:
            try:
                if self._conn.closed:  # the server went away earlier: try again now
                    self._conn = self._connect()
                with self._conn, self._conn.cursor() as cursor:  # commits, or rolls back on an exception
                    yield cursor
            except self._psycopg2.Error as error:
                raise StoreError(f"the store {self.location} failed: {_first_line(error)}") from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _check_version(version: int, location: str) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the store {location} has schema version {version}, made by a newer extexify; this one reads "
            f"version {SCHEMA_VERSION}: upgrade extexify, or give another --store"
        )


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
