"""A fuzz campaign against real `extexify-lsp` processes over stdio, TCP and WebSocket.

Sends `--count` generated hostile messages per transport (the strategies of tests/extexify_lsp/test_fuzz.py:
hostile params and envelopes, and mangled or arbitrary bodies), in batches of 50 followed by one valid
recognizeStrokes request, then a set of framing faults over TCP. Counts what was sent, what was answered
and with which error codes, InternalErrors, requests left unanswered, valid requests answered correctly,
and whether each server is still running. Writes bench/results/fuzz.json.

    python bench/fuzz.py [--count 10000] [--transports stdio,tcp,ws] [--seed 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections import Counter
from contextlib import AsyncExitStack, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from record import write_results
from tqdm import tqdm
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test suite's strategies and raw client, rather than copies of them

from extexify_lsp.jsonrpc import MAX_MESSAGE_BYTES  # noqa: E402
from extexify_lsp.protocol import RECOGNIZE_STROKES  # noqa: E402
from tests.extexify_lsp.lsp_client import SERVER_COMMAND, RawConnection, frame, listening  # noqa: E402
from tests.extexify_lsp.test_fuzz import GOOD_PARAMS, expected_answer, messages, raw_bodies  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "fuzz.json"
BATCH = 50  # hostile messages between two valid requests
ANSWER_TIMEOUT = 30.0  # seconds to wait for a batch's answers before counting the rest unanswered
INTERNAL_ERROR = -32603
FRAMING_FAULTS = [
    b"X-Long: " + b"x" * 100_000 + b"\r\n",
    b"Content-Type: text/plain\r\n\r\n" + b"x" * 100_000 + b"\r\n\r\n",
    b"Content-Length: %d\r\n\r\n" % (MAX_MESSAGE_BYTES + 1),
    b"Content-Length: -5\r\n\r\n",
    b"Content-Length: 99999999999999999999\r\n\r\n",
    b"Content-Length: 10\r\n\r\n{}",
    b"Content-Length: 2\r\n\r\n{}}}}\r\n\r\n",
    b"\r\n" * 1000,
    b"\x00\xff" * 50_000,
]


class Connection(Protocol):
    async def send_body(self, body: bytes) -> None: ...

    async def receive(self) -> dict | None: ...


class StreamConnection:
    """stdio or TCP: each body framed with its Content-Length."""

    def __init__(self, raw: RawConnection) -> None:
        self.raw = raw

    async def send_body(self, body: bytes) -> None:
        await self.raw.send(frame(body))

    async def receive(self) -> dict | None:
        return await self.raw.receive()


class WebSocketConnection:
    """WebSocket: one body per message."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket

    async def send_body(self, body: bytes) -> None:
        await self.websocket.send(body)

    async def receive(self) -> dict | None:
        return json.loads(await self.websocket.recv())


@dataclass
class Campaign:
    """What one transport's server made of the hostile messages."""

    transport: str
    sent: int = 0
    requests_with_id: int = 0  # hostile messages that must be answered (parse errors included)
    answered: int = 0
    unanswered: int = 0
    unexpected_answers: int = 0  # answers to notifications or responses
    by_code: dict[str, int] = field(default_factory=dict)  # "result" or the error code
    internal_errors: int = 0
    internal_error_examples: list[str] = field(default_factory=list)
    valid_sent: int = 0
    valid_correct: int = 0
    server_alive: bool = False
    seconds: float = 0.0


def encode(message: object) -> bytes:
    return json.dumps(message).encode()


def generate(count: int, seed_value: int) -> list[bytes]:
    """`count` hostile bodies: four in five whole messages with hostile members, the rest mangled or
    arbitrary bytes."""
    bodies: list[bytes] = []

    @seed(seed_value)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.integers(0, 4).flatmap(lambda n: raw_bodies if n == 0 else messages.map(encode)))
    def collect(body: bytes) -> None:
        bodies.append(body)

    collect()
    return bodies


async def run_batch(connection: Connection, batch: list[bytes], valid_id: str, campaign: Campaign) -> None:
    """Send `batch` and a valid request; wait for every answer owed (ids may repeat: a multiset)."""
    owed: Counter[str] = Counter()  # json.dumps of the ids
    for body in batch:
        must_answer, msg_id = expected_answer(body)
        if must_answer:
            owed[json.dumps(msg_id)] += 1
        await connection.send_body(body)
    campaign.sent += len(batch)
    campaign.requests_with_id += sum(owed.values())
    request = {"jsonrpc": "2.0", "id": valid_id, "method": RECOGNIZE_STROKES, "params": GOOD_PARAMS}
    await connection.send_body(json.dumps(request).encode())
    campaign.valid_sent += 1

    async def read() -> None:
        valid_answered = False
        while not valid_answered or +owed:
            message = await connection.receive()
            if message is None:
                return
            if "method" in message:
                continue  # the server's notifications
            if message.get("id") == valid_id:
                valid_answered = True
                campaign.valid_correct += len(message.get("result", {}).get("items", ())) == 3
                continue
            key = json.dumps(message.get("id"))
            if owed[key] > 0:
                owed[key] -= 1
                campaign.answered += 1
            else:
                campaign.unexpected_answers += 1
            error = message.get("error")
            code = "result" if error is None else str(error["code"])
            campaign.by_code[code] = campaign.by_code.get(code, 0) + 1
            if error is not None and error["code"] == INTERNAL_ERROR:
                campaign.internal_errors += 1
                if len(campaign.internal_error_examples) < 5:
                    campaign.internal_error_examples.append(error["message"][:200])

    with suppress(TimeoutError):
        await asyncio.wait_for(read(), ANSWER_TIMEOUT)
    campaign.unanswered += sum((+owed).values())


