"""The sample store against real SQLite files and a real PostgreSQL database."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest

from extexify_lsp.store import (
    SCHEMA_VERSION,
    SampleStore,
    StoreError,
    UnknownSymbolError,
    UserSymbol,
    default_store_path,
    describe_store,
    open_store,
)
from tests.postgres import throwaway_database

STROKES = [[[0, 0, 0], [10, 12.5, 16]], [[3, 4]]]
R = UserSymbol.new("\\R", None, "math")
WRITES = 40  # per concurrent writer


@pytest.fixture(params=["sqlite", "postgres"])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store location that does not hold a store yet: a file path or an empty PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "store" / "samples.sqlite3")
    else:
        with throwaway_database() as url:
            yield url


@contextmanager
def opened(spec: str) -> Iterator[SampleStore]:
    store = open_store(spec, timeout=2)
    assert store is not None
    try:
        yield store
    finally:
        store.close()


def test_none_turns_the_store_off() -> None:
    assert open_store("none") is None
    assert open_store("None") is None


def test_default_store_follows_xdg_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_store_path() == tmp_path / "data" / "extexify" / "samples.sqlite3"
    store = open_store(None)
    assert store is not None
    store.close()
    path = default_store_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # drawings are personal
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_store_path() == tmp_path / "home" / ".local" / "share" / "extexify" / "samples.sqlite3"


def test_samples_and_symbols_round_trip(spec: str) -> None:
    with opened(spec) as store:
        first = store.revision()
        store.ensure_symbol(R)
        taught = store.add_sample(STROKES, R.id, "taught", "sha-a")
        picked = store.add_sample(STROKES[:1], "latex:latex2e:alpha", "picked", "sha-b")
        assert store.revision() != first
        assert store.symbols() == [R]
        assert store.counts() == {R.id: 1, "latex:latex2e:alpha": 1}
        samples = store.samples()
        assert [s.id for s in samples] == [taught, picked]
        assert samples[0].strokes == STROKES  # as received, ints and floats alike
        assert (samples[0].symbol_id, samples[0].source, samples[0].model_version) == (
            R.id,
            "taught",
            "sha-a",
        )
        assert samples[1].source == "picked"
        assert [s.id for s in store.samples(after_id=taught)] == [picked]
        before = store.revision()
        assert store.forget_sample(picked) == 1
        assert store.forget_sample(picked) == 0
        assert store.revision() != before
        # A forgotten id is never given again: servers read new samples by id.
        assert store.add_sample(STROKES, R.id, "taught", "sha-a") > picked
        assert store.forget_symbol(R.id) == 2
        assert store.symbols() == []
        assert store.counts() == {}
        with pytest.raises(UnknownSymbolError, match="forgotten"):
            store.add_sample(STROKES, R.id, "taught", "sha-a")


def test_a_symbol_id_names_the_command_and_package() -> None:
    assert UserSymbol.new("\\R").id == "user:\\R"
    assert UserSymbol.new("\\R", "dsfont").id == "user:\\R@dsfont"
    assert UserSymbol.new("\\R", "dsfont", "both") != UserSymbol.new("\\R", "dsfont")


def test_teaching_a_symbol_again_keeps_one_symbol_with_the_new_mode(spec: str) -> None:
    with opened(spec) as store:
        store.ensure_symbol(R)
        store.ensure_symbol(UserSymbol.new("\\R", None, "both"))
        assert store.symbols() == [UserSymbol.new("\\R", None, "both")]


def test_the_store_survives_a_restart(spec: str) -> None:
    with opened(spec) as store:
        store.ensure_symbol(R)
        sample = store.add_sample(STROKES, R.id, "taught", "sha-a")
        revision = store.revision()
    with opened(spec) as store:
        assert store.symbols() == [R]
        assert [s.id for s in store.samples()] == [sample]
        assert store.revision() == revision


def _write_samples(spec: str, symbol_id: str, count: int) -> None:
    store = open_store(spec, timeout=30)
    assert store is not None
    for _ in range(count):
        store.add_sample(STROKES, symbol_id, "taught", "sha")
    store.close()


def test_two_processes_create_and_write_one_store_at_once(spec: str) -> None:
    context = multiprocessing.get_context("fork")
    writers = [
        context.Process(target=_write_samples, args=(spec, f"latex:latex2e:s{i}", WRITES)) for i in range(2)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
    assert [writer.exitcode for writer in writers] == [0, 0]
    with opened(spec) as store:
        samples = store.samples()
        assert store.counts() == {"latex:latex2e:s0": WRITES, "latex:latex2e:s1": WRITES}
    assert len({s.id for s in samples}) == 2 * WRITES


def test_two_threads_write_one_store_at_once(spec: str) -> None:
    with opened(spec):  # created first: then both threads only write
        pass
    threads = [
        threading.Thread(target=_write_samples, args=(spec, f"latex:latex2e:t{i}", WRITES)) for i in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with opened(spec) as store:
        assert store.counts() == {"latex:latex2e:t0": WRITES, "latex:latex2e:t1": WRITES}
        # Each write bumped the revision once: none was lost to a read-modify-write race.
        assert store.revision() == 2 * WRITES


def test_one_store_object_is_safe_across_threads(tmp_path: Path) -> None:
    with opened(str(tmp_path / "s.sqlite3")) as store:
        threads = [
            threading.Thread(
                target=lambda: [
                    store.add_sample(STROKES, "latex:latex2e:alpha", "picked", "sha") for _ in range(20)
                ]
            )
            for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert store.counts() == {"latex:latex2e:alpha": 60}


def _store_with_a_sample(path: Path) -> bytes:
    """A store file holding one sample, closed and checkpointed; its bytes."""
    with opened(str(path)) as store:
        store.ensure_symbol(R)
        store.add_sample(STROKES, R.id, "taught", "sha")
    return path.read_bytes()


def test_a_corrupt_file_is_a_clear_error_and_stays_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "samples.sqlite3"
    garbage = b"these are not the drawings you are looking for\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match=r"samples\.sqlite3 .*not a readable SQLite database.*move it away"):
        open_store(str(path))
    assert path.read_bytes() == garbage


def test_a_newer_schema_is_a_clear_error_and_stays_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "samples.sqlite3"
    _store_with_a_sample(path)
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}.*newer extexify.*upgrade"):
        open_store(str(path))
    assert path.read_bytes() == before


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make `path` read-only, for root too (who ignores modes): immutable while the block runs."""
    mode = path.stat().st_mode
    path.chmod(0o444)
    immutable = os.geteuid() == 0
    if immutable:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(mode)


