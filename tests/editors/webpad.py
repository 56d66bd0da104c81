"""Drive the browser pad for real: `extexify-lsp --ws`, the demo page over http, headless Debian Chromium.

Used by test_web_pad.py and by screenshot_web_pad.py.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from playwright.sync_api import Browser, FrameLocator, Locator, Page, sync_playwright

from training.dataset import Dataset
from training.split import Split

ROOT = Path(__file__).resolve().parents[2]
WEB_DIR = ROOT / "editors" / "web"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Share of the canvas left free around a drawing, as the pad's users tend to leave.
DRAWING_MARGIN = 0.15
CANDIDATE = ".extexify-pad__candidate"
CHIP = ".extexify-pad__chip"
FRESH_CANDIDATE = ".extexify-pad__candidates:not(.extexify-pad__candidates--stale) .extexify-pad__candidate"


class ServerStartError(RuntimeError):
    """extexify-lsp did not come up; the message carries its stderr."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def lsp_executable() -> str:
    """The `extexify-lsp` installed beside this Python, else the one on PATH."""
    beside = Path(sys.executable).with_name("extexify-lsp")
    found = str(beside) if beside.is_file() else shutil.which("extexify-lsp")
    if found is None:
        raise ServerStartError("extexify-lsp is not installed: run `pip install -e .`")
    return found


def _new_log_file() -> Path:
    handle, path = tempfile.mkstemp(prefix="extexify-lsp-", suffix=".log")
    os.close(handle)
    return Path(path)


@dataclass
class WebSocketServer:
    """`extexify-lsp --ws 127.0.0.1:PORT` as a child process that can be stopped and started again."""

    port: int = field(default_factory=free_port)
    args: Sequence[str] = ()  # more arguments, e.g. `--store PATH`; without one, `--store none`
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=_new_log_file)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> None:
        """Start the server and wait until it accepts connections (it loads the model first)."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [lsp_executable(), "--ws", f"127.0.0.1:{self.port}", *keeps_nothing(self.args)],
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise ServerStartError(f"extexify-lsp exited with {code}:\n{self.output()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise ServerStartError(
            f"extexify-lsp did not listen on {self.url} within {timeout} s:\n{self.output()}"
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


# An init script recording what the page sends to the server, in window.sentMessages.
RECORD_SENT = """
window.sentMessages = [];
window.WebSocket = class extends window.WebSocket {
    send(data) {
        window.sentMessages.push(JSON.parse(data));
        super.send(data);
    }
};
"""

# The commonest opaque colour on the pad's canvas: the ink (edges blend it with the background).
# What the browser tests draw, and where: a star is hard to mistake, and \bigstar comes from a package, so
# choosing it adds a \usepackage line.
STAR_ID = "latex:amssymb:bigstar"
STAR_COMMAND = r"\bigstar"
STAR_DOCUMENT = "\\documentclass{article}\n\\begin{document}\nLet $x  y$.\n\\end{document}\n"
STAR_CURSOR = STAR_DOCUMENT.index("$x  y$") + len("$x ")

INK_COLOUR = """() => {
    const canvas = document.querySelector('.extexify-pad__canvas');
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const counts = new Map();
    for (let i = 0; i < pixels.length; i += 4) {
        if (pixels[i + 3] !== 255) continue;
        const hex = '#' + [0, 1, 2].map(c => pixels[i + c].toString(16).padStart(2, '0')).join('');
        counts.set(hex, (counts.get(hex) ?? 0) + 1);
    }
    return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
}"""


def keeps_nothing(args: Sequence[str]) -> list[str]:
    """Server arguments with `--store none` unless they name a store: the choices a test makes (each
    insertion records one) must not reach the recognition of later tests."""
    return list(args) if "--store" in args else [*args, "--store", "none"]


@contextmanager
def running_server(*args: str) -> Iterator[WebSocketServer]:
    server = WebSocketServer(args=args)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.log.unlink(missing_ok=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep test output clean."""


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve `directory` over http on 127.0.0.1; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; Playwright's own browser builds are never downloaded."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def unseen_drawing(full_dataset_and_split: tuple[Dataset, Split], symbol_id: str) -> list[np.ndarray]:
    """A drawing of `symbol_id` from the test split: a real drawing the model never trained on."""
    dataset, split = full_dataset_and_split
    return dataset.drawing(next(int(i) for i in split.test if dataset.symbol_id(int(i)) == symbol_id))


