"""`extexify-lsp --stdio`, `--tcp` and `--ws` (with its Origin check) and start-up errors, for real."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest
import torch
from lsprotocol import types
from pytest_lsp import LanguageClient
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from extexify_lsp.jsonrpc import MAX_MESSAGE_BYTES
from extexify_lsp.protocol import RECOGNIZE_STROKES
from extexify_lsp.transport import LINE_LIMIT, FileReader
from tests.extexify_lsp.lsp_client import (
    CONVERTER,
    LEQ,
    SERVER_COMMAND,
    START_TIMEOUT,
    listening,
    make_client,
)


async def initialize_and_recognize(client: LanguageClient) -> None:
    await client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
    raw = await client.protocol.send_request_async(RECOGNIZE_STROKES, {"strokes": LEQ, "limit": 3})
    assert len(CONVERTER.structure(raw, types.CompletionList).items) == 3
    await client.shutdown_session()


async def test_tcp_serves_a_client_and_prints_nothing_on_stdout() -> None:
    async with listening("--tcp", "0") as (port, printed):
        client = make_client()
        await client.start_tcp("127.0.0.1", port)
        await initialize_and_recognize(client)
        await client.stop()
    assert printed() == b""


async def test_stdio_flag_that_clients_pass_serves_on_stdio() -> None:
    client = make_client()
    await client.start_io(*SERVER_COMMAND, "--stdio")
    await initialize_and_recognize(client)
    await client.stop()


async def test_ws_serves_a_client_that_sends_no_origin() -> None:
    async with listening("--ws", "127.0.0.1:0") as (port, printed):
        client = make_client()
        await client.start_ws("127.0.0.1", port)
        await initialize_and_recognize(client)
        await client.stop()
    assert printed() == b""


async def exchange(port: int, origin: str) -> dict:
    """Initialize and recognize over a raw WebSocket as a page at `origin`; return the recognize result."""
    async with connect(f"ws://127.0.0.1:{port}", origin=origin) as websocket:

        async def request(msg_id: int, method: str, params: object) -> dict:
            await websocket.send(
                json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
            )
            while (message := json.loads(await websocket.recv())).get("id") != msg_id:
                pass  # window/logMessage and other notifications
            return message

        await request(1, "initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        await websocket.send(json.dumps({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        return await request(2, RECOGNIZE_STROKES, {"strokes": LEQ, "limit": 2})


LOCAL_PAGES = ["http://localhost:5173", "http://127.0.0.1:8000", "http://localhost"]
FOREIGN_PAGES = ["https://evil.example", "http://localhost.evil.example", "https://localhost:5173", "null"]


async def test_ws_serves_local_pages_and_refuses_foreign_ones() -> None:
    async with listening("--ws", "0") as (port, _):
        for origin in FOREIGN_PAGES:
            with pytest.raises(InvalidStatus) as refused:
                await exchange(port, origin)
            assert refused.value.response.status_code == 403, origin
        # Refusals hurt no one else: local pages still get answers.
        for origin in LOCAL_PAGES:
            assert len((await exchange(port, origin))["result"]["items"]) == 2, origin


async def test_allow_origin_replaces_the_default_origins() -> None:
    async with listening("--ws", "0", "--allow-origin", "https://pad.example") as (port, _):
        assert len((await exchange(port, "https://pad.example"))["result"]["items"]) == 2
        with pytest.raises(InvalidStatus):
            await exchange(port, "http://localhost:5173")


async def test_ws_log_messages_go_to_their_own_connection_alone() -> None:
    """Each WebSocket connection's `initialized` logs that it is ready, to that page alone."""

    async def messages_until(websocket: ClientConnection, msg_id: int) -> list[dict]:
        messages = [json.loads(await asyncio.wait_for(websocket.recv(), START_TIMEOUT))]
        while messages[-1].get("id") != msg_id:
            messages.append(json.loads(await asyncio.wait_for(websocket.recv(), START_TIMEOUT)))
        return messages

    async def ready_messages(websocket: ClientConnection, msg_id: int) -> list[dict]:
        """After a recognize request `msg_id`: the log messages sent until its answer."""
        request = {"jsonrpc": "2.0", "id": msg_id, "method": RECOGNIZE_STROKES, "params": {"strokes": LEQ}}
        await websocket.send(json.dumps(request))
        return [m for m in await messages_until(websocket, msg_id) if m.get("method") == "window/logMessage"]

    initialize = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"capabilities": {}}}
    initialized = json.dumps({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    async with (
        listening("--ws", "0") as (port, _),
        connect(f"ws://127.0.0.1:{port}") as first,
        connect(f"ws://127.0.0.1:{port}") as second,
    ):
        for websocket, msg_id in ((first, 1), (second, 2)):
            await websocket.send(json.dumps(initialize))
            await messages_until(websocket, 0)
            await websocket.send(initialized)
            assert len(await ready_messages(websocket, msg_id)) == 1
        assert await ready_messages(first, 3) == []


async def run_cli(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *SERVER_COMMAND, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
    assert out == b""
    return process.returncode, err.decode()


async def test_a_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    code, err = await run_cli("--model", str(tmp_path / "nowhere"))
    assert code != 0
    assert f"no model metadata at {tmp_path / 'nowhere'}" in err
    assert "Traceback" not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
async def test_cuda_without_a_gpu_is_a_clear_error() -> None:
    code, err = await run_cli("--device", "cuda")
    assert code != 0
    assert "no CUDA device is available: use --device cpu or auto" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tcp", "localhost:http"], "is not HOST:PORT or PORT"),
        (["--ws", "70000"], "outside 0..65535"),
        (["--allow-origin", "https://pad.example"], "--allow-origin only applies to --ws"),
        (["--tcp", "1", "--ws", "2"], "not allowed with argument"),
        (["--stdio", "--tcp", "1"], "not allowed with argument"),
    ],
)
async def test_bad_arguments_are_clear_errors(args: list[str], message: str) -> None:
    code, err = await run_cli(*args)
    assert code == 2 and message in err


@pytest.mark.parametrize("flag", ["--tcp", "--ws"])
async def test_a_port_in_use_is_a_one_line_error(flag: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = await run_cli(flag, str(port))
    scheme = flag.removeprefix("--")
    assert code == 1
    assert (
        err.splitlines()[-1]
        == f"extexify-lsp: cannot listen on {scheme}://127.0.0.1:{port}: Address already in use"
    )
    assert "Traceback" not in err


async def test_ws_exit_or_an_oversized_message_closes_only_that_connection() -> None:
    async with listening("--ws", "0") as (port, _):
        async with connect(f"ws://127.0.0.1:{port}") as websocket:
            await websocket.send(json.dumps({"jsonrpc": "2.0", "method": "exit"}))
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(websocket.recv(), START_TIMEOUT)
        async with connect(f"ws://127.0.0.1:{port}", max_size=None) as websocket:
            with pytest.raises(ConnectionClosed) as closed:
                await websocket.send(b" " * (MAX_MESSAGE_BYTES + 1))
                await asyncio.wait_for(websocket.recv(), START_TIMEOUT)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big
        assert len((await exchange(port, "http://localhost"))["result"]["items"]) == 2


async def test_stdin_from_a_file_skips_a_line_too_long_without_holding_it(tmp_path: Path) -> None:
    path = tmp_path / "stdin"
    path.write_bytes(
        b"X-Long: " + b"x" * (3 * LINE_LIMIT) + b"\r\nContent-Length: 2\r\n\r\n{}" + b"0" * LINE_LIMIT
    )
    with path.open("rb") as stdin:
        reader = FileReader(stdin)
        with pytest.raises(ValueError, match="longer than"):
            await reader.readline()
        assert await reader.readline() == b"Content-Length: 2\r\n"
        assert await reader.readline() == b"\r\n"
        assert await reader.readexactly(2) == b"{}"
        with pytest.raises(ValueError):  # an endless line ends with the file
            await reader.readline()
        assert await reader.readline() == b""
