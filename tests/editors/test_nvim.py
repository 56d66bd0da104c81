"""The Neovim plugin in a real headless Neovim, talking to the real extexify-lsp with the shipped model."""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pynvim
import pytest
from samplestore import stored, wait_for_samples
from webpad import keeps_nothing

from extexify_lsp.store import UserSymbol

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

# The Neovim under test; point EXTEXIFY_NVIM at another build to test the plugin on that version.
NVIM = os.environ.get("EXTEXIFY_NVIM", "nvim")
ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = ROOT / "editors" / "nvim"
INIT_LUA = Path(__file__).parent / "nvim" / "init.lua"
SERVER = Path(sys.executable).with_name("extexify-lsp")
# A drawing with a distinctive shape, from a package, usable in text: the test checks the `\usepackage` line
# and needs no math wrapping.
SYMBOL_ID = "latex:wasysym:phone"
COMMAND = "\\phone"
PACKAGE = "wasysym"
# \star and \bigstar draw alike: one candidate, labelled \star (no package needed), \bigstar its look-alike.
STAR_ID = "latex:amssymb:bigstar"
CORE_STAR, BIG_STAR = "\\star", "\\bigstar"
# The server starts torch and loads the model before its first answer.
ANSWER_TIMEOUT = 90.0

DOCUMENT = "\\documentclass{article}\n\\begin{document}\nCall  now.\n\\end{document}\n"
# Line 3 (1-based), byte 5: between the two spaces of "Call  now.".
CURSOR = (3, 5)

PAD = "require('extexify.pad').current()"
# A candidate row of the pad: " 1  \phone  ☎  wasysym · text"; its look-alikes follow on "     or ..." rows.
CANDIDATE_ROW = re.compile(r"\s*\d\s+(?P<command>\S+)")
ALTERNATIVES_ROW = re.compile(r"\s+or\s+(?P<commands>.+)")
# Each candidate of the open pad: its label's command, then its look-alikes'.
VARIANTS = (
    f"return vim.tbl_map(function(item) return vim.tbl_map(function(variant) return variant.label end,"
    f" require('extexify').variants(item)) end, {PAD}.items)"
)


def wait_for(check: Callable[[], object], what: str, timeout: float = ANSWER_TIMEOUT) -> object:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def start_nvim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: list[str]) -> pynvim.Nvim:
    for xdg in ("CONFIG", "DATA", "STATE", "CACHE"):
        monkeypatch.setenv(f"XDG_{xdg}_HOME", str(tmp_path / xdg.lower()))
    monkeypatch.setenv("EXTEXIFY_PLUGIN_DIR", str(PLUGIN_DIR))
    monkeypatch.setenv("EXTEXIFY_LSP_CMD", "\t".join(server))
    nvim = pynvim.attach("child", argv=[NVIM, "--embed", "--headless", "-i", "NONE", "-u", str(INIT_LUA)])
    # A UI grid, as a terminal gives: recent Neovim routes mouse events to floating windows only with one.
    nvim.ui_attach(140, 45, rgb=True)
    return nvim


@pytest.fixture
def nvim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pynvim.Nvim]:
    """Neovim with the plugin set up for the real server, editing a .tex file without \\usepackage lines."""
    yield from editing(tmp_path, monkeypatch, [])


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A sample store file of the test's own."""
    return tmp_path / "samples.sqlite3"


@pytest.fixture
def nvim_with_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Path) -> Iterator[pynvim.Nvim]:
    """As `nvim`, the server keeping the user's samples in `store`."""
    yield from editing(tmp_path, monkeypatch, ["--store", str(store)])


def editing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server_args: list[str]) -> Iterator[pynvim.Nvim]:
    if shutil.which(NVIM) is None:
        pytest.fail(f"{NVIM} is not installed: `make system-deps` installs Neovim")
    if not SERVER.is_file():
        pytest.fail(f"{SERVER} is missing: `pip install -e .` installs the extexify-lsp script")
    nvim = start_nvim(tmp_path, monkeypatch, [str(SERVER), *keeps_nothing(server_args)])
    tex = tmp_path / "doc.tex"
    tex.write_text(DOCUMENT)
    nvim.command(f"edit {tex}")
    nvim.funcs.cursor(CURSOR[0], CURSOR[1] + 1)
    yield nvim
    nvim.exec_lua(
        "local clients = (vim.lsp.get_clients or vim.lsp.get_active_clients)();"
        " vim.lsp.stop_client(vim.tbl_map(function(c) return c.id end, clients), true)"
    )
    nvim.close()


