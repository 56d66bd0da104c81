"""JSON-RPC messages from any client: every request that carries an id gets an answer, whatever the bytes.

pygls decodes a body with a JSON object hook that takes every nested object with a "jsonrpc" key for a
message, and drops what it cannot decode or structure without answering. Here a body is decoded as plain
JSON, its envelope checked against JSON-RPC 2.0, and only a well-formed message reaches pygls' dispatch.
Framing (`Content-Length` headers) is read here too, for stdio and TCP alike.

Bodies are decoded, and answers in JSON form encoded, by orjson: a drawing is a thousand numbers, which it
reads several times faster than `json`. What orjson refuses goes to `json`, whose rules decide (it takes
integers past 64 bits, NaN and a byte-order mark). A body that does not decode then (not JSON, nested too
deeply, a number of more than 4,300 digits) is a Parse error, answered with its id when that can be read
from its top level (else null); a message that is no request is an Invalid Request; params that do not fit
their method are Invalid Params. Until an `initialize` succeeds, any other request is ServerNotInitialized
and any notification but `exit` is dropped. A bad notification is logged, never answered.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Generator
from typing import Any, Protocol
from urllib.parse import urlparse

import orjson
from cattrs import transform_error
from cattrs.errors import ClassValidationError
from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, LanguageServerProtocol, lsp_method
from pygls.protocol.json_rpc import MsgId

logger = logging.getLogger("extexify_lsp")
# What clients send that is refused: for the server's log at INFO, never sent back to a client, whose
# every bad message would otherwise come back doubled as a `window/logMessage`.
refused = logging.getLogger("extexify_lsp.refused")

# Past this a message is refused rather than read into memory; a 20 MB document still fits.
MAX_MESSAGE_BYTES = 64 * 2**20
# Hostile params can make cattrs list thousands of problems: the answer keeps the first ones.
MAX_REASON_CHARS = 500


class FramingError(Exception):
    """The stream cannot be split into messages any further: its connection must close."""


class AsyncReader(Protocol):
    """What `read_frames` needs: asyncio's StreamReader, or pygls' reader of a stdin file."""

    def readline(self) -> Awaitable[bytes]: ...

    def readexactly(self, n: int, /) -> Awaitable[bytes]: ...


async def read_frames(reader: AsyncReader) -> AsyncIterator[bytes]:
    """The bodies of the `Content-Length` framed messages in `reader`, until it ends.

    Lines that are not headers, header lines too long for the reader and headers without a length are
    logged and skipped. Raises FramingError when no later message can be found.
    """
    while True:
        length: int | None = None
        headers = 0
        while True:
            try:
                line = await reader.readline()
            except ValueError:  # asyncio's StreamReader: a line past its limit, which it has discarded
                refused.info("skipped a header line longer than the stream reader's limit")
                continue
            if not line:
                if headers:
                    raise FramingError("the stream ended inside a message's headers")
                return
            if not line.strip():
                if length is not None:
                    break
                if headers:
                    refused.info("skipped %d header lines without a Content-Length", headers)
                headers = 0
                continue
            headers += 1
            name, colon, value = line.partition(b":")
            if not colon:
                refused.info("skipped a line that is not a header: %.80r", line)
            elif name.strip().lower() == b"content-length":
                length = _content_length(value.strip())
        yield await _read_body(reader, length)


def _content_length(value: bytes) -> int:
    if not value.isdigit() or len(value) > 12:
        raise FramingError(f"Content-Length {value[:40]!r} is not a byte count")
    length = int(value)
    if length > MAX_MESSAGE_BYTES:
        raise FramingError(f"Content-Length {length} is over the {MAX_MESSAGE_BYTES // 2**20} MiB limit")
    return length


async def _read_body(reader: AsyncReader, length: int) -> bytes:
    try:
        body = await reader.readexactly(length)
    except asyncio.IncompleteReadError as error:
        body = error.partial
    if len(body) < length:  # pygls' stdin reader returns what there is
        raise FramingError(f"the stream ended {len(body)} bytes into a body of Content-Length {length}")
    return body


class ExtexifyProtocol(LanguageServerProtocol):
    """pygls' LSP protocol, given whole message bodies that it checks before dispatching them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Set by `exit`: the transport then closes this client's connection (on stdio, the process).
        self.exit_code: int | None = None
        # Set once `initialize` has succeeded: before, LSP allows only `initialize` and `exit`.
        self.initialized = False
        self._sending: set[asyncio.Future[Any]] = set()

    def handle_body(self, body: bytes) -> None:
        """Decode, check and dispatch one message; answer a request that cannot be dispatched."""
        try:
            message = decode(body)
        except (ValueError, RecursionError) as error:
            self._answer_error(salvage_id(body), JsonRpcParseError.of(_undecodable(error)))
            return
        if not isinstance(message, dict):
            what = "an array (batches are not part of LSP)" if isinstance(message, list) else "a JSON scalar"
            self._answer_error(None, JsonRpcInvalidRequest.of(f"a message must be an object, not {what}"))
            return
        if "method" not in message and ("result" in message or "error" in message):
            self._receive_response(message)
            return
        if "id" in message and not _is_id(message["id"]):
            reason = f"id must be an integer or a string, not {_json_type(message['id'])}"
            self._answer_error(None, JsonRpcInvalidRequest.of(reason))
            return
        msg_id: MsgId | None = message.get("id")
        try:
            structured = self._check(message, msg_id is not None)
        except JsonRpcException as error:
            if msg_id is None:
                refused.info("ignored a notification %.80r: %s", message.get("method"), error.message)
            else:
                self._answer_error(msg_id, error)
            return
        try:
            self.handle_message(structured)
        except Exception:  # pygls answers what handlers raise: this is a bug in dispatching
            logger.exception("failed to dispatch %s", message["method"])
            if msg_id is not None:
                self._answer_error(msg_id, JsonRpcInternalError("the server failed: see its log"))

    def _check(self, message: dict[str, Any], is_request: bool) -> Any:
        """The message as the lsprotocol type of its method (plain JSON-RPC for extexify's own).

        Raises the JsonRpcException to answer when it is no request or notification this server takes.
        """
        if (envelope_error := _envelope_error(message)) is not None:
            raise envelope_error
        method = message["method"]
        if self._shutdown and method != types.EXIT:
            raise JsonRpcInvalidRequest.of("the server is shutting down: only exit is accepted")
        if not self.initialized and method not in (types.INITIALIZE, types.EXIT):
            raise JsonRpcServerNotInitialized(f"{method!r:.80} before initialize: initialize first")
        fallback = JsonRPCRequestMessage if is_request else JsonRPCNotification
        try:
            structured = self._converter.structure(message, self.get_message_type(method) or fallback)
        except ClassValidationError as error:
            raise JsonRpcInvalidParams.of(_shorten("; ".join(transform_error(error, path="$")))) from None
        except (ValueError, TypeError, AttributeError, OverflowError, RecursionError) as error:
            raise JsonRpcInvalidParams.of(_shorten(f"{type(error).__name__}: {error}")) from None
        if is_request and not hasattr(structured, "id"):
            raise JsonRpcInvalidRequest.of(f"{method} is a notification: it takes no id")
        return structured

    def _receive_response(self, message: dict[str, Any]) -> None:
        """Hand a client's answer to one of our requests to pygls; a malformed one is logged and dropped."""
        if message.get("jsonrpc") != self.VERSION or not _is_id(message.get("id")):
            refused.info("ignored a malformed response with id %.80r", message.get("id"))
            return
        try:
            self.handle_message(self.structure_message(message))
        except Exception as error:  # nothing to answer: a response gets no response
            refused.info("ignored a response with id %.80r: %s", message["id"], error)

    def _answer_error(self, msg_id: MsgId | None, error: JsonRpcException) -> None:
        request = "a message without a usable id" if msg_id is None else f"request {msg_id!r:.80}"
        refused.info("answered %s: %s", request, error.message)
        # A dict: lsprotocol's converter would leave out a null id, which JSON-RPC requires.
        answer = {
            "jsonrpc": self.VERSION,
            "id": msg_id,
            "error": {"code": error.code, "message": error.message},
        }
        self._send_data(answer)

    def _send_data(self, data: Any) -> None:
        """Send a message: one in JSON form encoded by orjson, the rest (pygls' own types) by pygls."""
        if not isinstance(data, dict) or self.writer is None:
            super()._send_data(data)
            return
        try:
            body = orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)
        except TypeError:  # not JSON after all (a key that is no string, an integer past 64 bits)
            super()._send_data(data)
            return
        if self._include_headers:
            header = (
                f"Content-Length: {len(body)}\r\nContent-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}"
            )
            body = f"{header}\r\n\r\n".encode() + body
        written = self.writer.write(body)
        if inspect.isawaitable(written):  # a WebSocket's send: kept until done, or it may be collected
            sending = asyncio.ensure_future(written)
            self._sending.add(sending)
            sending.add_done_callback(self._sending.discard)

    def _send_response(
        self, msg_id: MsgId, result: Any | None = None, error: types.ResponseError | None = None
    ) -> None:
        if error is not None and error.code == JsonRpcInternalError.CODE:
            # pygls attaches the traceback, with the server's file paths: it is in the log instead.
            error = types.ResponseError(code=error.code, message=error.message)
        if error is None and isinstance(result, dict):
            # Already JSON (completion's thousand items): sent as it is, not walked again by cattrs.
            self._result_types.pop(msg_id, None)
            self._send_data({"jsonrpc": self.VERSION, "id": msg_id, "result": result})
            return
        super()._send_response(msg_id, result, error)

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Generator[Any, Any, types.InitializeResult]:
        """pygls' `initialize`, once the URIs it parses are known to parse: a bad one is InvalidParams."""
        uris = [] if params.root_uri is None else [params.root_uri]
        uris += [folder.uri for folder in params.workspace_folders or ()]
        for uri in uris:
            try:
                urlparse(uri)
            except ValueError as error:  # "Invalid IPv6 URL"
                raise JsonRpcInvalidParams.of(f"{uri!r:.80} is not a URI: {error}") from None
        result = yield from super().lsp_initialize(params)
        self.initialized = True  # not when a handler failed: then nothing but initialize or exit goes on
        return result

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        """End this client's session: exit code 0 after `shutdown`, 1 without."""
        if (user_handler := self.fm.features.get(types.EXIT)) is not None:
            yield user_handler, args, None
        self.exit_code = 0 if self._shutdown else 1


