"""Teaching, forgetting and listing the user's symbols over LSP: the real server, real store files."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from extexify_lsp.protocol import FORGET, RECORD_CHOICE, TAUGHT, TEACH
from extexify_lsp.store import SCHEMA_VERSION, UserSymbol, open_store
from tests.extexify_lsp.lsp_client import (
    ANSWER_TIMEOUT,
    LEQ,
    SERVER_COMMAND,
    RawConnection,
    listening,
    make_client,
    recognize,
)
from tests.extexify_lsp.test_store import read_only
from tests.postgres import throwaway_database

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning"),
]

CIRCLE = [[[50, 0], [85, 15], [100, 50], [85, 85], [50, 100], [15, 85], [0, 50], [15, 15], [50, 0]]]
MYCIRC = "user:\\mycirc"
LEQ_ID = "latex:amssymb:leq"
REQUEST_FAILED = types.LSPErrorCodes.RequestFailed


@asynccontextmanager
async def session(*args: str) -> AsyncIterator[LanguageClient]:
    """A VS Code-like client of a fresh server process started with `args`."""
    config = ClientServerConfig(server_command=[*SERVER_COMMAND, *args], client_factory=make_client)
    client = await config.start()
    try:
        result = await client.initialize_session(
            types.InitializeParams(capabilities=client_capabilities("visual-studio-code"))
        )
        client.server_capabilities = result.capabilities  # type: ignore[attr-defined]
        yield client
    except BaseException:
        # The server exits only when told to: a failed test must not leave the client waiting for it.
        with suppress(Exception):
            await asyncio.wait_for(client.shutdown_session(), ANSWER_TIMEOUT)
        raise
    else:
        await client.shutdown_session()
    finally:
        await client.stop()


async def send(client: LanguageClient, method: str, params: object) -> Any:
    return await asyncio.wait_for(client.protocol.send_request_async(method, params), ANSWER_TIMEOUT)


def taught_ids(answer: dict[str, Any]) -> dict[str, int]:
    return {entry["symbolId"]: entry["samples"] for entry in answer["symbols"]}


async def test_teach_list_forget_and_restart(tmp_path: Path) -> None:
    store = tmp_path / "samples.sqlite3"
    async with session("--store", str(store)) as client:
        assert (await send(client, TAUGHT, {}))["symbols"] == []
        taught = await send(client, TEACH, {"strokes": CIRCLE, "symbol": {"command": "\\mycirc"}})
        assert taught["symbolId"] == MYCIRC
        again = await send(client, TEACH, {"strokes": CIRCLE, "symbolId": MYCIRC})
        assert again == {"sampleId": taught["sampleId"] + 1, "symbolId": MYCIRC}
        # Same command and package as a symbol the model knows: a sample of that symbol, no new one.
        known = await send(
            client, TEACH, {"strokes": LEQ, "symbol": {"command": "\\leq", "package": "amssymb"}}
        )
        assert known["symbolId"] == LEQ_ID
        with_package = await send(
            client,
            TEACH,
            {"strokes": CIRCLE, "symbol": {"command": "\\R", "package": "dsfont", "mode": "both"}},
        )
        assert with_package["symbolId"] == "user:\\R@dsfont"
        listed = await send(client, TAUGHT, {})
        assert taught_ids(listed) == {MYCIRC: 2, "user:\\R@dsfont": 1, LEQ_ID: 1}
        entry = next(e for e in listed["symbols"] if e["symbolId"] == "user:\\R@dsfont")
        assert entry == {
            "symbolId": "user:\\R@dsfont",
            "command": "\\R",
            "package": "dsfont",
            "mode": "both",
            "samples": 1,
            "user": True,
        }
        assert next(e for e in listed["symbols"] if e["symbolId"] == LEQ_ID)["user"] is False
        assert await send(client, FORGET, {"sampleId": known["sampleId"]}) == {"removed": 1}
        assert await send(client, FORGET, {"sampleId": known["sampleId"]}) == {"removed": 0}
        assert await send(client, FORGET, {"symbolId": "user:\\R@dsfont"}) == {"removed": 1}
        assert taught_ids(await send(client, TAUGHT, {})) == {MYCIRC: 2}
    # What the store holds: the strokes as sent, the source, the model version.
    opened = open_store(str(store))
    assert opened is not None
    samples = opened.samples()
    opened.close()
    assert [(s.symbol_id, s.source, s.strokes) for s in samples] == [(MYCIRC, "taught", CIRCLE)] * 2
    assert len(samples[0].model_version) == 64
    async with session("--store", str(store)) as client:
        assert taught_ids(await send(client, TAUGHT, {})) == {MYCIRC: 2}
        assert await send(client, FORGET, {"symbolId": MYCIRC}) == {"removed": 2}
        assert (await send(client, TAUGHT, {}))["symbols"] == []


BAD_TEACH = [
    ({"symbol": {"command": "\\x"}}, "strokes"),
    ({"strokes": [], "symbol": {"command": "\\x"}}, "empty"),
    ({"strokes": CIRCLE}, "either"),
    ({"strokes": CIRCLE, "symbolId": LEQ_ID, "symbol": {"command": "\\x"}}, "either"),
    ({"strokes": CIRCLE, "symbolId": "latex:nope:nothing"}, "unknown symbolId"),
    ({"strokes": CIRCLE, "symbolId": "user:\\neverTaught"}, "unknown symbolId"),
    ({"strokes": CIRCLE, "symbolId": 7}, "symbolId"),
    ({"strokes": CIRCLE, "symbol": "\\x"}, "command"),
    ({"strokes": CIRCLE, "symbol": {"command": "mycirc"}}, "control sequence"),
    ({"strokes": CIRCLE, "symbol": {"command": "\\my circ"}}, "control sequence"),
    ({"strokes": CIRCLE, "symbol": {"command": "\\x1"}}, "control sequence"),
    ({"strokes": CIRCLE, "symbol": {"command": "\\" + "a" * 100}}, "control sequence"),
    ({"strokes": CIRCLE, "symbol": {"command": "\\x", "package": "my package"}}, "package"),
    ({"strokes": CIRCLE, "symbol": {"command": "\\x", "package": 3}}, "package"),
    ({"strokes": CIRCLE, "symbol": {"command": "\\x", "mode": "display"}}, "mode"),
]
BAD_FORGET = [
    ({}, "either"),
    ({"sampleId": 1, "symbolId": LEQ_ID}, "either"),
    ({"sampleId": "1"}, "positive integer"),
    ({"sampleId": 0}, "positive integer"),
    ({"sampleId": True}, "positive integer"),
    ({"symbolId": "latex:nope:nothing"}, "unknown symbolId"),
    ({"symbolId": "user:\\neverTaught"}, "unknown symbolId"),
]


async def test_a_taught_symbols_item_gets_its_documentation_on_resolve(tmp_path: Path) -> None:
    async with session("--store", str(tmp_path / "samples.sqlite3")) as client:
        await send(client, TEACH, {"strokes": CIRCLE, "symbol": {"command": "\\mycirc", "package": "mypkg"}})
        items = (await recognize(client, {"strokes": CIRCLE, "limit": 5})).items
        mine = next(item for item in items if item.data["symbolId"] == "user:\\mycirc@mypkg")
        documentation = (await client.completion_item_resolve_async(mine)).documentation
        assert isinstance(documentation, types.MarkupContent)
        assert "\\mycirc" in documentation.value and "mypkg" in documentation.value
        with pytest.raises(JsonRpcInvalidParams, match="no known symbol"):
            unknown = types.CompletionItem("x", data={"symbolId": "user:\\no"})
            await client.completion_item_resolve_async(unknown)


async def test_bad_params_are_invalid_params_and_store_nothing(tmp_path: Path) -> None:
    store = tmp_path / "samples.sqlite3"
    async with session("--store", str(store)) as client:
        for method, cases in ((TEACH, BAD_TEACH), (FORGET, BAD_FORGET)):
            for params, says in cases:
                with pytest.raises(JsonRpcInvalidParams) as error:
                    await send(client, method, params)
                assert says in error.value.message, (method, params)
        with pytest.raises(JsonRpcInvalidParams, match="drawing"):
            await client.workspace_execute_command_async(
                types.ExecuteCommandParams(RECORD_CHOICE, [{"drawingId": "999", "symbolId": LEQ_ID}])
            )
        for arguments in ([], [{"symbolId": LEQ_ID}], [{"drawingId": "1", "symbolId": LEQ_ID}, {}]):
            with pytest.raises(JsonRpcInvalidParams):
                await client.workspace_execute_command_async(
                    types.ExecuteCommandParams(RECORD_CHOICE, arguments)
                )
        assert (await send(client, TAUGHT, {}))["symbols"] == []
        # Still serving.
        assert (await recognize(client, {"strokes": LEQ})).items


async def test_record_choice_is_declared_and_stores_a_picked_sample(tmp_path: Path) -> None:
    store = tmp_path / "samples.sqlite3"
    async with session("--store", str(store)) as client:
        provider = client.server_capabilities.execute_command_provider  # type: ignore[attr-defined]
        assert provider is not None and RECORD_CHOICE in provider.commands
        result = await recognize(client, {"strokes": LEQ, "limit": 3})
        item = result.items[0]
        assert item.command is not None and item.command.command == RECORD_CHOICE
        (argument,) = item.command.arguments or []
        assert argument["symbolId"] == item.data["symbolId"]
        for alternative in item.data["alternatives"]:
            assert alternative["command"]["command"] == RECORD_CHOICE
            assert alternative["command"]["arguments"][0]["drawingId"] == argument["drawingId"]
        answer = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(item.command.command, item.command.arguments)
        )
        assert answer["symbolId"] == item.data["symbolId"]
        opened = open_store(str(store))
        assert opened is not None
        (sample,) = opened.samples()
        opened.close()
        assert (sample.id, sample.source, sample.strokes) == (answer["sampleId"], "picked", LEQ)


async def _messages_after_initialize(connection: RawConnection, options: dict[str, Any] | None) -> list[dict]:
    """Initialize; the window/showMessage notifications that arrive until a recognizeStrokes answer."""
    await connection.send_message(
        {
            "jsonrpc": "2.0",
            "id": "init",
            "method": "initialize",
            "params": {
                "processId": None,
                "rootUri": None,
                "capabilities": {},
                "initializationOptions": options,
            },
        }
    )
    await connection.answer("init")
    await connection.send_message({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    await connection.send_message(
        {"jsonrpc": "2.0", "id": "r", "method": "extexify/recognizeStrokes", "params": {"strokes": LEQ}}
    )
    shown = []
    while True:
        message = await asyncio.wait_for(connection.receive(), 30)
        assert message is not None
        if message.get("method") == "window/showMessage":
            shown.append(message["params"])
        if message.get("id") == "r":
            assert message["result"]["items"], "recognition works without personalization"
            return shown


def _store_file(path: Path) -> Path:
    opened = open_store(str(path))
    assert opened is not None
    opened.ensure_symbol(UserSymbol.new("\\mycirc"))
    opened.add_sample(CIRCLE, MYCIRC, "taught", "sha")
    opened.close()
    return path


async def test_broken_stores_warn_and_the_server_still_recognizes(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"not a database\n" * 500)
    newer = _store_file(tmp_path / "newer.sqlite3")
    with sqlite3.connect(newer) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    locked = _store_file(tmp_path / "read-only.sqlite3")
    before = {path: path.read_bytes() for path in (corrupt, newer, locked)}
    cases = [
        (None, "not a readable SQLite database"),  # the command line's store
        ({"store": str(newer)}, "newer extexify"),
        ({"store": str(locked)}, "cannot be written"),
    ]
    with read_only(locked):
        async with listening("--tcp", "0", "--store", str(corrupt), "--allow-client-store") as (port, _):
            for options, says in cases:
                connection = await RawConnection.tcp(port)
                shown = await _messages_after_initialize(connection, options)
                assert len(shown) == 1 and shown[0]["type"] == types.MessageType.Warning
                assert "personalization is off" in shown[0]["message"] and says in shown[0]["message"]
                for method, params in ((TEACH, {"strokes": CIRCLE, "symbolId": MYCIRC}), (TAUGHT, {})):
                    error = (await connection.request("t", method, params))["error"]
                    assert error["code"] == REQUEST_FAILED
                    assert "personalization is off" in error["message"] and says in error["message"]
                await connection.close()
            connection = await RawConnection.tcp(port)
            assert await _messages_after_initialize(connection, {"store": "none"}) == []
            error = (await connection.request("t", TAUGHT, {}))["error"]
            assert error["code"] == REQUEST_FAILED and "--store none" in error["message"]
            await connection.close()
    assert {path: path.read_bytes() for path in before} == before


async def test_over_tcp_a_client_names_its_store_only_when_the_server_allows_it(tmp_path: Path) -> None:
    named = tmp_path / "named" / "samples.sqlite3"
    async with listening("--tcp", "0", "--store", "none") as (port, _):
        connection = await RawConnection.tcp(port)
        shown = await _messages_after_initialize(connection, {"store": str(named)})
        assert [m["type"] for m in shown] == [types.MessageType.Warning]
        assert "--allow-client-store" in shown[0]["message"]
        error = (await connection.request("t", TAUGHT, {}))["error"]
        assert error["code"] == REQUEST_FAILED and "--store none" in error["message"]
        await connection.close()
    assert not named.parent.exists()
    async with listening("--tcp", "0", "--store", "none", "--allow-client-store") as (port, _):
        connection = await RawConnection.tcp(port)
        assert await _messages_after_initialize(connection, {"store": str(named)}) == []
        assert (await connection.request("t", TAUGHT, {}))["result"] == {"symbols": []}
        await connection.close()
    assert named.is_file()


async def test_two_servers_share_a_postgres_store() -> None:
    with throwaway_database() as url:
        async with session("--store", url) as first, session("--store", url) as second:
            taught = await send(first, TEACH, {"strokes": CIRCLE, "symbol": {"command": "\\mycirc"}})
            assert taught_ids(await send(second, TAUGHT, {})) == {MYCIRC: 1}
            assert await send(second, TEACH, {"strokes": CIRCLE, "symbolId": MYCIRC}) == {
                "sampleId": taught["sampleId"] + 1,
                "symbolId": MYCIRC,
            }
            assert await send(first, FORGET, {"symbolId": MYCIRC}) == {"removed": 2}
            assert (await send(second, TAUGHT, {}))["symbols"] == []
