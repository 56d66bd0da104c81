"""Screenshot of the Neovim pad for the README: a drawing dragged with a real mouse in xterm.

Runs Neovim in an xterm on a virtual X display (Xvfb), opens the pad, drags an infinity sign generated
by tests/editors/synthetic_drawings.py (no Detexify data) as X mouse events (xdotool), waits for the
server's candidates and grabs the window with ImageMagick's `import`. Needs the Debian packages xvfb,
xterm, xdotool and imagemagick:

    python editors/nvim/scripts/screenshot.py [--out PNG]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pynvim

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "editors"))
from synthetic_drawings import infinity  # noqa: E402

PLUGIN_DIR = ROOT / "editors" / "nvim"
COLUMNS, LINES = 118, 34
DISPLAY = ":87"
DOCUMENT = r"""\documentclass{article}
\begin{document}
Hence $\sum_{n=1}^{} 2^{-n} = 1$.
\end{document}
"""
INIT_LUA = """
vim.opt.runtimepath:prepend({plugin!r})
vim.o.background = "dark"
vim.o.swapfile = false
vim.o.mouse = "a"
require("extexify").setup({{ cmd = {{ {server!r} }} }})
"""
TOOLS = ("Xvfb", "xterm", "xdotool", "import")
PAD_HAS_CANDIDATES = "local p = require('extexify.pad').current(); return p and #p.items > 0"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "nvim-pad.png")
    return parser.parse_args()


@contextmanager
def running(argv: list[str], **kwargs: object) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen(argv, **kwargs)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_for(check, what: str, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.1)
    sys.exit(f"timed out waiting for {what}")


def xdotool(*args: str) -> str:
    return subprocess.run(["xdotool", *args], check=True, capture_output=True, text=True).stdout


def drag_drawing(nvim: pynvim.Nvim, window: str, strokes: list) -> None:
    """Drag the unit-square `strokes` over the pad's canvas with the X mouse, button 1 held per stroke."""
    top, left, width, height = nvim.exec_lua(
        "local p = require('extexify.pad').current(); local pos = vim.fn.screenpos(p.canvas_win, 1, 1);"
        " return {pos.row - 1, pos.col - 1, p.canvas.width, p.canvas.height}"
    )
    geometry = dict(
        line.strip().split(": ", 1) for line in xdotool("getwindowgeometry", window).splitlines()[1:]
    )
    pixel_width, pixel_height = (int(v) for v in geometry["Geometry"].split("x"))
    cell_w, cell_h = pixel_width / COLUMNS, pixel_height / LINES
    # Fit the drawing in a square of screen pixels centred on the canvas.
    size = 0.8 * min(width * cell_w, height * cell_h)
    x0 = (left + width / 2) * cell_w - size / 2
    y0 = (top + height / 2) * cell_h - size / 2
    for stroke in strokes:
        points = [(round(x0 + x * size), round(y0 + y * size)) for x, y in stroke]
        steps = ["mousemove", "--window", window, *map(str, points[0]), "mousedown", "1"]
        for x, y in points[1:]:
            steps += ["sleep", "0.01", "mousemove", "--window", window, str(x), str(y)]
        xdotool(*steps, "mouseup", "1")
        time.sleep(0.3)


def main() -> None:
    args = arguments()
    if missing := [tool for tool in TOOLS if shutil.which(tool) is None]:
        sys.exit(f"missing {', '.join(missing)}: apt-get install xvfb xterm xdotool imagemagick")
    server = shutil.which("extexify-lsp") or sys.exit("extexify-lsp is not installed: pip install -e .")
    # The X clients started below (xterm, xdotool, import) use the virtual display.
    os.environ["DISPLAY"] = DISPLAY
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "init.lua").write_text(INIT_LUA.format(plugin=str(PLUGIN_DIR), server=server))
        (work / "doc.tex").write_text(DOCUMENT)
        socket = work / "nvim.sock"
        env = {**os.environ, "XDG_STATE_HOME": tmp, "XDG_CACHE_HOME": tmp}
        xterm = ["xterm", "-geometry", f"{COLUMNS}x{LINES}+0+0", "-b", "0", "-title", "extexify-nvim"]
        xterm += ["-fa", "DejaVu Sans Mono", "-fs", "11", "-bg", "#1e1e2e", "-fg", "#cdd6f4"]
        xterm += ["-e", "nvim", "--listen", str(socket), "-i", "NONE", "-u", str(work / "init.lua")]
        xterm += [str(work / "doc.tex"), "+3", "+normal! 0f^2l"]
        with running(["Xvfb", DISPLAY, "-screen", "0", "1400x900x24", "-nolisten", "tcp"]):
            wait_for(Path(f"/tmp/.X11-unix/X{DISPLAY[1:]}").exists, "the X server")
            with running(xterm, env=env, cwd=tmp):
                wait_for(socket.exists, "Neovim in xterm")
                nvim = pynvim.attach("socket", path=str(socket))
                window = wait_for(
                    lambda: subprocess.run(
                        ["xdotool", "search", "--name", "extexify-nvim"], capture_output=True, text=True
                    ).stdout.split(),
                    "the xterm window",
                )[0]
                nvim.command("ExtexifyDraw")
                drag_drawing(nvim, window, infinity())
                wait_for(lambda: nvim.exec_lua(PAD_HAS_CANDIDATES), "the candidates")
                time.sleep(0.5)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                subprocess.run(["import", "-window", window, str(args.out)], check=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