def decode(body: bytes) -> Any:
    """A message body's JSON; ValueError or RecursionError when it is none."""
    # orjson reads an integer past 64 bits as a float; json keeps it exact (an id, a coordinate such as
    # 10**309, each refused as what it is). Twenty digits in a row may be one; numbers from JSON encoders
    # have at most 17 significant digits.
    if _LONG_NUMBER not in body.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body)


def _envelope_error(message: dict[str, Any]) -> JsonRpcException | None:
    """What makes `message` (with a valid id or none) not a JSON-RPC 2.0 request or notification."""
    if message.get("jsonrpc") != "2.0":
        return JsonRpcInvalidRequest.of(f'jsonrpc must be "2.0", not {_json_type(message.get("jsonrpc"))}')
    if not isinstance(message.get("method"), str):
        return JsonRpcInvalidRequest.of(f"method must be a string, not {_json_type(message.get('method'))}")
    if not isinstance(message.get("params"), dict | list | None):
        return JsonRpcInvalidParams.of(
            f"params must be an object or an array, not {_json_type(message['params'])}"
        )
    return None


def _is_id(value: object) -> bool:
    return type(value) is int or type(value) is str  # not bool, which is an int


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", float: "a fraction"}
    return "missing" if value is None else names.get(type(value), "an integer")


