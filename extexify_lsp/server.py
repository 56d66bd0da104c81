"""The extexify language server: one per client connection, all sharing one loaded recognizer."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, TypeVar, cast

import numpy as np
import torch
from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.capabilities import get_capability
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from extexify_lsp.features.completion import complete_command, resolve_item
from extexify_lsp.features.glyphs import glyphs, shows_glyph_images
from extexify_lsp.features.hover import hover_symbol
from extexify_lsp.features.recognize import recognize_strokes
from extexify_lsp.features.teach import forget, record_choice, taught, teach
from extexify_lsp.glyphs import GlyphAtlas
from extexify_lsp.jsonrpc import ExtexifyProtocol, refused
from extexify_lsp.personal import Personal, RecentDrawings, Stores
from extexify_lsp.personal_index import user_symbol
from extexify_lsp.protocol import (
    FORGET,
    GLYPHS,
    RECOGNIZE_STROKES,
    RECORD_CHOICE,
    SERVER_NAME,
    SERVER_VERSION,
    STORE_OPTION,
    TAUGHT,
    TEACH,
    InvalidParamsError,
    RequestFailedError,
)
from extexify_lsp.ranking import Ranker
from extexify_lsp.recognizer import Recognizer
from extexify_lsp.store import OFF
from extexify_lsp.symbols import Symbol, SymbolTable

logger = logging.getLogger("extexify_lsp")

_Handler = TypeVar("_Handler", bound=Callable[..., Any])

# A diagonal line: any drawing will do to run the model once before the first request.
WARM_UP_STROKE = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 10.0]])

_LOG_LEVELS = {
    logging.ERROR: types.MessageType.Error,
    logging.WARNING: types.MessageType.Warning,
    logging.INFO: types.MessageType.Info,
}


class ExtexifyLanguageServer(LanguageServer):
    """A pygls server holding the recognizer and the single thread that runs it."""

    protocol: ExtexifyProtocol

    def __init__(self, recognizer: Recognizer, inference: Executor, stores: Stores | None = None) -> None:
        super().__init__(
            SERVER_NAME,
            SERVER_VERSION,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            # lsprotocol's plain converter keeps custom methods' params as JSON; pygls' default turns
            # them into namedtuples, which would read a point {"y", "x"} in key order.
            converter_factory=get_converter,
            protocol_cls=ExtexifyProtocol,
        )
        self.recognizer = recognizer
        self.inference = inference
        self.ranker = Ranker(recognizer.symbols, recognizer.groups)
        self.glyph_images = False  # set at `initialize` from what the client is
        self.log_handler = ClientLogHandler(self)
        # Shared by the process's connections; a client's initializationOptions may name another store.
        self.stores = Stores(OFF) if stores is None else stores
        self.personal: Personal = self.stores.get()
        self.personal.use_model(recognizer)
        self.drawings = RecentDrawings()  # this connection's, for recording choices
        self.warnings: list[str] = []  # for the user, shown once the client is initialized

    @property
    def symbols(self) -> SymbolTable:
        return self.recognizer.symbols

    def symbol(self, symbol_id: str) -> Symbol | None:
        if symbol_id in self.symbols:
            return self.symbols.get(symbol_id)
        taught = self.personal.user_symbols.get(symbol_id)
        return None if taught is None else user_symbol(taught)

    @property
    def glyphs(self) -> GlyphAtlas | None:
        return self.recognizer.glyphs

    @property
    def model_version(self) -> str:
        return self.recognizer.version

    async def probabilities(self, drawing: list[np.ndarray]) -> np.ndarray:
        """Run the model off the event loop; one inference thread answers requests in arrival order."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.inference, lambda: self.recognizer.probabilities([drawing])[0].numpy()
        )

    async def recognition(self, drawing: list[np.ndarray]) -> tuple[np.ndarray, Ranker]:
        """The drawing's probabilities with the user's samples fused in, and the ranker for them (over the
        model's symbols and the user's); both from one forward pass on the inference thread."""
        index = await self.personal.current_index(self.recognizer.version)
        if index is None:
            return await self.probabilities(drawing), self.ranker

        def fused() -> np.ndarray:
            embeddings, probabilities = self.recognizer.embed_and_classify([drawing])
            return index.fuse(probabilities[0].numpy(), embeddings[0].numpy())

        return await asyncio.get_running_loop().run_in_executor(self.inference, fused), index.ranker

    def disconnect(self) -> None:
        """Stop forwarding logs to this server's client, which has gone."""
        logger.removeHandler(self.log_handler)

    def completion_markdown(self) -> bool:
        """Markdown documentation, unless the client lists completion formats without Markdown."""
        formats = get_capability(
            self.client_capabilities, "text_document.completion.completion_item.documentation_format", None
        )
        return formats is None or types.MarkupKind.Markdown in formats

    def completion_resolves(self, prop: str) -> bool:
        """Whether the client fills in the item property `prop` lazily through `completionItem/resolve`."""
        support = get_capability(
            self.client_capabilities, "text_document.completion.completion_item.resolve_support", None
        )
        return support is not None and prop in support.properties

    def completion_defaults(self, prop: str) -> bool:
        """Whether the client takes the item property `prop` (e.g. editRange) from a list's itemDefaults."""
        defaults = get_capability(
            self.client_capabilities, "text_document.completion.completion_list.item_defaults", None
        )
        return defaults is not None and prop in defaults

    def hover_markdown(self) -> bool:
        formats = get_capability(self.client_capabilities, "text_document.hover.content_format", None)
        return formats is None or types.MarkupKind.Markdown in formats


