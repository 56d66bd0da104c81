"""Run the VS Code extension in a real VS Code: code-server (VS Code served to a browser, from npm) in
headless Chromium, with the extension installed from its .vsix and the real `extexify-lsp`.

Used by test_vscode.py and by screenshot_vscode.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import FrameLocator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from webpad import ROOT, free_port

EXTENSION_DIR = ROOT / "editors" / "vscode"
VSIX = EXTENSION_DIR / "extexify.vsix"
INSTALL_SCRIPT = EXTENSION_DIR / "scripts" / "install-code-server.sh"
PAD_CANVAS = ".extexify-pad__canvas"
PAD_KEY_ATTEMPTS = 6
# The settings of a quiet, reproducible VS Code: no welcome page, tips, telemetry or update checks.
BASE_SETTINGS = {
    "workbench.colorTheme": "Default Dark Modern",
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "telemetry.telemetryLevel": "off",
    "security.workspace.trust.enabled": False,
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "update.mode": "none",
    "chat.disableAIFeatures": True,
}


class CodeServerError(RuntimeError):
    """code-server could not be installed or started; the message carries its output."""


def install_code_server() -> Path:
    """The code-server install directory; installs it first if needed (`make install-dev` does it)."""
    result = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=900, check=False
    )
    if result.returncode != 0:
        raise CodeServerError(f"{INSTALL_SCRIPT} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


@dataclass
class CodeServer:
    """One code-server with its own user data, extensions and config under `state`."""

    install: Path
    state: Path

    @property
    def entry(self) -> Path:
        return self.install / "out" / "node" / "entry.js"

    def env(self) -> dict[str, str]:
        # code-server writes its config under XDG_CONFIG_HOME: keep it out of the user's home.
        return {
            **os.environ,
            "XDG_CONFIG_HOME": str(self.state / "config"),
            "XDG_DATA_HOME": str(self.state / "data"),
        }

    def args(self) -> list[str]:
        return [
            "node",
            str(self.entry),
            "--user-data-dir",
            str(self.state / "user-data"),
            "--extensions-dir",
            str(self.state / "extensions"),
        ]

    def configure(self, settings: dict[str, object]) -> None:
        user = self.state / "user-data" / "User"
        user.mkdir(parents=True, exist_ok=True)
        (user / "settings.json").write_text(json.dumps({**BASE_SETTINGS, **settings}, indent=2))

    def install_extension(self, vsix: Path) -> None:
        result = subprocess.run(
            [*self.args(), "--install-extension", str(vsix), "--force"],
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=120,
            check=False,
        )
        if result.returncode != 0 or "successfully installed" not in result.stdout:
            raise CodeServerError(f"installing {vsix} failed:\n{result.stdout}\n{result.stderr[-4000:]}")

    @contextmanager
    def serve(self, folder: Path, timeout: float = 60.0) -> Iterator[str]:
        """Serves VS Code with `folder` open; yields the URL to load in the browser."""
        port = free_port()
        log_path = self.state / "code-server.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [
                    *self.args(),
                    "--auth",
                    "none",
                    "--bind-addr",
                    f"127.0.0.1:{port}",
                    "--disable-telemetry",
                    "--disable-update-check",
                    "--disable-workspace-trust",
                    str(folder),
                ],
                stdout=log,
                stderr=log,
                env=self.env(),
            )
        try:
            deadline = time.monotonic() + timeout
            while "HTTP server listening" not in log_path.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise CodeServerError(f"code-server did not start:\n{log_path.read_text()[-4000:]}")
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}/?folder={folder}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def vscode_with_extension(state: Path, folder: Path, settings: dict[str, object]) -> Iterator[str]:
    """A VS Code with the packaged extension (editors/vscode/extexify.vsix) and `settings`; yields its URL."""
    if not VSIX.is_file():
        raise CodeServerError(f"{VSIX} is missing: run `npm test` in editors/vscode first")
    server = CodeServer(install_code_server(), state)
    server.configure(settings)
    server.install_extension(VSIX)
    with server.serve(folder) as url:
        yield url


def open_pad(page: Page, url: str, file_name: str, line: int, column: int) -> FrameLocator:
    """Opens `file_name` with the cursor at `line`:`column` (1-based), then the pad with the key binding."""
    page.goto(url)
    page.get_by_role("treeitem", name=file_name).click(timeout=60_000)
    page.locator(".monaco-editor .view-lines").first.wait_for(timeout=30_000)
    page.keyboard.press("Control+g")
    page.keyboard.type(f"{line}:{column}")
    page.keyboard.press("Enter")
    page.get_by_text(f"Ln {line}, Col {column}").wait_for(timeout=10_000)
    # The key binding needs the focus back in the editor (its `when` clause is editorTextFocus).
    page.locator(".quick-input-widget").wait_for(state="hidden", timeout=10_000)
    page.locator(".monaco-editor.focused").wait_for(timeout=10_000)
    # The webview: VS Code's iframe, and inside it the frame holding our HTML.
    pad = page.frame_locator("iframe.webview.ready").frame_locator("#active-frame")
    # VS Code registers the extension's key bindings a moment after the workbench shows: until then the key
    # does nothing (for a user as well), so press it again after a while. A second press only reveals the pad.
    for _ in range(PAD_KEY_ATTEMPTS):
        page.keyboard.press("Control+Alt+d")
        try:
            pad.locator(PAD_CANVAS).wait_for(timeout=10_000)
            return pad
        except PlaywrightTimeoutError:
            continue
    raise CodeServerError(f"Ctrl+Alt+D did not open the pad ({PAD_KEY_ATTEMPTS} tries)")