@pytest.fixture(scope="module")
def drawing(source_samples: Callable[[list[str]], list]) -> list[np.ndarray]:
    """A real drawing of SYMBOL_ID from the shared data: strokes of (x, y) in the unit square."""
    return [stroke[:, :2] for stroke in source_samples([SYMBOL_ID])[0].strokes]


@pytest.fixture(scope="module")
def star(source_samples: Callable[[list[str]], list]) -> list[np.ndarray]:
    """A real drawing of amssymb's \\bigstar, which draws like core LaTeX's \\star."""
    return [stroke[:, :2] for stroke in source_samples([STAR_ID])[0].strokes]


def buffer_text(nvim: pynvim.Nvim) -> str:
    return "\n".join(nvim.current.buffer[:]) + "\n"


def pad_lines(nvim: pynvim.Nvim, which: str) -> list[str]:
    """The lines of the open pad's canvas or candidate list, as the user sees them."""
    return nvim.exec_lua(f"local p = {PAD}; return vim.api.nvim_buf_get_lines(p.{which}_buf, 0, -1, false)")


def candidates(nvim: pynvim.Nvim) -> list[str]:
    """The commands listed in the pad, in order; empty until an answer arrives."""
    rows = (CANDIDATE_ROW.match(line) for line in pad_lines(nvim, "list"))
    return [row["command"] for row in rows if row]


def find_variant(nvim: pynvim.Nvim, command: str, within: int = 5) -> tuple[int, int]:
    """Where `command` is among the first `within` candidates: (candidate, variant), 1-based."""
    groups = nvim.exec_lua(VARIANTS)
    for index, variants in enumerate(groups[:within], start=1):
        if command in variants:
            return index, variants.index(command) + 1
    pytest.fail(f"{command} is not among the top {within} candidates {groups[:within]}")


