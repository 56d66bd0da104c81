"""What a server under test stored in its sample store (`--store PATH`), read as another program would."""

from __future__ import annotations

import time
from pathlib import Path

from extexify_lsp.store import StoredSample, UserSymbol, open_store


def stored(store: Path) -> tuple[list[UserSymbol], list[StoredSample]]:
    """The user symbols and samples in `store`."""
    opened = open_store(str(store), writable=False)
    assert opened is not None
    try:
        return opened.symbols(), opened.samples()
    finally:
        opened.close()


def wait_for_samples(store: Path, count: int, timeout: float = 10.0) -> list[StoredSample]:
    """The samples in `store` once there are `count` (clients record a choice after inserting it), or sooner
    after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while len(samples := stored(store)[1]) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return samples
