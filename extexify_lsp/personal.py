"""The user's own data as the server holds it: the sample store, the symbols taught into it, recent drawings.

One `Personal` per store, shared by every connection of a server process (`Stores` opens each store once).
Store calls run on a thread of its own: PostgreSQL waits on the network, SQLite on another server's write.
Once the server hands it its model (`use_model`), it also keeps the stored samples embedded by that model
(`index`, see personal_index.py), updated whenever the store changes and rebuilt when the model does.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from extexify_lsp.personal_index import Embedded, FusionConfig, PersonalIndex, embed_samples
from extexify_lsp.protocol import RequestFailedError
from extexify_lsp.store import (
    OFF,
    SampleStore,
    StoreError,
    UnknownSymbolError,
    UserSymbol,
    describe_store,
    open_store,
)

if TYPE_CHECKING:
    from extexify_lsp.recognizer import Recognizer

logger = logging.getLogger("extexify_lsp")

T = TypeVar("T")
REFRESH_S = 1.0  # how often a request may check whether another server changed the store
RECENT_DRAWINGS = 256  # per connection: how far back a recorded choice can reach
# How long a request waits for the stored samples to be embedded at start-up (10,000 take about 25 s):
# longer, and it is answered without them meanwhile.
INDEXING_WAIT_S = 2.0


class Personal:
    """A store (or none, and why), the user symbols in it, and the thread that talks to it."""

    def __init__(self, store: SampleStore | None, off_reason: str = "", warning: str | None = None) -> None:
        self.store = store
        self.off_reason = off_reason  # why personalization is off; "" when it is on
        self.warning = warning  # a problem the user should see (the store could not be opened), else None
        self.user_symbols: dict[str, UserSymbol] = {}
        self.revision: int | None = None  # the store's revision the user symbols were read at
        self._checked = -REFRESH_S
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extexify-store")
        self.fusion = FusionConfig()
        self.recognizer: Recognizer | None = None
        # The samples embedded by `recognizer`'s model, and what recognition uses of them (None: nothing).
        self.index: PersonalIndex | None = None
        self._embedded: Embedded | None = None
        self._read = 0  # samples read from the store into `_embedded`, including any that did not parse
        self._indexing: Future[None] | None = None

    @classmethod
    def open(cls, spec: str | None) -> Personal:
        """Open the store `spec` names (see `open_store`); one that fails to open turns personalization
        off, with a warning."""
        try:
            store = open_store(spec)
        except StoreError as error:
            warning = f"personalization is off: {error}"
            logger.warning("%s", warning)
            return cls(None, off_reason=warning, warning=warning)
        if store is None:
            return cls(None, off_reason=f"personalization is off: the server runs with --store {OFF}")
        personal = cls(store)
        try:
            personal._reload(store)
        except StoreError as error:
            logger.warning("cannot read the user's symbols yet: %s", error)
        logger.info("sample store %s: %d user symbols", store.location, len(personal.user_symbols))
        return personal

    @property
    def on(self) -> bool:
        return self.store is not None

    def _reload(self, store: SampleStore) -> None:
        revision = store.revision()
        self.user_symbols = {symbol.id: symbol for symbol in store.symbols()}
        if self.recognizer is not None:
            self._update_index(store, self.recognizer)
        self.revision = revision

    def use_model(self, recognizer: Recognizer) -> None:
        """Embed the stored samples with `recognizer`'s model (on the store thread, from now), and keep
        them embedded as the store changes; a different model re-embeds them all."""
        if self.store is None or self.recognizer is recognizer:
            return
        self.recognizer = recognizer
        store = self.store

        def index() -> None:
            try:
                self._update_index(store, recognizer)
            except StoreError as error:
                logger.warning("cannot read the stored samples yet: %s", error)

        self._indexing = self._thread.submit(index)

    def _update_index(self, store: SampleStore, recognizer: Recognizer) -> None:
        """Bring the embedded samples up to date with the store (store thread)."""
        embedded = self._embedded
        if embedded is None or embedded.model_version != recognizer.version:
            samples = store.samples()
            embedded, self._read = embed_samples(recognizer, samples), len(samples)
            logger.info("embedded %d stored samples for model %.12s", len(embedded), recognizer.version)
        else:
            total = sum(store.counts().values())
            last = int(embedded.sample_ids.max()) if len(embedded) else 0
            new = store.samples(after_id=last)
            if total != self._read + len(new):  # some were forgotten (or added meanwhile): keep what is there
                embedded = embedded.keep({sample.id for sample in store.samples(after_id=0)})
                self._read = len(embedded)
            embedded, self._read = embedded.plus(embed_samples(recognizer, new)), self._read + len(new)
        self._embedded = embedded
        self.index = (
            PersonalIndex(recognizer.symbols, recognizer.groups, embedded, self.user_symbols, self.fusion)
            if len(embedded)
            else None
        )

    async def current_index(self, model_version: str) -> PersonalIndex | None:
        """The samples as recognition uses them for the model `model_version`, after any change another
        server made (checked at most once a second); None when there are none, personalization is off, or
        a large store is still being embedded."""
        if self._indexing is not None and not self._indexing.done():
            try:
                await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self._indexing)), INDEXING_WAIT_S)
            except TimeoutError:
                return None  # the store thread is busy embedding: no refresh either
        await self.refresh()
        index = self.index
        return index if index is not None and index.model_version == model_version else None

    def require(self) -> SampleStore:
        """The store; RequestFailedError saying why personalization is off when there is none."""
        if self.store is None:
            raise RequestFailedError(self.off_reason)
        return self.store

    async def call(self, operation: Callable[[SampleStore], T]) -> T:
        """Run `operation` on the store thread; RequestFailedError when personalization is off or it fails."""
        store = self.require()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, operation, store)
        except UnknownSymbolError:
            raise  # the request's mistake, not the store's
        except StoreError as error:
            logger.warning("%s", error)
            raise RequestFailedError(str(error)) from None

    async def refresh(self, force: bool = False) -> None:
        """Re-read the user symbols if the store changed (another server taught or forgot); at most once
        a second unless `force`d. A failing store is logged and leaves what is known as it was."""
        now = time.monotonic()
        if self.store is None or (not force and now - self._checked < REFRESH_S):
            return
        self._checked = now
        try:
            if await self.call(lambda store: store.revision()) != self.revision:
                await self.call(self._reload)
        except RequestFailedError:
            pass  # logged by `call`

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        if self.store is not None:
            self.store.close()


class Stores:
    """The stores one server process has open: the command line's, and any a client's options name."""

    def __init__(self, default_spec: str | None, clients_choose: bool = True) -> None:
        self.default_spec = default_spec
        self.clients_choose = clients_choose  # whether a client's initializationOptions may name a store
        self._open: dict[str | None, Personal] = {}
        self._lock = threading.Lock()  # connections open their stores from worker threads

    def get(self, spec: str | None = None) -> Personal:
        """The store `spec` names (default: the command line's), opened on first use."""
        key = self.default_spec if spec is None else spec
        with self._lock:
            if key not in self._open:
                logger.info("opening the sample store %s", describe_store(key))
                self._open[key] = Personal.open(key)
            return self._open[key]

    def close(self) -> None:
        for personal in self._open.values():
            personal.close()
        self._open.clear()


class RecentDrawings:
    """The strokes of a connection's last recognized drawings by drawing id, for recording choices."""

    def __init__(self, size: int = RECENT_DRAWINGS) -> None:
        self.size = size
        self._drawings: OrderedDict[str, list[Any]] = OrderedDict()
        self._ids = itertools.count(1)

    def remember(self, strokes: list[Any]) -> str:
        """Keep `strokes` (as the client sent them); the new drawing id."""
        drawing_id = str(next(self._ids))
        self._drawings[drawing_id] = strokes
        if len(self._drawings) > self.size:
            self._drawings.popitem(last=False)
        return drawing_id

    def get(self, drawing_id: str) -> list[Any] | None:
        return self._drawings.get(drawing_id)
