"""The VS Code extension: `npm test` (type-check, lint, unit tests, build, `vsce package`) passes, the .vsix
holds both bundles, and, installed in a real VS Code (code-server in headless Chromium) with the real server
and model, drawing a real Detexify drawing on its pad inserts the command and its `\\usepackage` line."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from codeserver import PAD_CANVAS, VSIX, open_pad, vscode_with_extension
from playwright.sync_api import FrameLocator, Page, expect
from webpad import (
    CANDIDATE,
    ROOT,
    chip,
    chromium,
    click_variant,
    draw,
    find_variant,
    glyph_image,
    lsp_executable,
    wait_for_candidates,
)

EXTENSION = ROOT / "editors" / "vscode"
# A star is hard to mistake (the browser pad's test draws it too); from amssymb, so choosing it adds the line.
SYMBOL_ID = "latex:amssymb:bigstar"
COMMAND = r"\bigstar"
DOCUMENT = "\\documentclass{article}\n\\begin{document}\nFor all $x$ we have $x  1$.\n\\end{document}\n"
# The cursor between the two spaces of `$x  1$`, as VS Code counts: line 3, column 24 (1-based).
LINE, COLUMN = 3, DOCUMENT.splitlines()[2].index("$x  1$") + len("$x ") + 1
VIEWPORT = {"width": 1400, "height": 800}


@pytest.fixture(scope="module")
def npm_test() -> subprocess.CompletedProcess[str]:
    """Runs the extension's `npm test` once, from a clean slate so a stale .vsix cannot pass for a new one."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed: the VS Code extension is built with node and npm")
    for name in ("node_modules", "../pad/node_modules"):
        if not (EXTENSION / name).is_dir():
            pytest.fail(f"editors/vscode/{name} is missing: run `make install-dev` (npm ci) first")
    VSIX.unlink(missing_ok=True)
    shutil.rmtree(EXTENSION / "dist", ignore_errors=True)
    return subprocess.run(
        [npm, "test"], cwd=EXTENSION, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.slow
@pytest.mark.timeout(660)
def test_npm_test_passes(npm_test: subprocess.CompletedProcess[str]) -> None:
    output = npm_test.stdout + npm_test.stderr
    assert npm_test.returncode == 0, output[-6000:]
    # The unit tests really ran and all passed (node --test prints a summary).
    passed = re.search(r"^# pass (\d+)$", output, re.MULTILINE)
    assert passed and int(passed.group(1)) > 0, output[-3000:]
    assert re.search(r"^# fail 0$", output, re.MULTILINE), output[-3000:]


@pytest.mark.slow
@pytest.mark.timeout(660)
def test_vsix_holds_the_bundles_and_the_manifest(npm_test: subprocess.CompletedProcess[str]) -> None:
    assert npm_test.returncode == 0, (npm_test.stdout + npm_test.stderr)[-6000:]
    assert VSIX.is_file(), "npm test did not produce editors/vscode/extexify.vsix"
    with zipfile.ZipFile(VSIX) as vsix:
        names = set(vsix.namelist())
        manifest = json.loads(vsix.read("extension/package.json"))
        extension_js = vsix.read("extension/dist/extension.js").decode()
        webview_css = vsix.read("extension/dist/webview.css").decode()
    assert {"extension/dist/extension.js", "extension/dist/webview.js", "extension/dist/webview.css"} <= names
    # Bundled: no sources or node_modules shipped, and the language client is inside extension.js.
    assert not any(name.startswith(("extension/node_modules/", "extension/src/")) for name in names)
    assert "extexify/recognizeStrokes" in extension_js
    assert 'require("vscode")' in extension_js
    # KaTeX's fonts travel with the webview CSS that references them.
    assert "KaTeX_Main-Regular.woff2" in webview_css
    assert "extension/dist/fonts/KaTeX_Main-Regular.woff2" in names

    assert manifest["main"] == "./dist/extension.js"
    contributes = manifest["contributes"]
    assert [command["command"] for command in contributes["commands"]] == ["extexify.draw", "extexify.taught"]
    assert contributes["keybindings"][0]["command"] == "extexify.draw"
    settings = contributes["configuration"]["properties"]
    assert settings["extexify.server.command"]["default"] == "extexify-lsp"
    assert settings["extexify.server.args"]["default"] == []
    assert {"onLanguage:latex", "onLanguage:tex"} <= set(manifest["activationEvents"])


@contextmanager
def pad_in_vscode(tmp_path: Path, settings: dict[str, object]) -> Iterator[tuple[Page, FrameLocator, Path]]:
    """code-server with the extension and `settings`, DOCUMENT open in it and the pad beside it: the page,
    the pad and the document's file."""
    folder = tmp_path / "paper"
    folder.mkdir()
    document = folder / "paper.tex"
    document.write_text(DOCUMENT)
    with vscode_with_extension(tmp_path / "code-server", folder, settings) as url, chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        yield page, open_pad(page, url, document.name, LINE, COLUMN), document


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_drawing_in_vs_code_inserts_the_command_and_its_package(
    npm_test: subprocess.CompletedProcess[str], source_samples, tmp_path: Path
) -> None:
    assert npm_test.returncode == 0, (npm_test.stdout + npm_test.stderr)[-6000:]
    strokes = source_samples([SYMBOL_ID])[0].strokes
    settings = {"extexify.server.command": lsp_executable()}
    with pad_in_vscode(tmp_path, settings) as (page, pad, document):
        draw(page, strokes, canvas=pad.locator(PAD_CANVAS))
        find_variant(wait_for_candidates(pad, timeout_ms=60_000), COMMAND)

        click_variant(pad, COMMAND)
        # Inserted, the pad cleared for the next symbol, and the focus back in the editor with the cursor
        # right after the command: what is typed next follows it.
        expect(pad.locator(CANDIDATE)).to_have_count(0)
        page.locator(".monaco-editor.focused").wait_for(timeout=10_000)
        page.keyboard.type("!")
        page.keyboard.press("Control+s")
        expected = DOCUMENT.replace("\\begin{document}", "\\usepackage{amssymb}\n\\begin{document}").replace(
            "$x  1$", f"$x {COMMAND}! 1$"
        )
        assert_saved_as(document, expected)

        # Draw again, but move the cursor to the start of the text line before choosing: the server's edits
        # were for the old place, so the extension asks again, and in text mode the math symbol comes wrapped
        # in $...$ (the package line is already there).
        draw(page, strokes, canvas=pad.locator(PAD_CANVAS))
        wait_for_candidates(pad, timeout_ms=60_000)
        page.locator(".view-line", has_text="For all").click(position={"x": 1, "y": 5})
        page.get_by_text(f"Ln {LINE + 1}, Col 1").wait_for(timeout=10_000)
        click_variant(pad, COMMAND)
        expect(pad.locator(CANDIDATE)).to_have_count(0)
        page.locator(".monaco-editor.focused").wait_for(timeout=10_000)
        page.keyboard.press("Control+s")
        assert_saved_as(document, expected.replace("For all", f"${COMMAND}$For all"))


# \star and \bigstar draw alike: one candidate, labelled \star in a document without amssymb.
CORE_STAR = r"\star"
# wasysym's telephone: KaTeX cannot typeset it, so the pad shows the server's glyph image.
UNTYPESET_ID = "latex:wasysym:phone"
UNTYPESET_COMMAND = r"\phone"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_vs_code_pad_offers_look_alikes_and_shows_server_glyphs(
    npm_test: subprocess.CompletedProcess[str], source_samples, tmp_path: Path
) -> None:
    assert npm_test.returncode == 0, (npm_test.stdout + npm_test.stderr)[-6000:]
    star, phone = (source_samples([symbol])[0].strokes for symbol in (SYMBOL_ID, UNTYPESET_ID))
    settings = {"extexify.server.command": lsp_executable()}
    with pad_in_vscode(tmp_path, settings) as (page, pad, document):
        draw(page, star, canvas=pad.locator(PAD_CANVAS))
        candidates = wait_for_candidates(pad, timeout_ms=60_000)
        index, variant = find_variant(candidates, COMMAND)
        assert candidates[index][0] == CORE_STAR, f"the star is not labelled {CORE_STAR}: {candidates}"
        entry = pad.locator(CANDIDATE).nth(index)

        # Tab brings the look-alike into the candidate's place (the label becomes a chip); Enter inserts it
        # with its own edits: the command and the \usepackage line the core \star would not have needed.
        for _ in range(index + 1):
            page.keyboard.press("ArrowDown")
        for _ in range(variant):
            page.keyboard.press("Tab")
        expect(entry).to_have_attribute("data-command", COMMAND)
        expect(entry.locator(chip(CORE_STAR))).to_have_count(1)
        page.keyboard.press("Enter")
        expect(pad.locator(CANDIDATE)).to_have_count(0)
        page.locator(".monaco-editor.focused").wait_for(timeout=10_000)
        page.keyboard.press("Control+s")
        expected = DOCUMENT.replace("\\begin{document}", "\\usepackage{amssymb}\n\\begin{document}").replace(
            "$x  1$", f"$x {COMMAND} 1$"
        )
        assert_saved_as(document, expected)

        draw(page, phone, canvas=pad.locator(PAD_CANVAS))
        find_variant(wait_for_candidates(pad, timeout_ms=60_000), UNTYPESET_COMMAND)
        glyph = glyph_image(pad, UNTYPESET_COMMAND)
        expect(glyph).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
        assert glyph.evaluate("image => image.complete && image.naturalWidth > 0"), "the glyph does not load"


def assert_saved_as(document: Path, expected: str, timeout: float = 10.0) -> None:
    """Waits for VS Code to save `document` with the `expected` text."""
    deadline = time.monotonic() + timeout
    while document.read_text() != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert document.read_text() == expected


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_vs_code_says_how_to_install_a_missing_server(
    npm_test: subprocess.CompletedProcess[str], tmp_path: Path
) -> None:
    assert npm_test.returncode == 0, (npm_test.stdout + npm_test.stderr)[-6000:]
    settings = {"extexify.server.command": "extexify-lsp-not-installed"}
    with pad_in_vscode(tmp_path, settings) as (page, pad, _):
        notification = page.locator(".notification-toast", has_text="extexify-lsp-not-installed")
        expect(notification).to_contain_text("make install")
        expect(notification.get_by_role("button", name="Open Settings")).to_be_visible()
        expect(pad.locator(".extexify-pad__error")).to_contain_text("was not found")
