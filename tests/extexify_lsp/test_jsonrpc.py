"""Every request with an id gets an answer, whatever its bytes: JSON-RPC errors from a real server process.

Over TCP, where one server process gives each connection a server of its own; the stdio framing, exit
codes and signals get processes of their own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from lsprotocol.converters import get_converter
from pygls.lsp.server import LanguageServer

from extexify_lsp.jsonrpc import MAX_MESSAGE_BYTES, ExtexifyProtocol, decode
from extexify_lsp.protocol import RECOGNIZE_STROKES
from tests.extexify_lsp.lsp_client import (
    LEQ,
    SERVER_COMMAND,
    START_TIMEOUT,
    RawConnection,
    frame,
    listening,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR, SERVER_NOT_INITIALIZED = (
    -32700,
    -32600,
    -32601,
    -32602,
    -32603,
    -32002,
)
GOOD_PARAMS = {"strokes": LEQ, "limit": 3}
DEEP = "[" * 5000 + "]" * 5000
HUGE = "1" * 5000


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def port() -> AsyncIterator[int]:
    """One TCP server process for the module; it must still be running at the end."""
    async with listening("--tcp", "0") as (port, _):
        yield port


@pytest_asyncio.fixture(loop_scope="module")
async def connection(port: int) -> AsyncIterator[RawConnection]:
    """An initialized connection, which still recognizes correctly once its test is done."""
    connection = await RawConnection.tcp(port)
    await connection.initialize()
    yield connection
    await assert_recognizes(connection, "still-there")
    await connection.close()


async def assert_recognizes(connection: RawConnection, msg_id: object) -> None:
    answer = await connection.request(msg_id, RECOGNIZE_STROKES, GOOD_PARAMS)
    assert len(answer["result"]["items"]) == 3


def body(msg_id: int | str, params: str = json.dumps(GOOD_PARAMS), method: str = RECOGNIZE_STROKES) -> bytes:
    """A request written by hand: `msg_id` and `params` are JSON text, put in as they are."""
    return f'{{"jsonrpc": "2.0", "id": {msg_id}, "method": "{method}", "params": {params}}}'.encode()


OMIT = object()


def message(**members: object) -> bytes:
    """A recognizeStrokes request with `members` replaced (or left out, given OMIT)."""
    base = {"jsonrpc": "2.0", "method": RECOGNIZE_STROKES, "params": GOOD_PARAMS}
    return json.dumps({k: v for k, v in (base | members).items() if v is not OMIT}).encode()


HOVER = "textDocument/hover"
# (message, the id and error code of its answer)
ANSWERED_WITH_ERRORS = {
    "a number of 5,000 digits": (body(1, f'{{"strokes": [[[{HUGE}, 0]]]}}'), 1, PARSE_ERROR),
    "an id of 5,000 digits": (body(HUGE), None, PARSE_ERROR),
    "params nested 5,000 deep": (body(2, f'{{"strokes": {DEEP}}}'), 2, PARSE_ERROR),
    "the id after deep params": (
        f'{{"jsonrpc": "2.0", "method": "x", "params": {{"a": [{DEEP}, "]"]}}, "id": "late"}}'.encode(),
        "late",
        PARSE_ERROR,
    ),
    "JSON cut short": (body(3)[:-10], 3, PARSE_ERROR),
    "not JSON": (b"Content-Length: 5", None, PARSE_ERROR),
    "not UTF-8": (b'{"id": 4, "\xff\xfe": 1', 4, PARSE_ERROR),
    "no params": (message(id=5, params=OMIT), 5, INVALID_PARAMS),
    "no params for an LSP request": (message(id=6, method=HOVER, params=OMIT), 6, INVALID_PARAMS),
    "LSP params of the wrong shape": (message(id=7, method=HOVER, params={"position": 3}), 7, INVALID_PARAMS),
    "params that are a string": (message(id=8, params="strokes"), 8, INVALID_PARAMS),
    "no jsonrpc": (message(id=9, jsonrpc=OMIT), 9, INVALID_REQUEST),
    "jsonrpc 1.0": (message(id=10, jsonrpc="1.0"), 10, INVALID_REQUEST),
    "no method": (message(id=11, method=OMIT, params=OMIT), 11, INVALID_REQUEST),
    "a method that is a number": (message(id=12, method=12), 12, INVALID_REQUEST),
    "an unknown method": (message(id=13, method="no/such"), 13, METHOD_NOT_FOUND),
    "an id for a notification": (message(id=14, method="initialized", params={}), 14, INVALID_REQUEST),
    "a batch": (b"[" + message(id=15) + b"]", None, INVALID_REQUEST),
    "an empty batch": (b"[]", None, INVALID_REQUEST),
    "a JSON string": (b'"hello"', None, INVALID_REQUEST),
    "an id that is an object": (message(id={"a": 1}), None, INVALID_REQUEST),
    "an id that is an array": (message(id=[16]), None, INVALID_REQUEST),
    "an id that is a boolean": (message(id=True), None, INVALID_REQUEST),
    "an id that is a fraction": (message(id=1.5), None, INVALID_REQUEST),
    "an id that is null": (message(id=None), None, INVALID_REQUEST),
}


@pytest.mark.parametrize("case", ANSWERED_WITH_ERRORS)
async def test_a_bad_request_gets_the_json_rpc_error_that_says_why(
    connection: RawConnection, case: str
) -> None:
    sent, msg_id, code = ANSWERED_WITH_ERRORS[case]
    await connection.send(frame(sent))
    answer = await connection.answer(msg_id)
    assert answer["jsonrpc"] == "2.0"
    assert answer["error"]["code"] == code, answer
    assert "data" not in answer["error"]


@pytest.mark.parametrize(
    "text",
    [
        '{"id": 18446744073709551616, "n": -18446744073709551617}',  # past 64 bits: not floats
        '{"id": -9223372036854775808, "x": [0.30000000000000004, 152.99999713897705, -0.0, 1e-320]}',
        "[1e400, -1e400]",
        '{"a": NaN, "b": -Infinity}',
        '\ufeff{"a": 1}',
        '"\\ud800"',
        '{"a": 1, "a": 2}',
        '{"é": "\\u00e9"}',
    ],
)
async def test_bodies_decode_as_json_decodes_them(text: str) -> None:
    body = text.encode()
    assert repr(decode(body)) == repr(json.loads(body))


async def test_params_holding_a_message_are_plain_params(connection: RawConnection) -> None:
    """pygls' object hook turned any nested object with a "jsonrpc" key into a message."""
    params = GOOD_PARAMS | {
        "note": {"jsonrpc": "2.0", "method": "exit"},
        "more": [{"jsonrpc": "2.0", "id": 1}],
    }
    answer = await connection.request(20, RECOGNIZE_STROKES, params)
    assert len(answer["result"]["items"]) == 3


