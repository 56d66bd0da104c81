"""How clients reach the server: stdio, TCP, or WebSocket with an Origin check.

Each transport feeds whole message bodies to `ExtexifyProtocol.handle_body`, which answers what it cannot
dispatch; a stream that cannot be framed any further closes its connection (on stdio, the process) with
a logged reason. SIGTERM and SIGINT end the server through the same path as a client's `shutdown`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import stat
from collections.abc import Awaitable, Callable, Sequence
from typing import BinaryIO, TypeVar

from pygls.io_ import StdoutWriter, WebSocketWriter
from websockets.asyncio.server import Server as WebSocketServer
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from extexify_lsp.jsonrpc import MAX_MESSAGE_BYTES, AsyncReader, FramingError, read_frames
from extexify_lsp.server import CONNECTION, ExtexifyLanguageServer

logger = logging.getLogger("extexify_lsp")

# Pages a WebSocket client may come from unless --allow-origin says otherwise: local ones, any port.
LOCAL_ORIGINS: tuple[re.Pattern[str], ...] = (re.compile(r"http://(?:localhost|127\.0\.0\.1)(?::\d+)?"),)

ServerFactory = Callable[[], ExtexifyLanguageServer]
T = TypeVar("T")


# The longest header line a file on stdin may hold, as asyncio's StreamReader allows on a pipe.
LINE_LIMIT = 2**16


class FileReader:
    """stdin that the event loop cannot poll (a file, a terminal), read by a worker thread.

    A line past LINE_LIMIT is read to its end and dropped, then ValueError raised, as asyncio's
    StreamReader does on a pipe: a file of one endless line (/dev/zero) cannot fill the memory.
    """

    def __init__(self, stdin: BinaryIO) -> None:
        self.stdin = stdin

    async def readline(self) -> bytes:
        line = await asyncio.to_thread(self.stdin.readline, LINE_LIMIT)
        if len(line) < LINE_LIMIT or line.endswith(b"\n"):
            return line
        while (rest := await asyncio.to_thread(self.stdin.readline, LINE_LIMIT)) and not rest.endswith(b"\n"):
            pass
        raise ValueError(f"a line longer than {LINE_LIMIT} bytes")

    async def readexactly(self, n: int) -> bytes:
        return await asyncio.to_thread(self.stdin.read, n)


class ListenError(Exception):
    """The TCP or WebSocket server cannot listen where it was asked to."""


def serve_stdio(server: ExtexifyLanguageServer, stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Serve one client over stdin/stdout until it exits or closes stdin; return the exit code.

    A pipe (what editors give) is read in the event loop rather than by a thread per line, which falls
    behind while the model runs: `$/cancelRequest` would arrive after the requests it cancels.
    """

    async def serve() -> int:
        mode = os.fstat(stdin.fileno()).st_mode
        reader: AsyncReader
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            stream = reader = asyncio.StreamReader()
            await asyncio.get_running_loop().connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(stream), stdin
            )
        else:  # a file or terminal: the loop cannot poll it
            reader = FileReader(stdin)
        try:
            code = await _until_signal(_serve_stream(server, reader, StdoutWriter(stdout)))
        except FramingError as error:
            logger.error("stopping: cannot read the next message from stdin: %s", error)
            return 1
        finally:
            server.disconnect()
        return 0 if code is None else code

    return asyncio.run(serve())


async def _serve_stream(
    server: ExtexifyLanguageServer, reader: AsyncReader, writer: StdoutWriter | asyncio.StreamWriter
) -> int:
    """Answer the LSP messages read from `reader` through `writer` until the stream ends (0) or `exit`."""
    CONNECTION.set(server)  # in this connection's task: its logs go to its client alone
    server.protocol.set_writer(writer)  # type: ignore[arg-type]  # a StreamWriter writes bytes too
    async for body in read_frames(reader):
        server.protocol.handle_body(body)
        if server.protocol.exit_code is not None:
            return server.protocol.exit_code
    return 0


def _until_signal(work: Awaitable[T]) -> Awaitable[T | None]:
    """Await `work` unless SIGTERM or SIGINT comes first (then None, and `work` is cancelled).

    The signal handlers are in place when this returns, before the awaitable is awaited.
    """
    loop = asyncio.get_running_loop()
    signalled: asyncio.Future[signal.Signals] = loop.create_future()

    def received(signum: signal.Signals) -> None:
        if not signalled.done():
            signalled.set_result(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, received, signum)
    return _first(asyncio.ensure_future(work), signalled)


async def _first(task: asyncio.Future[T], signalled: asyncio.Future[signal.Signals]) -> T | None:
    await asyncio.wait((task, signalled), return_when=asyncio.FIRST_COMPLETED)
    if not signalled.done():
        signalled.cancel()
        return task.result()
    logger.info("%s received: shutting down", signalled.result().name)
    task.cancel()
    return None


async def _listening(listener: asyncio.Server | WebSocketServer, scheme: str) -> None:
    """Serve until a signal; log where `listener` listens once signals are handled."""
    async with listener:
        serving = _until_signal(listener.serve_forever())
        for sock in listener.sockets:
            logger.info("listening on %s://%s:%d", scheme, *sock.getsockname()[:2])
        await serving


def _listen_error(scheme: str, host: str, port: int, error: OSError) -> ListenError:
    # asyncio's message repeats the address: the errno's own says what is wrong.
    reason = os.strerror(error.errno) if error.errno else str(error)
    return ListenError(f"cannot listen on {scheme}://{host}:{port}: {reason}")


def serve_tcp(new_server: ServerFactory, host: str, port: int) -> None:
    """Serve every TCP connection with a server of its own until a signal; a client's `exit` or a stream
    that cannot be framed closes only its connection."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server = new_server()
        try:
            await _serve_stream(server, reader, writer)
        except FramingError as error:
            logger.warning("closing a TCP connection: cannot read its next message: %s", error)
        except ConnectionError as error:
            logger.info("a TCP connection was lost: %s", error)
        finally:
            server.disconnect()
            writer.close()

    async def listen() -> None:
        try:
            listener = await asyncio.start_server(connection, host, port)
        except OSError as error:
            raise _listen_error("tcp", host, port, error) from None
        await _listening(listener, "tcp")

    asyncio.run(listen())


def serve_ws(
    new_server: ServerFactory, host: str, port: int, origins: Sequence[str | re.Pattern[str]] = LOCAL_ORIGINS
) -> None:
    """Serve WebSocket connections from pages at `origins` (and from non-browser clients, which send none).

    A browser always sends the page's Origin, so other web pages cannot drive the server; they get HTTP 403.
    """

    async def connection(websocket: ServerConnection) -> None:
        server = new_server()
        CONNECTION.set(server)  # in this connection's task: its logs go to its client alone
        server.protocol.set_writer(WebSocketWriter(websocket), include_headers=False)
        try:
            while server.protocol.exit_code is None:
                server.protocol.handle_body(await websocket.recv(decode=False))
        except ConnectionClosed:
            pass
        finally:
            server.disconnect()

    allowed = [o if isinstance(o, re.Pattern) else Origin(o) for o in origins]

    async def listen() -> None:
        try:
            listener = await serve(
                connection, host, port, origins=[*allowed, None], max_size=MAX_MESSAGE_BYTES
            )
        except OSError as error:
            raise _listen_error("ws", host, port, error) from None
        await _listening(listener, "ws")

    asyncio.run(listen())
