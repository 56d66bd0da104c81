"""How the tests start `extexify-lsp` and talk to it: the client, documents, cursors, requests."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

from lsprotocol import types
from lsprotocol.converters import get_converter
from pytest_lsp import LanguageClient
from pytest_lsp.client import register_lsp_features

from extexify_lsp.protocol import RECOGNIZE_STROKES

# EXTEXIFY_TEST_MODEL runs the suite against another artifact; by default the shipped model is used.
MODEL_ARGS = ["--model", os.environ["EXTEXIFY_TEST_MODEL"]] if "EXTEXIFY_TEST_MODEL" in os.environ else []
SERVER_COMMAND = [sys.executable, "-m", "extexify_lsp", *MODEL_ARGS]
CONVERTER = get_converter()
# \leq, drawn: a wedge and a bar.
LEQ = [[[0, 0], [90, 45], [0, 90]], [[0, 120], [90, 120]]]

_uris = itertools.count()


def make_client() -> LanguageClient:
    """pytest-lsp's test client, keeping custom methods' results as plain JSON rather than namedtuples."""
    client = LanguageClient(converter_factory=get_converter)
    register_lsp_features(client)
    return client


def open_document(client: LanguageClient, text: str, suffix: str = ".tex") -> str:
    """Open `text` as a new document (never on disk) and return its URI."""
    uri = f"file:///extexify-test/doc{next(_uris)}{suffix}"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="latex", version=1, text=text)
        )
    )
    return uri


def cursor(text: str, marker: str = "|") -> tuple[str, types.Position]:
    """`text` without its `|` marker, and the marker's position."""
    offset = text.index(marker)
    before = text[:offset]
    position = types.Position(line=before.count("\n"), character=offset - (before.rfind("\n") + 1))
    return before + text[offset + len(marker) :], position


async def recognize(client: LanguageClient, params: object) -> types.CompletionList:
    """Send `extexify/recognizeStrokes`; check the JSON result is an LSP CompletionList and return it."""
    raw = await client.protocol.send_request_async(RECOGNIZE_STROKES, params)
    assert raw["isIncomplete"] is False
    return CONVERTER.structure(raw, types.CompletionList)


def at(position: types.Position) -> dict[str, int]:
    return {"line": position.line, "character": position.character}


START_TIMEOUT = 60  # seconds; torch's import alone takes a while on a busy machine
ANSWER_TIMEOUT = 30


@asynccontextmanager
async def listening(*args: str) -> AsyncIterator[tuple[int, Callable[[], bytes]]]:
    """Run the server with `args`; yield its port (read from its log) and a reader of what it printed
    on stdout, which must stay empty: logs go to stderr."""
    process = await asyncio.create_subprocess_exec(
        *SERVER_COMMAND, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    stdout: list[bytes] = []
    try:
        port = None
        while port is None:
            line = await asyncio.wait_for(process.stderr.readline(), START_TIMEOUT)
            assert line, f"the server exited before listening (code {await process.wait()})"
            if match := re.search(rb"listening on \w+://127\.0\.0\.1:(\d+)", line):
                port = int(match[1])
        # Keep reading its log so that the server never blocks on a full stderr pipe.
        drain = asyncio.create_task(process.stderr.read())
        yield port, lambda: b"".join(stdout)
        assert process.returncode is None, "the server exited"
        drain.cancel()
    finally:
        if process.returncode is None:
            process.terminate()
        stdout.append(await process.stdout.read())
        await process.wait()


def frame(body: bytes) -> bytes:
    """One message as it travels over stdio or TCP: a Content-Length header, then `body`."""
    return b"Content-Length: %d\r\n\r\n%b" % (len(body), body)


class RawConnection:
    """Raw bytes to a server and JSON-RPC messages back: for what a well-behaved client never sends."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def tcp(cls, port: int) -> RawConnection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send_message(self, message: object) -> None:
        await self.send(frame(json.dumps(message).encode()))

    async def receive(self) -> dict | None:
        """The next message from the server, or None when it has closed the stream."""
        length = None
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        if not line:
            return None
        assert length is not None, "a message without Content-Length"
        return json.loads(await self.reader.readexactly(length))

    async def answers_until(self, msg_id: object) -> list[dict]:
        """Every answer (not notifications) the server sends up to and including the one to `msg_id`."""
        answers = []

        async def read() -> None:
            while True:
                message = await self.receive()
                assert message is not None, f"the server closed the stream before answering {msg_id!r}"
                if "method" not in message:
                    answers.append(message)
                    if message.get("id") == msg_id:
                        return

        await asyncio.wait_for(read(), ANSWER_TIMEOUT)
        return answers

    async def answer(self, msg_id: object) -> dict:
        """The answer to `msg_id`, which must be the first answer the server sends."""
        answers = await self.answers_until(msg_id)
        assert len(answers) == 1, f"answers before the one to {msg_id!r}: {answers[:-1]}"
        return answers[0]

    async def request(self, msg_id: object, method: str, params: object) -> dict:
        await self.send_message({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return await self.answer(msg_id)

    async def initialize(self) -> None:
        await self.request("init", "initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        await self.send_message({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    async def close(self) -> None:
        self.writer.close()
        with suppress(ConnectionError):
            await self.writer.wait_closed()