def test_a_read_only_file_is_a_clear_error_and_keeps_its_samples(tmp_path: Path) -> None:
    path = tmp_path / "samples.sqlite3"
    _store_with_a_sample(path)
    with read_only(path), pytest.raises(StoreError, match=r"cannot be written.*writable"):
        open_store(str(path))
    with opened(str(path)) as store:
        assert store.counts() == {R.id: 1}


def test_a_locked_file_is_a_clear_error_and_keeps_its_samples(tmp_path: Path) -> None:
    path = tmp_path / "samples.sqlite3"
    _store_with_a_sample(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked by another program"):
            open_store(str(path), timeout=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with opened(str(path)) as store:
        assert store.counts() == {R.id: 1}


def test_another_programs_database_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER)")
    connection.close()
    with pytest.raises(StoreError, match=r"something else.*invoices"):
        open_store(str(path))


def test_a_directory_or_an_empty_name_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        open_store(str(tmp_path))
    with pytest.raises(StoreError, match="empty"):
        open_store(" ")


def test_postgres_with_a_newer_schema_is_a_clear_error() -> None:
    with throwaway_database() as url:
        with opened(url):
            pass
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("UPDATE extexify_meta SET value = 99 WHERE key = 'schema_version'")
        connection.close()
        with pytest.raises(StoreError, match=r"schema version 99.*newer extexify"):
            open_store(url)


def test_a_missing_postgres_database_says_to_create_it() -> None:
    with throwaway_database() as url:
        missing = url.rsplit("/", 1)[0] + "/extexify_test_no_such_database"
        with pytest.raises(StoreError, match=r"cannot connect.*createdb"):
            open_store(missing)


def test_messages_never_show_a_password() -> None:
    assert describe_store("postgresql://me:s3cret@db.example/team") == "postgresql://me:***@db.example/team"
    assert "s3cret" not in describe_store("postgresql://db.example/team?password=s3cret")
    assert describe_store("/tmp/x.sqlite3") == "/tmp/x.sqlite3"


def test_a_store_opened_for_reading_may_be_read_only_and_is_never_created(tmp_path: Path) -> None:
    path = tmp_path / "samples.sqlite3"
    with pytest.raises(StoreError, match="no store at"):
        open_store(str(path), writable=False)
    assert not path.exists()
    _store_with_a_sample(path)
    with read_only(path):
        store = open_store(str(path), writable=False)
        assert store is not None
        assert store.counts() == {R.id: 1}
        store.close()


def test_a_postgres_database_without_a_store_is_not_changed_by_reading_it() -> None:
    with throwaway_database() as url:
        with pytest.raises(StoreError, match="holds no extexify store"):
            open_store(url, writable=False)
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'extexify%'")
            assert cursor.fetchone()[0] == 0
        connection.close()
        with opened(url) as store:
            store.add_sample(STROKES, "latex:latex2e:alpha", "picked", "sha")
        reader = open_store(url, writable=False)
        assert reader is not None
        assert reader.counts() == {"latex:latex2e:alpha": 1}
        reader.close()


def test_a_lost_postgres_connection_fails_one_call_and_reconnects() -> None:
    with throwaway_database() as url, opened(url) as store:
        store.add_sample(STROKES, "latex:latex2e:alpha", "picked", "sha")
        name = url.rsplit("/", 1)[1]
        with psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres") as admin, admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        admin.close()
        with pytest.raises(StoreError, match="failed"):
            store.counts()
        assert store.counts() == {"latex:latex2e:alpha": 1}
