"""Generated hostile messages against a real server process, over stdio and TCP.

Every request that carries an id gets an answer, none of them an InternalError, and a valid request
sent after each hostile one still answers correctly. bench/fuzz.py runs a longer campaign.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types

from extexify_lsp.jsonrpc import salvage_id
from extexify_lsp.protocol import GLYPHS, RECOGNIZE_STROKES
from tests.extexify_lsp.lsp_client import LEQ, SERVER_COMMAND, RawConnection, frame, listening

INTERNAL_ERROR = -32603
GOOD_PARAMS = {"strokes": LEQ, "limit": 3}
# Methods whose handlers see the hostile params; shutdown and exit are left out, as they end the session.
REQUESTS = [
    RECOGNIZE_STROKES,
    GLYPHS,
    types.TEXT_DOCUMENT_HOVER,
    types.TEXT_DOCUMENT_COMPLETION,
    types.COMPLETION_ITEM_RESOLVE,
]
NOTIFICATIONS = [
    types.TEXT_DOCUMENT_DID_OPEN,
    types.TEXT_DOCUMENT_DID_CHANGE,
    types.TEXT_DOCUMENT_DID_CLOSE,
    types.CANCEL_REQUEST,
]


def mostly(usual: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`usual` nine times in ten: one hostile member at a time reaches further into the server."""
    return st.integers(0, 9).flatmap(lambda n: other if n == 0 else usual)


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**31, 2**63, -(2**63), 10**309, 10**4000])
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["file:///x.tex", "file://[::1/x.tex", "file:rel.tex", "file:///" + "a" * 5000, ""])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text(max_size=10), inner, max_size=5)
        | st.builds(lambda v: {"jsonrpc": "2.0", "method": "exit", "params": v}, inner)
    ),
    max_leaves=20,
)
# Params shaped like the real ones, each member (down to a coordinate) now and then replaced by anything.
coordinates = mostly(st.integers(-1000, 1000) | st.floats(-1e4, 1e4), json_scalars)
strokes = st.lists(st.lists(st.lists(coordinates, min_size=2, max_size=3), max_size=6), max_size=4)
shaped_params = st.fixed_dictionaries(
    {"strokes": mostly(st.just(LEQ) | strokes, json_values)},
    optional={
        "limit": mostly(st.integers(1, 10), json_values),
        "textDocument": mostly(
            st.fixed_dictionaries({"uri": mostly(st.just("file:///x.tex"), json_values)}), json_values
        ),
        "position": mostly(
            st.fixed_dictionaries(
                {
                    "line": mostly(st.integers(0, 5), json_values),
                    "character": mostly(st.integers(0, 5), json_values),
                }
            ),
            json_values,
        ),
        "symbolIds": mostly(st.lists(st.text(max_size=30), max_size=5), json_values),
        "groups": mostly(st.booleans(), json_values),
        "label": json_values,
        "data": json_values,
    },
)
valid_ids = st.integers() | st.text(max_size=30).filter(lambda text: not text.startswith("valid-"))
ids = mostly(valid_ids, st.sampled_from([None, True, 1.5, {"id": 1}, [1]]))
messages = st.fixed_dictionaries(
    {
        "jsonrpc": mostly(st.just("2.0"), json_values),
        "method": mostly(st.sampled_from(REQUESTS + NOTIFICATIONS), json_values),
    },
    optional={"id": ids, "params": mostly(shaped_params, json_values)},
)


def splice(message: object, start: int, length: int, insert: bytes) -> bytes:
    """`message` as JSON text with `length` bytes from `start` replaced by `insert`."""
    text = json.dumps(message).encode()
    return text[:start] + insert + text[start + length :]


# Mostly real messages with a stretch of their text replaced or cut; sometimes any bytes.
raw_bodies = mostly(
    st.builds(
        splice,
        messages,
        st.integers(0, 100),
        st.integers(0, 20),
        st.sampled_from(
            [b"", b"[" * 3000, b"9" * 5000, b'"', b"{", b"}", b"\xff", b"\\u00", b"NaN", b"\x00"]
        ),
    ),
    st.binary(max_size=200),
)

_valid_ids = (f"valid-{n}" for n in itertools.count())


def expected_answer(body: bytes) -> tuple[bool, Any]:
    """Whether `body` must be answered, and with which id (None: null or unknown)."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return True, salvage_id(body)
    if not isinstance(message, dict):
        return True, None
    if "method" not in message and ("result" in message or "error" in message):
        return False, None  # a response
    if "id" not in message:
        return False, None  # a notification
    msg_id = message["id"]
    return True, msg_id if type(msg_id) in (int, str) else None


async def exchange(connection: RawConnection, body: bytes) -> None:
    """Send `body`, then a valid request; check what is answered."""
    must_answer, msg_id = expected_answer(body)
    valid_id = next(_valid_ids)
    await connection.send(frame(body))
    await connection.send_message(
        {"jsonrpc": "2.0", "id": valid_id, "method": RECOGNIZE_STROKES, "params": GOOD_PARAMS}
    )
    answers = await connection.answers_until(valid_id)
    if must_answer and msg_id is not None and all(a.get("id") != msg_id for a in answers):
        answers += await connection.answers_until(msg_id)  # an async handler may answer later
    errors = [a["error"] for a in answers if "error" in a]
    assert all(error["code"] != INTERNAL_ERROR for error in errors), errors
    valid = next(a for a in answers if a.get("id") == valid_id)
    assert len(valid["result"]["items"]) == 3, valid
    hostile = [a for a in answers if a.get("id") != valid_id]
    if must_answer:
        assert [a for a in hostile if a.get("id") == msg_id], f"no answer to {body[:200]!r}"
    else:
        assert hostile == [], f"answered {body[:200]!r}: {hostile}"


class Servers:
    """The server processes under test, driven from one event loop of the test module's own."""

    def __init__(self, log: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.stack = AsyncExitStack()
        self.connections = self.run(self._start(log))

    def run(self, work: Any) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(work, 120))

    async def _start(self, log: Path) -> dict[str, RawConnection]:
        process = await asyncio.create_subprocess_exec(
            *SERVER_COMMAND,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self.stack.enter_context(log.open("wb")),
        )
        self.stdio_process = process
        assert process.stdout is not None and process.stdin is not None
        port, _ = await self.stack.enter_async_context(listening("--tcp", "0"))
        connections = {
            "stdio": RawConnection(process.stdout, process.stdin),
            "tcp": await RawConnection.tcp(port),
        }
        for connection in connections.values():
            await connection.initialize()
        return connections

    def close(self) -> None:
        async def stop() -> None:
            for connection in self.connections.values():
                await connection.close()
            await self.stack.aclose()
            await self.stdio_process.wait()

        self.run(stop())
        self.loop.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    servers = Servers(tmp_path_factory.mktemp("fuzz") / "stdio.log")
    yield servers
    assert servers.stdio_process.returncode is None, "the stdio server exited"
    servers.close()


FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("transport", ["stdio", "tcp"])
@FUZZ
@given(message=messages)
def test_generated_messages_are_answered(servers: Servers, transport: str, message: dict) -> None:
    servers.run(exchange(servers.connections[transport], json.dumps(message).encode()))


@pytest.mark.parametrize("transport", ["stdio", "tcp"])
@FUZZ
@given(body=raw_bodies)
def test_generated_bodies_are_answered(servers: Servers, transport: str, body: bytes) -> None:
    servers.run(exchange(servers.connections[transport], body))
