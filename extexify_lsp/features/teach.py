"""`extexify/teach`, `extexify/forget`, `extexify/taught` and `extexify.recordChoice`: the user's own samples.

Teaching a command the model knows (same command and package) adds a sample of that symbol; any other
command becomes a user symbol, `user:\\cmd` or `user:\\cmd@package`. With personalization off (`--store none`
or a store that cannot be opened) these requests fail saying why; recording a choice then does nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from extexify_lsp.features.context import Server
from extexify_lsp.protocol import (
    RECORD_CHOICE,
    InvalidParamsError,
    NewSymbol,
    parse_forget_params,
    parse_record_choice_arguments,
    parse_teach_params,
    record_choice_arguments,
)
from extexify_lsp.store import USER_PREFIX, SampleStore, UnknownSymbolError, UserSymbol

if TYPE_CHECKING:
    from extexify_lsp.personal import Personal

logger = logging.getLogger("extexify_lsp")
CHOICE_TITLE = "Record choice"


class PersonalServer(Server, Protocol):
    """A server with the user's store and the model's version."""

    @property
    def personal(self) -> Personal: ...

    @property
    def model_version(self) -> str:
        """What the model is (its weights' sha256), recorded with each sample."""
        ...


def choice_command(drawing_id: str, symbol_id: str) -> dict[str, Any]:
    """The command a recognizeStrokes item (or alternative) carries, run when the user picks that symbol;
    as JSON, built directly, as an answer can list a hundred."""
    return {
        "title": CHOICE_TITLE,
        "command": RECORD_CHOICE,
        "arguments": record_choice_arguments(drawing_id, symbol_id),
    }


async def teach(server: PersonalServer, raw_params: object) -> dict[str, Any]:
    """Store the drawing as a sample of a known symbol or of a new one: `{sampleId, symbolId}`."""
    params = parse_teach_params(raw_params)
    personal = server.personal
    if params.symbol is not None:
        symbol_id = _known_id(server, params.symbol)
        new = UserSymbol.new(params.symbol.command, params.symbol.package, params.symbol.mode)
        if symbol_id is None:
            symbol_id = new.id
            await personal.call(lambda store: store.ensure_symbol(new))
    else:
        symbol_id = _checked_id(server, params.symbol_id)
    version = server.model_version

    def add(store: SampleStore) -> int:
        return store.add_sample(params.strokes, symbol_id, "taught", version)

    try:
        sample_id = await personal.call(add)
    except UnknownSymbolError as error:  # a user symbol no server knows of, or one forgotten meanwhile
        raise InvalidParamsError(f"unknown symbolId: {error}") from None
    await personal.refresh(force=True)
    logger.info("taught %s: sample %d", symbol_id, sample_id)
    return {"sampleId": sample_id, "symbolId": symbol_id}


async def forget(server: PersonalServer, raw_params: object) -> dict[str, int]:
    """Remove one sample, or a symbol's samples (and the symbol, if the user's): `{removed: n}`."""
    target = parse_forget_params(raw_params)
    personal = server.personal
    if isinstance(target, int):
        removed = await personal.call(lambda store: store.forget_sample(target))
    else:
        personal.require()
        await personal.refresh(force=True)
        symbol_id = _checked_id(server, target)
        if symbol_id.startswith(USER_PREFIX) and symbol_id not in personal.user_symbols:
            raise InvalidParamsError(f"unknown symbolId {symbol_id!r:.80}: no user symbol has it")
        removed = await personal.call(lambda store: store.forget_symbol(symbol_id))
    await personal.refresh(force=True)
    logger.info("forgot %s: %d samples", target, removed)
    return {"removed": removed}


async def taught(server: PersonalServer, raw_params: object) -> dict[str, list[dict[str, Any]]]:
    """The user's symbols and the built-in symbols with stored samples, each with its sample count."""
    if raw_params is not None and not isinstance(raw_params, dict):
        raise InvalidParamsError("params must be an object (or absent)")
    personal = server.personal
    counts = await personal.call(lambda store: store.counts())
    await personal.refresh(force=True)
    listed = []
    for mine in personal.user_symbols.values():
        listed.append(_entry(mine.id, mine.command, mine.package, mine.mode, counts.get(mine.id, 0)))
    for symbol_id, count in sorted(counts.items()):
        if symbol_id in server.symbols:
            known = server.symbols.get(symbol_id)
            listed.append(_entry(known.id, known.command, known.package, known.mode, count))
    return {"symbols": listed}


async def record_choice(server: PersonalServer, arguments: tuple[object, ...]) -> dict[str, Any] | None:
    """Store the drawing a recognizeStrokes item came from as a `picked` sample of the chosen symbol.

    None (nothing recorded) with personalization off: clients run the command after every insertion.
    """
    choice = parse_record_choice_arguments(arguments)
    strokes = server.drawings.get(choice.drawing_id)
    if strokes is None:
        raise InvalidParamsError(
            f"drawing {choice.drawing_id!r} is not one of this connection's last "
            f"{server.drawings.size} recognized drawings"
        )
    personal = server.personal
    if not personal.on:
        logger.debug("choice of %s not recorded: %s", choice.symbol_id, personal.off_reason)
        return None
    symbol_id = _checked_id(server, choice.symbol_id)
    version = server.model_version

    def add(store: SampleStore) -> int:
        return store.add_sample(strokes, symbol_id, "picked", version)

    try:
        sample_id = await personal.call(add)
    except UnknownSymbolError as error:
        raise InvalidParamsError(f"unknown symbolId: {error}") from None
    await personal.refresh(force=True)  # the next drawing already ranks with this choice
    return {"sampleId": sample_id, "symbolId": symbol_id}


def _known_id(server: PersonalServer, symbol: NewSymbol) -> str | None:
    """The id of the model's symbol with this command and package, if it has one."""
    for known in server.symbols.by_command(symbol.command):
        if known.package == symbol.package:
            return known.id
    return None


def _checked_id(server: PersonalServer, symbol_id: str | None) -> str:
    """`symbol_id` if it is the model's or a user id (the store checks those); else InvalidParams."""
    if symbol_id is None or not (symbol_id in server.symbols or symbol_id.startswith(USER_PREFIX)):
        raise InvalidParamsError(
            f"unknown symbolId {symbol_id!r:.80}: not a symbol of the model or a user symbol"
        )
    return symbol_id


def _entry(symbol_id: str, command: str, package: str | None, mode: str, samples: int) -> dict[str, Any]:
    return {
        "symbolId": symbol_id,
        "command": command,
        "package": package,
        "mode": mode,
        "samples": samples,
        "user": symbol_id.startswith(USER_PREFIX),
    }