def to_cells(strokes: list[np.ndarray], width: int, height: int) -> list[list[tuple[int, int]]]:
    """Unit-square strokes as the (row, col) cells a mouse drag over a `width` x `height` canvas reports."""
    # A cell is 2 braille dots wide and 4 tall; dots are about square on screen, so scale in dots.
    size = 0.85 * min(2 * width, 4 * height)
    left, top = (2 * width - size) / 2, (4 * height - size) / 2
    out = []
    for stroke in strokes:
        cells: list[tuple[int, int]] = []
        for x, y in stroke:
            cell = (int((top + y * size) // 4), int((left + x * size) // 2))
            if not cells or cells[-1] != cell:
                cells.append(cell)
        out.append(cells)
    return out


def drag(nvim: pynvim.Nvim, strokes: list[np.ndarray]) -> None:
    """Draw `strokes` (unit square) on the open pad with left-button press, drag and release events."""
    top, left, width, height = nvim.exec_lua(
        f"local p = {PAD}; local pos = vim.fn.screenpos(p.canvas_win, 1, 1);"
        " return {pos.row - 1, pos.col - 1, p.canvas.width, p.canvas.height}"
    )

    def mouse(action: str, row: int, col: int) -> None:
        nvim.api.input_mouse("left", action, "", 0, top + row, left + col)
        # Neovim keeps one "last mouse position", set when an event is queued: wait until this event is
        # handled, as a terminal's events are at human speed. (A request is served after queued input.)
        nvim.eval("0")

    for (row, col), *rest in to_cells(strokes, width, height):
        mouse("press", row, col)
        for row, col in rest:
            mouse("drag", row, col)
        mouse("release", row, col)


def choose(nvim: pynvim.Nvim, command: str, how: str) -> None:
    """Pick `command` from the pad the way a user would: with j and ] to its candidate and look-alike, then
    its number key or Enter; or a click on its candidate row or on it among the look-alikes."""
    index, variant = find_variant(nvim, command)
    if how in ("number", "enter"):
        nvim.input("j" * (index - 1) + "]" * (variant - 1) + (str(index) if how == "number" else "<CR>"))
        return
    # The 0-based screen cell of the candidate row's command, or of the look-alike among the "or" rows.
    row, col = nvim.exec_lua(
        f"local p, index, variant = {PAD}, ...;"
        " local row, from = p.candidate_rows[index], 4;"
        " for r, entry in pairs(p.rows) do for _, s in ipairs(entry.segments) do"
        "   if entry.index == index and s.variant == variant then row, from = r, s.from end end end;"
        " local pos = vim.fn.screenpos(p.list_win, row + 1, 1);"
        " return {pos.row - 1, pos.col - 1 + from}",
        index,
        variant,
    )
    nvim.api.input_mouse("left", "press", "", 0, row, col + 1)


@pytest.mark.parametrize("how", ["number", "enter", "click"])
def test_drawing_on_the_pad_inserts_the_command_and_usepackage(nvim, drawing, how):
    nvim.command("ExtexifyDraw")
    drag(nvim, drawing)
    wait_for(lambda: candidates(nvim), "the candidates")
    find_variant(nvim, COMMAND)

    choose(nvim, COMMAND, how)

    wait_for(lambda: nvim.exec_lua(f"return {PAD} == nil"), "the pad to close", timeout=5)
    text = buffer_text(nvim)
    assert f"\\usepackage{{{PACKAGE}}}" in text
    assert text.index(f"\\usepackage{{{PACKAGE}}}") < text.index("\\begin{document}")
    assert f"Call {COMMAND} now." in text
    row, col = nvim.current.window.cursor
    assert nvim.current.buffer[row - 1][:col] == f"Call {COMMAND}", "the cursor ends after the command"


def test_the_pad_inserts_at_the_cursor_after_non_ascii_text(nvim, drawing):
    # Opened on a cold start (the server has not answered `initialize`): the LSP position must use the
    # encoding the server picks (UTF-8 on Neovim 0.10+), not the client's default UTF-16.
    nvim.current.buffer[CURSOR[0] - 1] = "Für  now."
    nvim.funcs.cursor(CURSOR[0], len("Für ".encode()) + 1)
    nvim.command("ExtexifyDraw")
    drag(nvim, drawing)
    wait_for(lambda: candidates(nvim), "the candidates")
    choose(nvim, COMMAND, "number")
    wait_for(lambda: nvim.exec_lua(f"return {PAD} == nil"), "the pad to close", timeout=5)
    assert f"Für {COMMAND} now." in buffer_text(nvim).splitlines()
    row, col = nvim.current.window.cursor
    assert nvim.current.buffer[row - 1].encode()[:col].decode() == f"Für {COMMAND}"


def test_recognize_and_insert_from_lua(nvim, drawing):
    strokes = [[[float(x) * 300, float(y) * 300, 15.0 * i] for i, (x, y) in enumerate(s)] for s in drawing]
    nvim.exec_lua(
        "local strokes = ...; _G.answer = nil;"
        " require('extexify').recognize(strokes, {limit = 5}, function(err, items)"
        "   _G.answer = {err = err or vim.NIL, items = items or {}} end)",
        strokes,
    )
    answer = wait_for(lambda: nvim.exec_lua("return _G.answer"), "the recognizeStrokes answer")
    assert answer["err"] is None
    assert len(answer["items"]) == 5
    variants = nvim.exec_lua(
        "local out = {}; for _, item in ipairs(...) do"
        " vim.list_extend(out, require('extexify').variants(item)) end; return out",
        answer["items"],
    )
    item = next((variant for variant in variants if variant["label"] == COMMAND), None)
    assert item is not None, f"{COMMAND} is not among the 5 items or their look-alikes"
    assert item["data"]["package"] == PACKAGE

    nvim.exec_lua("require('extexify').insert(...)", item)

    text = buffer_text(nvim)
    assert f"Call {COMMAND} now." in text
    assert f"\\usepackage{{{PACKAGE}}}" in text

    # An item without edits (recognized for no document) goes in as its label at the cursor.
    nvim.funcs.cursor(1, 1)
    nvim.exec_lua("require('extexify').insert(...)", {"label": item["label"], "data": item["data"]})
    assert nvim.current.buffer[0] == COMMAND + "\\documentclass{article}"


def test_cancelling_a_request_waiting_for_the_server_stops_its_timer(nvim):
    waiting = nvim.exec_lua(
        "local extexify, uv = require('extexify'), vim.uv or vim.loop;"
        " if extexify.client().initialized then return false end;"
        " local new_timer = uv.new_timer; _G.timers = {};"
        " uv.new_timer = function() local t = new_timer(); table.insert(_G.timers, t); return t end;"
        " _G.cancel = extexify.recognize({{{0, 0}, {1, 1}}}, {}, function() end);"
        " uv.new_timer = new_timer; return true"
    )
    if not waiting:
        pytest.skip("the server had already answered `initialize`")
    assert nvim.exec_lua("return #_G.timers") == 1, "the request polls for the server to be ready"
    nvim.exec_lua("_G.cancel()")
    assert nvim.exec_lua("return _G.timers[1]:is_closing()"), "cancel() stops the polling timer"


def test_recognize_reports_bad_strokes_as_an_error(nvim):
    nvim.exec_lua(
        "_G.answer = nil; require('extexify').recognize({{{'a', 1}}}, {}, function(err, items)"
        " _G.answer = {err = err or vim.NIL, items = items or vim.NIL} end)"
    )
    answer = wait_for(lambda: nvim.exec_lua("return _G.answer"), "the error answer")
    assert answer["items"] is None
    assert "x must be a number" in answer["err"]


def test_undo_clear_and_close_keys(nvim):
    line = [np.array([[0.1, 0.1], [0.9, 0.1]]), np.array([[0.1, 0.9], [0.9, 0.9]])]
    mouse = nvim.options["mouse"]
    nvim.command("ExtexifyDraw")
    drag(nvim, line)

    def inked_rows() -> list[int]:
        return [i for i, row in enumerate(pad_lines(nvim, "canvas")) if row.strip()]

    both = wait_for(lambda: len(inked_rows()) == 2 and inked_rows(), "two inked rows", timeout=5)
    nvim.input("u")
    wait_for(lambda: inked_rows() == both[:1], "undo to leave only the first stroke", timeout=5)
    nvim.input("c")
    wait_for(lambda: inked_rows() == [], "clear to remove all ink", timeout=5)
    assert nvim.exec_lua(f"return #{PAD}.canvas.strokes") == 0
    nvim.input("q")
    wait_for(lambda: nvim.exec_lua(f"return {PAD} == nil"), "q to close the pad", timeout=5)
    assert len(nvim.windows) == 1
    assert nvim.options["mouse"] == mouse, "the pad restores 'mouse'"
    assert buffer_text(nvim) == DOCUMENT


def test_escape_closes_and_a_missing_server_is_explained(tmp_path, monkeypatch):
    nvim = start_nvim(tmp_path, monkeypatch, [str(tmp_path / "no-such-extexify-lsp")])
    try:
        nvim.command("ExtexifyDraw")
        status = " ".join(" ".join(pad_lines(nvim, "list")).split())
        assert "no-such-extexify-lsp` was not found" in status
        assert "make install" in status
        nvim.input("<Esc>")
        wait_for(lambda: nvim.exec_lua(f"return {PAD} == nil"), "<Esc> to close the pad", timeout=5)
    finally:
        nvim.close()


@pytest.mark.parametrize("how", ["brackets", "click"])
def test_choosing_a_look_alike_inserts_its_own_edits(nvim, star, how):
    nvim.command("ExtexifyDraw")
    drag(nvim, star)
    wait_for(lambda: candidates(nvim), "the candidates")
    index, variant = find_variant(nvim, BIG_STAR)
    assert nvim.exec_lua(VARIANTS)[index - 1][0] == CORE_STAR, "the star is labelled with the core \\star"
    assert variant > 1

    if how == "click":
        choose(nvim, BIG_STAR, "click")  # on \bigstar among the look-alikes after "or"
    else:
        nvim.input("j" * (index - 1) + "]" * (variant - 1))
        # The look-alike takes the candidate's row, and the label is listed among the look-alikes below it.
        wait_for(lambda: candidates(nvim)[index - 1] == BIG_STAR, "] to show \\bigstar", timeout=5)
        lines = pad_lines(nvim, "list")
        row = nvim.exec_lua(f"return {PAD}.candidate_rows[...]", index)
        assert "amssymb" in lines[row]
        look_alikes = ALTERNATIVES_ROW.match(lines[row + 1])
        assert look_alikes and CORE_STAR in look_alikes["commands"].split()
        nvim.input("[")
        wait_for(lambda: candidates(nvim)[index - 1] != BIG_STAR, "[ to go back", timeout=5)
        nvim.input("]<CR>")

    wait_for(lambda: nvim.exec_lua(f"return {PAD} == nil"), "the pad to close", timeout=5)
    text = buffer_text(nvim)
    # Text mode at the cursor: the math symbol comes wrapped, with its package.
    assert f"Call ${BIG_STAR}$ now." in text
    assert "\\usepackage{amssymb}" in text


def list_text(nvim: pynvim.Nvim) -> str:
    """The pad's candidate list, status included, as one line of words."""
    return " ".join(" ".join(pad_lines(nvim, "list")).split())


def test_extexify_teach_stores_the_drawing_and_inserts_the_command(nvim_with_store, drawing, store):
    nvim = nvim_with_store
    nvim.command("ExtexifyDraw")
    drag(nvim, drawing)
    wait_for(lambda: candidates(nvim), "the candidates")

    nvim.command("ExtexifyTeach \\mycirc mypkg")

    wait_for(lambda: nvim.exec_lua(f"return {PAD} == nil"), "the pad to close")
    # The command at the cursor (wrapped in $...$ and with its \\usepackage line once the server lists
    # taught symbols among the candidates; bare before that).
    text = buffer_text(nvim)
    assert re.search(r"^Call (\$?)\\mycirc\1 now\.$", text, re.MULTILINE), text
    symbols, samples = stored(store)
    assert symbols == [UserSymbol.new("\\mycirc", "mypkg", "math")]
    assert [(sample.symbol_id, sample.source) for sample in samples] == [("user:\\mycirc@mypkg", "taught")]
    assert len(samples[0].strokes) == len(drawing)


def test_extexify_teach_explains_what_is_wrong(tmp_path, monkeypatch, drawing):
    nvim = next(editing(tmp_path, monkeypatch, ["--store", "none"]))
    try:
        nvim.command("ExtexifyDraw")
        for arguments, problem in [
            ("\\mycirc", "draw the symbol on the :ExtexifyDraw pad first"),
            ("mycirc", "a command is a backslash and letters"),
            ("\\mycirc my.pkg", "a package name is letters, digits"),
        ]:
            with pytest.raises(pynvim.NvimError, match=f"extexify: cannot teach: {re.escape(problem)}"):
                nvim.command(f"ExtexifyTeach {arguments}")
            assert problem in list_text(nvim)  # and on the pad, which stays open
            if not nvim.exec_lua(f"return #{PAD}.canvas.strokes"):
                drag(nvim, drawing)

        nvim.command("ExtexifyTeach \\mycirc")
        off = "personalization is off: the server runs with --store none"
        wait_for(lambda: off in list_text(nvim), "the server's reason")
        document = nvim.exec_lua(f"return vim.api.nvim_buf_get_lines({PAD}.origin.buf, 0, -1, false)")
        assert "\n".join(document) + "\n" == DOCUMENT, "nothing is inserted"
    finally:
        nvim.close()


def test_choosing_a_candidate_records_the_choice(nvim_with_store, drawing, store):
    nvim = nvim_with_store
    nvim.command("ExtexifyDraw")
    drag(nvim, drawing)
    wait_for(lambda: candidates(nvim), "the candidates")
    choose(nvim, COMMAND, "number")

    samples = wait_for_samples(store, 1)
    assert [(sample.symbol_id, sample.source) for sample in samples] == [(SYMBOL_ID, "picked")]
    assert len(samples[0].strokes) == len(drawing)
