"""The Neovim plugin's help: `:help extexify` in a real headless Neovim, from the committed doc/tags."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pynvim
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

NVIM = os.environ.get("EXTEXIFY_NVIM", "nvim")
DOC = Path(__file__).resolve().parents[2] / "editors" / "nvim" / "doc"


@pytest.fixture
def nvim() -> pynvim.Nvim:
    if shutil.which(NVIM) is None:
        pytest.fail(f"{NVIM} is not installed: `make system-deps` installs Neovim")
    nvim = pynvim.attach("child", argv=[NVIM, "--embed", "--headless", "--clean"])
    nvim.options["runtimepath"] += f",{DOC.parent}"
    yield nvim
    nvim.close()


@pytest.mark.parametrize("topic", ["extexify", "extexify.recognize()", ":ExtexifyDraw"])
def test_help_opens_the_plugin_doc(nvim: pynvim.Nvim, topic: str) -> None:
    nvim.command(f"help {topic}")
    assert nvim.current.buffer.options["buftype"] == "help"
    assert Path(nvim.current.buffer.name) == DOC / "extexify.txt"


def test_committed_tags_match_the_doc(tmp_path: Path) -> None:
    if shutil.which(NVIM) is None:
        pytest.fail(f"{NVIM} is not installed: `make system-deps` installs Neovim")
    shutil.copy(DOC / "extexify.txt", tmp_path)
    subprocess.run([NVIM, "--clean", "-es", "-c", f"helptags {tmp_path}", "-c", "q"], check=True, timeout=30)
    fresh = (tmp_path / "tags").read_text()
    assert (DOC / "tags").read_text() == fresh, "doc/tags is stale: run `make nvim-doc` and commit it"