def _undecodable(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "cannot decode the message: it nests too deeply"
    if "integer string conversion" in str(error):
        return f"cannot decode the message: a number has more than {sys.get_int_max_str_digits()} digits"
    return _shorten(f"cannot decode the message: {error}")


def _shorten(reason: str) -> str:
    return reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 3] + "..."


# Every digit as 0 and nothing else: twenty digits in a row are then a substring search (a regex takes
# seven times longer than orjson's whole decoding).
_DIGITS_AS_ZERO = bytes(ord("0") if ord("0") <= byte <= ord("9") else ord(" ") for byte in range(256))
_LONG_NUMBER = b"0" * 20
# For salvage_id: a whole JSON string, and what opens or closes a value.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRUCTURE = re.compile(r'["\[\]{}]')
_DECODER = json.JSONDecoder()


def salvage_id(body: bytes) -> MsgId | None:
    """The id of a message that `json` cannot decode (nested too deeply, a huge number, broken after
    its id), read from its top-level members without decoding the others; None if it is not there."""
    text = body.decode("utf-8", errors="replace")
    try:
        at = _skip_space(text, 0)
        if text[at] != "{":
            return None
        at = _skip_space(text, at + 1)
        while text[at] == '"':
            key, at = _DECODER.raw_decode(text, at)
            at = _skip_space(text, at)
            if text[at] != ":":
                return None
            at = _skip_space(text, at + 1)
            if key == "id":
                value, _ = _DECODER.raw_decode(text, at)
                return value if _is_id(value) else None
            at = _skip_space(text, _skip_value(text, at))
            if text[at] != ",":
                return None
            at = _skip_space(text, at + 1)
    except (ValueError, IndexError, RecursionError):
        pass
    return None


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\n\r":
        at += 1
    return at


def _skip_value(text: str, at: int) -> int:
    """The index just past the JSON value that starts at `at`, found without decoding it."""
    if text[at] == '"':
        return _string_end(text, at)
    if text[at] not in "[{":  # a number, true, false or null
        while at < len(text) and text[at] not in ",]} \t\n\r":
            at += 1
        return at
    depth = 0
    while match := _STRUCTURE.search(text, at):
        if match[0] == '"':
            at = _string_end(text, match.start())
            continue
        depth += 1 if match[0] in "[{" else -1
        at = match.end()
        if depth == 0:
            return at
    raise ValueError("the value does not end")


def _string_end(text: str, at: int) -> int:
    if (match := _STRING.match(text, at)) is None:
        raise ValueError("the string does not end")
    return match.end()
