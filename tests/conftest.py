"""Shared fixtures: the Detexify data in ../shared and the symbol table read from it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("EXTEXIFY_SHARED_DATA", ROOT.parent / "shared" / "data"))
SOURCE_TARBALL = SHARED_DATA / "detexify-source.tar.gz"


@pytest.fixture(scope="session")
def source_tarball() -> Path:
    """The shared Detexify source tarball; the tests need it, so its absence is an error."""
    if not SOURCE_TARBALL.is_file():
        pytest.fail(f"{SOURCE_TARBALL} is missing: the tests read the shared Detexify data from there")
    return SOURCE_TARBALL
