"""How clients reach the server: stdio, TCP, or WebSocket with an Origin check."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
import threading
from collections.abc import Callable, Sequence
from typing import BinaryIO

from pygls.io_ import StdoutWriter, run_async, run_websocket
from websockets.asyncio.server import ServerConnection, serve

from extexify_lsp.server import ExtexifyLanguageServer

logger = logging.getLogger("extexify_lsp")

# Pages a WebSocket client may come from unless --allow-origin says otherwise: local ones, any port.
LOCAL_ORIGINS: tuple[re.Pattern[str], ...] = (re.compile(r"http://(?:localhost|127\.0\.0\.1)(?::\d+)?"),)

ServerFactory = Callable[[], ExtexifyLanguageServer]


def serve_stdio(server: ExtexifyLanguageServer, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Serve one client over stdin/stdout until it exits or closes stdin.

    A pipe (what editors give) is read in the event loop rather than by pygls' thread-per-line reader,
    which falls behind while the model runs: `$/cancelRequest` would arrive after the requests it cancels.
    """
    mode = os.fstat(stdin.fileno()).st_mode
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):  # a file or terminal: the loop cannot poll it
        server.start_io(stdin, stdout)
        return

    async def serve() -> None:
        reader = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), stdin
        )
        await _serve_stream(server, reader, StdoutWriter(stdout))

    asyncio.run(serve())


async def _serve_stream(
    server: ExtexifyLanguageServer,
    reader: asyncio.StreamReader,
    writer: StdoutWriter | asyncio.StreamWriter,
) -> None:
    """Answer the LSP messages read from `reader` through `writer` until the stream ends or `exit`."""
    server.protocol.set_writer(writer)  # type: ignore[arg-type]  # a StreamWriter writes bytes too
    await run_async(
        stop_event=threading.Event(),
        reader=reader,
        protocol=server.protocol,
        logger=logger,
        error_handler=server.report_server_error,
    )


def serve_tcp(new_server: ServerFactory, host: str, port: int) -> None:
    """Serve every TCP connection with a server of its own, until interrupted or a client sends `exit`."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server = new_server()
        try:
            await _serve_stream(server, reader, writer)
        finally:
            server.disconnect()
            writer.close()

    async def listen() -> None:
        listener = await asyncio.start_server(connection, host, port)
        for sock in listener.sockets:
            logger.info("listening on tcp://%s:%d", *sock.getsockname()[:2])
        async with listener:
            await listener.serve_forever()

    asyncio.run(listen())


def serve_ws(
    new_server: ServerFactory, host: str, port: int, origins: Sequence[str | re.Pattern[str]] = LOCAL_ORIGINS
) -> None:
    """Serve WebSocket connections from pages at `origins` (and from non-browser clients, which send none).

    A browser always sends the page's Origin, so other web pages cannot drive the server; they get HTTP 403.
    """

    async def connection(websocket: ServerConnection) -> None:
        server = new_server()
        try:
            await run_websocket(
                websocket=websocket,
                stop_event=threading.Event(),
                protocol=server.protocol,
                logger=logger,
                error_handler=server.report_server_error,
            )
        finally:
            server.disconnect()

    async def listen() -> None:
        async with serve(connection, host, port, origins=[*origins, None]) as listener:
            for sock in listener.sockets:
                logger.info("listening on ws://%s:%d", *sock.getsockname()[:2])
            await listener.serve_forever()

    asyncio.run(listen())