async def test_ids_of_any_integer_or_string_are_answered(connection: RawConnection) -> None:
    for msg_id in (0, -1, 2**80, "", "x" * 10_000, 'é " \\ \n'):
        await assert_recognizes(connection, msg_id)


async def test_bad_notifications_are_never_answered(connection: RawConnection) -> None:
    notifications = [
        {"jsonrpc": "2.0", "method": "textDocument/didOpen"},
        {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": 5}},
        {"jsonrpc": "1.0", "method": "initialized", "params": {}},
        {"method": "initialized"},
        {"jsonrpc": "2.0", "method": 5},
        {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": {"a": 1}}},
        {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": "nothing-pending"}},
        {"jsonrpc": "2.0", "method": "no/such"},
        {"jsonrpc": "2.0", "result": 1},  # a response without an id: a response gets no response
        {"jsonrpc": "2.0", "id": "never-asked", "result": 1},
        {"jsonrpc": "2.0", "id": {"a": 1}, "error": {"code": 1, "message": "x"}},
    ]
    for notification in notifications:
        await connection.send_message(notification)
    await assert_recognizes(connection, "after-notifications")  # the first answer sent


async def test_initialize_with_a_malformed_root_uri_is_invalid_params(port: int) -> None:
    connection = await RawConnection.tcp(port)
    for msg_id, params in enumerate(
        [
            {"processId": None, "rootUri": "file://[::1/x", "capabilities": {}},
            {"processId": None, "capabilities": {}, "workspaceFolders": [{"uri": "http://[x", "name": "x"}]},
        ]
    ):
        answer = await connection.request(msg_id, "initialize", params)
        assert answer["error"]["code"] == INVALID_PARAMS
        assert "is not a URI: Invalid IPv6 URL" in answer["error"]["message"]
    await connection.initialize()
    await assert_recognizes(connection, "then")
    await connection.close()


DOCUMENT_URI = "file:///extexify-test/before-initialize.tex"


async def assert_not_initialized(connection: RawConnection) -> None:
    """Requests are ServerNotInitialized and notifications dropped (the document is never opened)."""
    document = {"uri": DOCUMENT_URI, "languageId": "latex", "version": 1, "text": "$x$"}
    await connection.send_message(
        {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": document}}
    )
    hover = {"textDocument": {"uri": DOCUMENT_URI}, "position": {"line": 0, "character": 1}}
    for msg_id, (method, params) in enumerate([(RECOGNIZE_STROKES, GOOD_PARAMS), (HOVER, hover)]):
        answer = await connection.request(f"early-{msg_id}", method, params)
        assert answer["error"]["code"] == SERVER_NOT_INITIALIZED, answer
        assert "before initialize" in answer["error"]["message"]
    await connection.initialize()
    answer = await connection.request("after", HOVER, hover)
    assert answer["error"]["code"] == INVALID_PARAMS and "not open" in answer["error"]["message"], answer
    await assert_recognizes(connection, "then")


async def test_requests_before_initialize_are_server_not_initialized(port: int) -> None:
    connection = await RawConnection.tcp(port)
    await assert_not_initialized(connection)
    await connection.close()


async def test_requests_after_a_failed_initialize_are_server_not_initialized(port: int) -> None:
    connection = await RawConnection.tcp(port)
    params = {"processId": None, "rootUri": "file://[::1/x", "capabilities": {}}
    assert (await connection.request("bad", "initialize", params))["error"]["code"] == INVALID_PARAMS
    await assert_not_initialized(connection)
    await connection.close()


LOG_MESSAGE = "window/logMessage"


async def messages_until(connection: RawConnection, msg_id: object) -> list[dict]:
    """Every message the server sends, notifications included, up to and including the answer to `msg_id`."""
    messages: list[dict] = []
    while not messages or messages[-1].get("id") != msg_id or "method" in messages[-1]:
        message = await asyncio.wait_for(connection.receive(), START_TIMEOUT)
        assert message is not None, f"the server closed the stream before answering {msg_id!r}"
        messages.append(message)
    return messages


async def log_messages_until(connection: RawConnection, msg_id: str) -> list[str]:
    """Send a good request `msg_id`; the window/logMessage texts the server sends until its answer."""
    await connection.send(frame(body(json.dumps(msg_id))))
    return [
        m["params"]["message"]
        for m in await messages_until(connection, msg_id)
        if m.get("method") == LOG_MESSAGE
    ]


async def test_refused_input_is_not_logged_back_to_the_client(connection: RawConnection) -> None:
    """A flood of bad messages gets its answers and nothing more: no window/logMessage per message."""
    await log_messages_until(connection, "settled")  # what the server said on `initialized` is read
    for msg_id in range(100):
        await connection.send(frame(message(id=msg_id, params={"strokes": "x"})))
        await connection.send(frame(message(params=OMIT)))  # a bad notification
        await connection.send(b"not a header\r\n")
    await connection.send(frame(body(json.dumps("last"))))
    messages = await messages_until(connection, "last")
    assert [m for m in messages if m.get("method") == LOG_MESSAGE] == []
    assert [m["error"]["code"] for m in messages[:-1]] == [INVALID_PARAMS] * 100


async def test_a_connections_log_messages_go_to_its_client_alone(port: int) -> None:
    """Each connection's `initialized` logs that it is ready: to its own client, not to the others."""
    first, second = await RawConnection.tcp(port), await RawConnection.tcp(port)
    await first.initialize()
    assert any(" ready: " in text for text in await log_messages_until(first, "first"))
    await second.initialize()
    assert any(" ready: " in text for text in await log_messages_until(second, "second"))
    assert await log_messages_until(first, "first again") == []
    await first.close()
    await second.close()


async def test_a_request_after_shutdown_is_an_invalid_request_and_exit_closes_only_that_connection(
    port: int,
) -> None:
    connection = await RawConnection.tcp(port)
    await connection.initialize()
    assert (await connection.request(1, "shutdown", None))["result"] is None
    answer = await connection.request(2, RECOGNIZE_STROKES, GOOD_PARAMS)
    assert answer["error"]["code"] == INVALID_REQUEST
    assert "shutting down" in answer["error"]["message"]
    await connection.send_message({"jsonrpc": "2.0", "method": "exit"})
    assert await asyncio.wait_for(connection.receive(), START_TIMEOUT) is None  # closed
    await connection.close()

    another = await RawConnection.tcp(port)  # the server serves on
    await another.initialize()
    await assert_recognizes(another, 1)
    await another.close()


async def test_long_header_lines_and_bodies_without_a_length_are_skipped(connection: RawConnection) -> None:
    await connection.send(b"X-Long: " + b"x" * 100_000 + b"\r\n" + frame(body(30)))
    assert len((await connection.answer(30))["result"]["items"]) == 3
    # A 100 KB body with no Content-Length reads as header lines: skipped, and framing resumes.
    await connection.send(b"Content-Type: text/plain\r\n\r\n" + b"x" * 100_000 + b"\r\n\r\n")
    await connection.send(frame(body(31)))
    assert len((await connection.answer(31))["result"]["items"]) == 3


async def test_a_large_valid_message_is_answered(connection: RawConnection) -> None:
    """Past asyncio's 64 KiB line limit: bodies are read by their length."""
    long_stroke = [[[i % 90 + 0.123456789, (i * 7) % 90 + 0.123456789] for i in range(5_000)]]
    params = {"strokes": long_stroke, "limit": 3}
    assert len(json.dumps(params)) > 100_000
    answer = await connection.request(32, RECOGNIZE_STROKES, params)
    assert len(answer["result"]["items"]) == 3


async def test_a_connection_that_cannot_be_framed_closes_alone(port: int) -> None:
    for fault in (b"Content-Length: %d\r\n\r\n" % (MAX_MESSAGE_BYTES + 1), b"Content-Length: -5\r\n\r\n"):
        connection = await RawConnection.tcp(port)
        await connection.send(fault)
        assert await asyncio.wait_for(connection.receive(), START_TIMEOUT) is None
        await connection.close()
    another = await RawConnection.tcp(port)
    await another.initialize()
    await assert_recognizes(another, 1)
    await another.close()


async def stdio_server() -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *SERVER_COMMAND,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def stdio_connection(process: asyncio.subprocess.Process) -> RawConnection:
    assert process.stdout is not None and process.stdin is not None
    connection = RawConnection(process.stdout, process.stdin)
    await asyncio.wait_for(connection.initialize(), START_TIMEOUT)
    return connection


async def finish(process: asyncio.subprocess.Process) -> tuple[int, str]:
    assert process.stderr is not None
    log = await asyncio.wait_for(process.stderr.read(), START_TIMEOUT)
    return await process.wait(), log.decode()


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (
            b"Content-Length: %d\r\n\r\n" % (MAX_MESSAGE_BYTES + 1),
            "Content-Length 67108865 is over the 64 MiB limit",
        ),
        (b"Content-Length: 1e3\r\n\r\n", "Content-Length b'1e3' is not a byte count"),
        (b"Content-Length: 100\r\n\r\n{}", "the stream ended 2 bytes into a body of Content-Length 100"),
        (b"Content-Length: 100\r\n", "the stream ended inside a message's headers"),
    ],
)
async def test_stdio_stops_with_a_logged_reason_when_it_cannot_frame(fault: bytes, reason: str) -> None:
    process = await stdio_server()
    connection = await stdio_connection(process)
    await assert_recognizes(connection, 1)  # a long header line is not such a fault:
    await connection.send(b"X-Long: " + b"x" * 100_000 + b"\r\n" + frame(body(2)))
    assert len((await connection.answer(2))["result"]["items"]) == 3
    await connection.send(fault)
    connection.writer.close()
    code, log = await finish(process)
    assert code == 1
    assert f"stopping: cannot read the next message from stdin: {reason}" in log
    assert "Traceback" not in log


@pytest.mark.parametrize("shut_down", [True, False])
async def test_stdio_exit_code_says_whether_shutdown_came_first(shut_down: bool) -> None:
    process = await stdio_server()
    connection = await stdio_connection(process)
    if shut_down:
        await connection.request(1, "shutdown", None)
    await connection.send_message({"jsonrpc": "2.0", "method": "exit"})
    code, log = await finish(process)
    assert code == (0 if shut_down else 1)
    assert "Traceback" not in log


@pytest.mark.parametrize("transport", [[], ["--tcp", "0"]])
async def test_sigterm_shuts_down_cleanly(transport: list[str]) -> None:
    process = await stdio_server() if not transport else None
    if process is None:
        process = await asyncio.create_subprocess_exec(
            *SERVER_COMMAND, *transport, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        assert process.stderr is not None
        while b"listening on" not in await asyncio.wait_for(process.stderr.readline(), START_TIMEOUT):
            pass
    else:
        await assert_recognizes(await stdio_connection(process), 1)
    process.send_signal(signal.SIGTERM)
    code, log = await finish(process)
    assert code == 0
    assert "SIGTERM received: shutting down" in log
    assert "Traceback" not in log


async def test_an_internal_error_carries_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """Our own bug, answered with a message only; the traceback (with file paths) goes to the log."""
    server = LanguageServer("test", "1", protocol_cls=ExtexifyProtocol, converter_factory=get_converter)

    @server.feature("test/fail")
    def fail(ls: LanguageServer, params: object) -> None:
        raise ZeroDivisionError("division by zero")

    sent: list[bytes] = []
    server.protocol.set_writer(type("Writer", (), {"write": lambda self, data: sent.append(data)})())
    initialize = {"processId": None, "rootUri": None, "capabilities": {}}
    server.protocol.handle_body(body(0, json.dumps(initialize), method="initialize"))  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR):
        server.protocol.handle_body(body(1, "{}", method="test/fail"))  # type: ignore[attr-defined]
    answer = json.loads(sent[-1].partition(b"\r\n\r\n")[2])
    assert answer["error"] == {"code": INTERNAL_ERROR, "message": "ZeroDivisionError: division by zero"}
    assert "Traceback" in caplog.text and "ZeroDivisionError" in caplog.text