# The server of the connection whose task logs: set by the transport in each connection's task (and so
# in its handlers' tasks); unset outside them (start-up, signals, threads), where records concern everyone.
CONNECTION: ContextVar[LanguageServer | None] = ContextVar("extexify_connection", default=None)


class ClientLogHandler(logging.Handler):
    """Forwards extexify's log records to the client as `window/logMessage`, from any thread: those about
    its own connection or the whole process, never what a client sent that was refused."""

    def __init__(self, server: LanguageServer) -> None:
        super().__init__(logging.INFO)
        self.server = server
        self.loop: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.loop is None or self.loop.is_closed() or record.name.startswith(refused.name):
            return
        if (connection := CONNECTION.get()) is not None and connection is not self.server:
            return
        params = types.LogMessageParams(
            type=_LOG_LEVELS.get(record.levelno, types.MessageType.Log), message=self.format(record)
        )
        self.loop.call_soon_threadsafe(self.server.window_log_message, params)


class JsonRpcRequestFailed(JsonRpcException):
    """LSP's RequestFailed: a valid request the server cannot carry out now; the message says why."""

    CODE = types.LSPErrorCodes.RequestFailed


def answers_invalid_params(handler: _Handler) -> _Handler:
    """Answer the project's InvalidParamsError as JSON-RPC InvalidParams with its message, and log it;
    RequestFailedError likewise as LSP's RequestFailed."""

    def invalid(error: InvalidParamsError | RequestFailedError) -> JsonRpcException:
        if isinstance(error, RequestFailedError):
            return JsonRpcRequestFailed(str(error))
        refused.info("%s: invalid params: %s", handler.__name__, error)
        return JsonRpcInvalidParams(str(error))

    # pygls awaits coroutine functions and calls the rest: the wrapper must stay what the handler is.
    if inspect.iscoroutinefunction(handler):

        @functools.wraps(handler)
        async def answer_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return await handler(*args, **kwargs)
            except (InvalidParamsError, RequestFailedError) as error:
                raise invalid(error) from None

        return cast(_Handler, answer_async)

    @functools.wraps(handler)
    def answer(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except (InvalidParamsError, RequestFailedError) as error:
            raise invalid(error) from None

    return cast(_Handler, answer)


def inference_executor(recognizer: Recognizer) -> ThreadPoolExecutor:
    """The one thread that runs the model, warmed up so that the first request is as fast as the rest."""
    # One thread per request: a 32x32 drawing is too small to gain from more, and cores are shared.
    executor = ThreadPoolExecutor(
        max_workers=1,
        thread_name_prefix="extexify-inference",
        initializer=torch.set_num_threads,
        initargs=(1,),
    )
    executor.submit(recognizer.recognize, [WARM_UP_STROKE]).result()
    return executor


def create_server(
    recognizer: Recognizer, inference: Executor, stores: Stores | None = None
) -> ExtexifyLanguageServer:
    """A server with extexify's features registered; `inference` must be a single-worker executor.

    `stores`: the process's sample stores (default: none, personalization off).
    """
    server = ExtexifyLanguageServer(recognizer, inference, stores)

    @server.feature(types.INITIALIZE)
    async def initialize(ls: ExtexifyLanguageServer, params: types.InitializeParams) -> None:
        ls.glyph_images = shows_glyph_images(params)
        options = params.initialization_options
        spec = options.get(STORE_OPTION) if isinstance(options, dict) else None
        if isinstance(spec, str) and not ls.stores.clients_choose:
            ls.warnings.append(
                f"ignored initializationOptions.{STORE_OPTION}: this server keeps its own sample store "
                "(start it with --allow-client-store to let clients choose)"
            )
        elif isinstance(spec, str):
            # Off the loop: opening a PostgreSQL store waits for the network, the other clients need not.
            ls.personal = await asyncio.to_thread(ls.stores.get, spec)
            ls.personal.use_model(ls.recognizer)
        elif spec is not None:
            logger.warning(
                "ignored initializationOptions.%s: it must be a string, got %.80r", STORE_OPTION, spec
            )

    @server.feature(types.INITIALIZED)
    def initialized(ls: ExtexifyLanguageServer, params: types.InitializedParams) -> None:
        ls.log_handler.loop = asyncio.get_running_loop()
        logger.addHandler(ls.log_handler)
        logger.info(
            "%s %s ready: %d symbols, model on %s",
            SERVER_NAME,
            SERVER_VERSION,
            len(ls.symbols),
            ls.recognizer.device,
        )
        if ls.personal.warning is not None:
            ls.warnings.append(ls.personal.warning)
        for warning in ls.warnings:
            logger.warning("%s", warning)
            ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=warning))

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: ExtexifyLanguageServer, params: None) -> None:
        ls.disconnect()

    @server.feature(RECOGNIZE_STROKES)
    @answers_invalid_params
    async def on_recognize_strokes(ls: ExtexifyLanguageServer, params: object) -> dict[str, Any]:
        return await recognize_strokes(ls, params)

    @server.feature(GLYPHS)
    @answers_invalid_params
    async def on_glyphs(ls: ExtexifyLanguageServer, params: object) -> dict[str, dict[str, str | None]]:
        return await glyphs(ls, params)

    @server.feature(TEACH)
    @answers_invalid_params
    async def on_teach(ls: ExtexifyLanguageServer, params: object) -> dict[str, object]:
        return await teach(ls, params)

    @server.feature(FORGET)
    @answers_invalid_params
    async def on_forget(ls: ExtexifyLanguageServer, params: object) -> dict[str, int]:
        return await forget(ls, params)

    @server.feature(TAUGHT)
    @answers_invalid_params
    async def on_taught(ls: ExtexifyLanguageServer, params: object) -> dict[str, list[dict[str, object]]]:
        return await taught(ls, params)

    @server.command(RECORD_CHOICE)
    @answers_invalid_params
    async def on_record_choice(ls: ExtexifyLanguageServer, *arguments: object) -> dict[str, object] | None:
        return await record_choice(ls, arguments)

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=["\\"], resolve_provider=True),
    )
    @answers_invalid_params
    def on_completion(ls: ExtexifyLanguageServer, params: types.CompletionParams) -> dict[str, object] | None:
        return complete_command(ls, params)

    @server.feature(types.COMPLETION_ITEM_RESOLVE)
    @answers_invalid_params
    def on_completion_resolve(
        ls: ExtexifyLanguageServer, params: types.CompletionItem
    ) -> types.CompletionItem:
        return resolve_item(ls, params)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @answers_invalid_params
    def on_hover(ls: ExtexifyLanguageServer, params: types.HoverParams) -> types.Hover | None:
        return hover_symbol(ls, params)

    return server
