"""`extexify-lsp`: start the language server on stdio, TCP or WebSocket."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import time
from functools import partial

from extexify_lsp.protocol import SERVER_NAME, SERVER_VERSION

logger = logging.getLogger("extexify_lsp")
DEFAULT_HOST = "127.0.0.1"


def _address(value: str) -> tuple[str, int]:
    """`HOST:PORT` or `PORT` (on 127.0.0.1)."""
    host, _, port = value.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT or PORT") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port {number} is outside 0..65535")
    return host.strip("[]") or DEFAULT_HOST, number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=SERVER_NAME,
        description="Language server that recognizes hand-drawn LaTeX symbols (LSP over stdio by default).",
    )
    parser.add_argument("--version", action="version", version=f"{SERVER_NAME} {SERVER_VERSION}")
    where = parser.add_mutually_exclusive_group()
    # Many LSP clients (vscode-languageclient's stdio transport among them) pass --stdio.
    where.add_argument("--stdio", action="store_true", help="LSP over stdin/stdout (the default)")
    where.add_argument("--tcp", type=_address, metavar="[HOST:]PORT", help="listen on TCP (host 127.0.0.1)")
    where.add_argument(
        "--ws", type=_address, metavar="[HOST:]PORT", help="listen on WebSocket, for browser editors"
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        metavar="ORIGIN",
        help="with --ws: accept pages from ORIGIN (repeatable; default: http://localhost and "
        "http://127.0.0.1 on any port)",
    )
    parser.add_argument("--model", help="model artifact directory or file (default: the shipped model)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--store",
        metavar="PATH|DSN|none",
        help="where the user's taught symbols and choices are kept: a SQLite file, a postgresql:// DSN "
        "(shared by a team), or 'none' (default: $XDG_DATA_HOME/extexify/samples.sqlite3)",
    )
    parser.add_argument(
        "--allow-client-store",
        action="store_true",
        help="with --tcp or --ws: let a client name its own store in initializationOptions (over stdio the "
        "editor that started the server always may); off, a web page could make the server write any file",
    )
    parser.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), default="INFO")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.allow_origin and not args.ws:
        _parser().error("--allow-origin only applies to --ws")
    if args.allow_client_store and not (args.tcp or args.ws):
        _parser().error("--allow-client-store only applies to --tcp and --ws")
    # Imported here: torch takes seconds to import, and --help or a bad argument needs none of it.
    from pygls.exceptions import JsonRpcInvalidParams

    from extexify_lsp.features.recognize import prepare_answers
    from extexify_lsp.model import DeviceUnavailableError
    from extexify_lsp.personal import Stores
    from extexify_lsp.recognizer import ModelArtifactError, Recognizer
    from extexify_lsp.server import JsonRpcRequestFailed, create_server, inference_executor
    from extexify_lsp.transport import LOCAL_ORIGINS, ListenError, serve_stdio, serve_tcp, serve_ws

    # stdout carries the protocol: anything a library prints goes to stderr instead.
    protocol_out = sys.stdout.buffer
    sys.stdout = sys.stderr
    logging.basicConfig(
        stream=sys.stderr, level=args.log_level, format="%(asctime)s %(name)s %(levelname)s: %(message)s"
    )
    # pygls logs every message it sends at INFO: only worth it when debugging.
    logging.getLogger("pygls").setLevel(logging.DEBUG if args.log_level == "DEBUG" else logging.WARNING)
    # pylatexenc logs at INFO each command it reads leniently (`\ `, when looking up Unicode characters).
    logging.getLogger("pylatexenc").setLevel(logging.WARNING)
    # pygls logs a traceback for every error answer; invalid params are the client's mistake, and it is told;
    # a failed request's reason is logged once, by the feature.
    told = (JsonRpcInvalidParams, JsonRpcRequestFailed)
    logging.getLogger("pygls.protocol.json_rpc").addFilter(
        lambda record: not (record.exc_info and isinstance(record.exc_info[1], told))
    )
    started = time.perf_counter()
    try:
        recognizer = Recognizer.load(args.model, device=args.device)
    except (ModelArtifactError, DeviceUnavailableError) as error:
        sys.exit(f"{SERVER_NAME}: {error}")
    inference = inference_executor(recognizer)
    prepare_answers(recognizer.symbols)
    logger.info(
        "%s %s: model with %d symbols loaded on %s and warmed up in %.2f s",
        SERVER_NAME,
        SERVER_VERSION,
        len(recognizer.symbols),
        recognizer.device,
        time.perf_counter() - started,
    )
    # Over stdio the client is the editor that started the server: it may choose, as the command line does.
    stores = Stores(args.store, clients_choose=args.allow_client_store or not (args.tcp or args.ws))
    stores.get()  # the command line's store, opened once for every connection
    # Start-up leaves some 215,000 objects (torch, the model, the symbols) that live as long as the process;
    # frozen out of the collector's generations, a full collection no longer walks them (pauses of up to
    # 250 ms were seen between requests). Start-up's garbage goes first, so that none of it is kept.
    gc.collect()
    gc.freeze()
    new_server = partial(create_server, recognizer, inference, stores)
    try:
        if args.tcp:
            serve_tcp(new_server, *args.tcp)
        elif args.ws:
            host, port = args.ws
            serve_ws(new_server, host, port, origins=args.allow_origin or LOCAL_ORIGINS)
        else:
            sys.exit(serve_stdio(new_server(), sys.stdin.buffer, protocol_out))
    except ListenError as error:
        sys.exit(f"{SERVER_NAME}: {error}")
    except KeyboardInterrupt:  # before the server's signal handlers are in place
        logger.info("interrupted")
    finally:
        stores.close()