def on_canvas(
    page: Page, strokes: Sequence[np.ndarray], canvas: str | Locator = ".extexify-pad__canvas"
) -> list[list[tuple[float, float]]]:
    """`strokes` ((n, 2+) arrays in the unit square) in page coordinates on the pad's canvas."""
    # A Locator reaches a canvas inside an iframe (VS Code's webview); its box is in page coordinates.
    box = (page.locator(canvas) if isinstance(canvas, str) else canvas).bounding_box()
    assert box is not None, f"{canvas} is not visible"
    side = min(box["width"], box["height"]) * (1 - 2 * DRAWING_MARGIN)
    left = box["x"] + (box["width"] - side) / 2
    top = box["y"] + (box["height"] - side) / 2
    return [[(left + x * side, top + y * side) for x, y in np.asarray(st)[:, :2].tolist()] for st in strokes]


def drag(page: Page, points: Sequence[tuple[float, float]]) -> None:
    """One stroke: press at the first point, move through the rest, release."""
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point)
    page.mouse.up()


def draw(page: Page, strokes: Sequence[np.ndarray], canvas: str | Locator = ".extexify-pad__canvas") -> None:
    """Drag the mouse along `strokes` ((n, 2+) arrays in the unit square) on the pad's canvas."""
    for points in on_canvas(page, strokes, canvas):
        drag(page, points)


def candidate(command: str) -> str:
    """CSS selector of the pad's candidate showing `command` (backslashes escaped for the CSS string)."""
    return f'{CANDIDATE}[data-command="{_css_string(command)}"]'


def chip(command: str) -> str:
    """CSS selector of the chip for the look-alike `command` (under a candidate)."""
    return f'{CHIP}[data-command="{_css_string(command)}"]'


def _css_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def wait_for_candidates(pad: Page | FrameLocator, timeout_ms: float = 30_000) -> list[list[str]]:
    """The pad's candidates once it has recognized the whole drawing, best first: for each, the command it
    shows, then its look-alikes' (its chips)."""
    pad.locator(FRESH_CANDIDATE).first.wait_for(timeout=timeout_ms)
    return pad.locator(CANDIDATE).evaluate_all(
        f"""nodes => nodes.map(node => [
            node.dataset.command,
            ...[...node.querySelectorAll('{CHIP}')].map(chip => chip.dataset.command),
        ])"""
    )


def find_variant(candidates: list[list[str]], command: str, within: int = 5) -> tuple[int, int]:
    """Where `command` is among the first `within` candidates: (candidate, variant) indexes, 0-based."""
    for index, variants in enumerate(candidates[:within]):
        if command in variants:
            return index, variants.index(command)
    raise AssertionError(f"{command} is not among the top {within} candidates {candidates[:within]}")


def glyph_image(pad: Page | FrameLocator, command: str) -> Locator:
    """The image shown for `command` (KaTeX cannot typeset it): its candidate's glyph or its chip."""
    return pad.locator(
        f"{candidate(command)} .extexify-pad__glyph img, {CANDIDATE} {chip(command)} img"
    ).first


def click_variant(pad: Page | FrameLocator, command: str) -> None:
    """Click the candidate showing `command`, else the chip of that look-alike."""
    shown = pad.locator(candidate(command))
    (shown if shown.count() > 0 else pad.locator(chip(command))).first.click()


TEACH_FORM = ".extexify-teach"
TEACH_MESSAGE = ".extexify-teach__message"


def open_teach_form(pad: Page | FrameLocator) -> Locator:
    """The pad's "Not listed? Teach it" form, opened."""
    form = pad.locator(TEACH_FORM)
    if form.get_attribute("open") is None:
        form.locator("summary").click()
    return form


def fill_teach_form(pad: Page | FrameLocator, command: str, package: str = "") -> Locator:
    """Type `command` and `package` into the opened teach form; returns the form."""
    form = open_teach_form(pad)
    form.locator("input[name=command]").fill(command)
    form.locator("input[name=package]").fill(package)
    return form
