"""The server's hold on the store: one per process, refreshed when another server changes it, or off."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types
from lsprotocol.converters import get_converter

from extexify_lsp.features.teach import choice_command
from extexify_lsp.personal import REFRESH_S, Personal, RecentDrawings, Stores
from extexify_lsp.protocol import RECORD_CHOICE, RequestFailedError
from extexify_lsp.store import UserSymbol

R = UserSymbol.new("\\R")
S = UserSymbol.new("\\S")


async def test_another_servers_symbols_appear_within_a_refresh_interval(tmp_path: Path) -> None:
    path = str(tmp_path / "samples.sqlite3")
    mine, theirs = Personal.open(path), Personal.open(path)
    try:
        await theirs.call(lambda store: store.ensure_symbol(R))
        await mine.refresh()
        assert list(mine.user_symbols) == [R.id]
        await theirs.call(lambda store: store.ensure_symbol(S))
        await mine.refresh()  # checked a moment ago: not again yet
        assert list(mine.user_symbols) == [R.id]
        await asyncio.sleep(REFRESH_S)
        await mine.refresh()
        assert list(mine.user_symbols) == [R.id, S.id]
        await theirs.call(lambda store: store.forget_symbol(R.id))
        await mine.refresh(force=True)
        assert list(mine.user_symbols) == [S.id]
    finally:
        mine.close()
        theirs.close()


async def test_without_a_store_requests_fail_saying_why(tmp_path: Path) -> None:
    off = Personal.open("none")
    assert not off.on and off.warning is None
    with pytest.raises(RequestFailedError, match="--store none"):
        await off.call(lambda store: store.counts())
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"junk" * 1000)
    broken = Personal.open(str(corrupt))
    assert broken.warning is not None and "personalization is off" in broken.warning
    with pytest.raises(RequestFailedError, match="not a readable SQLite database"):
        await broken.call(lambda store: store.counts())


def test_a_process_opens_each_store_once(tmp_path: Path) -> None:
    stores = Stores(str(tmp_path / "default.sqlite3"))
    try:
        assert stores.get() is stores.get(str(tmp_path / "default.sqlite3"))
        assert stores.get(str(tmp_path / "other.sqlite3")) is not stores.get()
    finally:
        stores.close()


def test_recent_drawings_keep_the_last_ones() -> None:
    drawings = RecentDrawings(size=2)
    first = drawings.remember([[[0, 0]]])
    second = drawings.remember([[[1, 1]]])
    third = drawings.remember([[[2, 2]]])
    assert len({first, second, third}) == 3
    assert drawings.get(first) is None
    assert drawings.get(second) == [[[1, 1]]] and drawings.get(third) == [[[2, 2]]]


def test_the_choice_command_is_an_lsp_command() -> None:
    command = get_converter().structure(choice_command("7", "latex:amssymb:leq"), types.Command)
    assert command.command == RECORD_CHOICE
    assert list(command.arguments or ()) == [{"drawingId": "7", "symbolId": "latex:amssymb:leq"}]