async def run_campaign(connection: Connection, bodies: list[bytes], campaign: Campaign) -> None:
    started = time.perf_counter()
    batches = [bodies[i : i + BATCH] for i in range(0, len(bodies), BATCH)]
    for n, batch in enumerate(tqdm(batches, desc=campaign.transport, unit="batch")):
        await run_batch(connection, batch, f"valid-{n}", campaign)
    campaign.seconds = round(time.perf_counter() - started, 1)


async def initialize(connection: Connection) -> None:
    init: dict[str, object] = {"processId": None, "rootUri": None, "capabilities": {}}
    request = {"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": init}
    await connection.send_body(json.dumps(request).encode())
    while (message := await connection.receive()) is not None and message.get("id") != "init":
        pass
    await connection.send_body(json.dumps({"jsonrpc": "2.0", "method": "initialized", "params": {}}).encode())


async def fuzz_stdio(bodies: list[bytes]) -> Campaign:
    campaign = Campaign("stdio")
    process = await asyncio.create_subprocess_exec(
        *SERVER_COMMAND,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None and process.stdin is not None
    connection = StreamConnection(RawConnection(process.stdout, process.stdin))
    await initialize(connection)
    await run_campaign(connection, bodies, campaign)
    campaign.server_alive = process.returncode is None
    process.terminate()
    await process.wait()
    return campaign


async def still_serves(transport: str, port: int) -> bool:
    """Whether a fresh connection gets a correct recognizeStrokes answer."""
    request = {"jsonrpc": "2.0", "id": "alive", "method": RECOGNIZE_STROKES, "params": GOOD_PARAMS}
    async with AsyncExitStack() as stack:
        connection: Connection
        if transport == "tcp":
            raw = await RawConnection.tcp(port)
            stack.push_async_callback(raw.close)
            connection = StreamConnection(raw)
        else:
            connection = WebSocketConnection(
                await stack.enter_async_context(connect(f"ws://127.0.0.1:{port}"))
            )
        await initialize(connection)
        await connection.send_body(json.dumps(request).encode())
        while (message := await connection.receive()) is not None and message.get("id") != "alive":
            pass
        return message is not None and len(message["result"]["items"]) == 3
    return False


async def fuzz_socket(transport: str, bodies: list[bytes]) -> tuple[Campaign, dict[str, int | bool] | None]:
    """The campaign over one TCP or WebSocket connection; then (TCP) framing faults, one per connection."""
    campaign = Campaign(transport)
    faults: dict[str, int | bool] | None = None
    async with listening(f"--{transport}", "0") as (port, _):
        if transport == "tcp":
            raw = await RawConnection.tcp(port)
            await initialize(StreamConnection(raw))
            await run_campaign(StreamConnection(raw), bodies, campaign)
            await raw.close()
            for fault in FRAMING_FAULTS:
                faulty = await RawConnection.tcp(port)
                await faulty.send(fault)
                await faulty.close()
            faults = {
                "framing_faults_sent": len(FRAMING_FAULTS),
                "server_alive_after_faults": await still_serves("tcp", port),
            }
        else:
            async with connect(f"ws://127.0.0.1:{port}", max_size=None) as websocket:
                await initialize(WebSocketConnection(websocket))
                await run_campaign(WebSocketConnection(websocket), bodies, campaign)
        campaign.server_alive = await still_serves(transport, port)
    return campaign, faults


async def run(args: argparse.Namespace) -> dict[str, object]:
    started = time.perf_counter()
    bodies = generate(args.count, args.seed)
    random.Random(args.seed).shuffle(bodies)
    generation_seconds = time.perf_counter() - started
    campaigns: list[Campaign] = []
    faults: dict[str, int | bool] = {}
    for transport in args.transports.split(","):
        if transport == "stdio":
            campaigns.append(await fuzz_stdio(bodies))
        else:
            campaign, tcp_faults = await fuzz_socket(transport, bodies)
            campaigns.append(campaign)
            faults |= tcp_faults or {}
    return {
        "what": "generated hostile JSON-RPC messages against real extexify-lsp processes, "
        f"a valid recognizeStrokes request after every {BATCH}",
        "machine": {"cpus": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2)},
        "seed": args.seed,
        "generated": len(bodies),
        "generation_s": round(generation_seconds, 1),
        "campaigns": [asdict(c) for c in campaigns],
        **faults,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="hostile messages per transport")
    parser.add_argument("--transports", default="stdio,tcp,ws")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be at least 1")
    if unknown := set(args.transports.split(",")) - {"stdio", "tcp", "ws"}:
        parser.error(f"unknown transports: {', '.join(sorted(unknown))}")
    write_results(args.out, asyncio.run(run(args)))


if __name__ == "__main__":
    main()
