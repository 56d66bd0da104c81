"""extexify-codemirror's demo editor in headless Chromium against the real `extexify-lsp --ws` and model."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect
from webpad import (
    CANDIDATE,
    INK_COLOUR,
    RECORD_SENT,
    ROOT,
    STAR_COMMAND,
    STAR_CURSOR,
    STAR_DOCUMENT,
    STAR_ID,
    WebSocketServer,
    draw,
    find_variant,
    glyph_image,
    running_server,
    serve_directory,
    unseen_drawing,
    wait_for_candidates,
)

from training.dataset import Dataset
from training.split import Split

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CODEMIRROR_DIR = ROOT / "editors" / "codemirror"
# Star shapes are hard to mistake; \star (core LaTeX) labels the group, \bigstar (amssymb) is its look-alike.
CORE_STAR = r"\star"
PACKAGE_LINE = "\\usepackage{amssymb}\n"
STATUS = ".cm-extexify-status"
PAD = ".cm-extexify-pad"
ERROR = ".extexify-pad__error"


@pytest.fixture(scope="module")
def codemirror_build() -> None:
    """editors/codemirror type-checked, linted and bundled into dist/ (the demo loads the bundle)."""
    result = subprocess.run(["npm", "test"], cwd=CODEMIRROR_DIR, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"npm test in editors/codemirror failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def star_strokes(full_dataset_and_split: tuple[Dataset, Split]) -> list[np.ndarray]:
    return unseen_drawing(full_dataset_and_split, STAR_ID)


@pytest.fixture
def lsp_server(tmp_path: Path) -> Iterator[WebSocketServer]:
    with running_server("--store", str(tmp_path / "samples.sqlite3")) as server:
        yield server


@pytest.fixture
def base_url(codemirror_build: None) -> Iterator[str]:
    with serve_directory(CODEMIRROR_DIR) as url:
        yield url


@pytest.fixture
def editor(base_url: str, lsp_server: WebSocketServer, browser: Browser) -> Iterator[Page]:
    """The demo editor connected to the server, holding STAR_DOCUMENT with the cursor inside `$x  y$`."""
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    page.add_init_script(RECORD_SENT)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base_url}/demo/?server={lsp_server.url}")
    wait_until_ready(page)
    set_document(page, STAR_DOCUMENT, STAR_CURSOR)
    yield page
    assert errors == [], f"uncaught errors on the page: {errors}"


def wait_until_ready(page: Page) -> None:
    expect(page.locator(STATUS)).to_have_attribute("data-state", "ready", timeout=30_000)


def set_document(page: Page, text: str, cursor: int) -> None:
    page.evaluate(
        """([text, cursor]) => {
            const view = extexifyDemo.view;
            const changes = {from: 0, to: view.state.doc.length, insert: text};
            view.dispatch({changes, selection: {anchor: cursor}});
        }""",
        [text, cursor],
    )


def document(page: Page) -> str:
    return page.evaluate("() => extexifyDemo.view.state.doc.toString()")


def expect_document(page: Page, text: str, timeout_ms: float = 10_000) -> None:
    page.wait_for_function(
        "text => extexifyDemo.view.state.doc.toString() === text", arg=text, timeout=timeout_ms
    )


def with_star(command: str, package: bool) -> str:
    text = STAR_DOCUMENT.replace("$x  y$", f"$x {command} y$")
    return text.replace("\\begin{document}", PACKAGE_LINE + "\\begin{document}") if package else text


def choose_by_keys(page: Page, index: int, variant: int) -> None:
    """From the canvas: to candidate `index`, Tab to its look-alike `variant`, then its number key."""
    for _ in range(index + 1):
        page.keyboard.press("ArrowDown")
    for _ in range(variant):
        page.keyboard.press("Tab")
    page.keyboard.press(str(index + 1))


def test_the_demo_opens_with_the_pad_and_pressing_1_inserts_the_first_candidate(
    editor: Page, star_strokes: list[np.ndarray]
) -> None:
    expect(editor.locator(PAD)).to_be_visible()
    draw(editor, star_strokes)
    candidates = wait_for_candidates(editor)
    assert candidates[0][0] == CORE_STAR, f"the star is not the first candidate: {candidates}"

    editor.keyboard.press("1")

    expect_document(editor, with_star(CORE_STAR, package=False))
    expect(editor.locator(CANDIDATE)).to_have_count(0)  # the pad is cleared for the next symbol
    # The choice is recorded on the server with the item's own command.
    commands = editor.evaluate(
        "() => sentMessages.filter(m => m.method === 'workspace/executeCommand').map(m => m.params)"
    )
    assert [c["command"] for c in commands] == ["extexify.recordChoice"]
    assert commands[0]["arguments"][0]["symbolId"] == "latex:latex2e:star"


def test_tab_picks_the_look_alike_with_its_package_line(editor: Page, star_strokes: list[np.ndarray]) -> None:
    draw(editor, star_strokes)
    index, variant = find_variant(wait_for_candidates(editor), STAR_COMMAND)
    assert variant > 0

    choose_by_keys(editor, index, variant)

    expect_document(editor, with_star(STAR_COMMAND, package=True))
    # The cursor is after the inserted command, ready to type on.
    assert editor.evaluate("() => extexifyDemo.view.state.selection.main.head") == (
        with_star(STAR_COMMAND, package=True).index(STAR_COMMAND) + len(STAR_COMMAND)
    )


def test_edits_made_while_drawing_are_mapped_into_the_one_transaction(
    editor: Page, star_strokes: list[np.ndarray]
) -> None:
    draw(editor, star_strokes)
    index, variant = find_variant(wait_for_candidates(editor), STAR_COMMAND)
    # Typed after the answer came: a comment line above and text at the cursor.
    editor.evaluate(
        """() => {
            const view = extexifyDemo.view;
            view.dispatch({changes: {from: 0, insert: "% draft\\n"}});
            const head = view.state.selection.main.head;
            view.dispatch({changes: {from: head, insert: "2"}, selection: {anchor: head + 1}});
        }"""
    )
    before = editor.evaluate("() => extexifyDemo.view.state.doc.length")
    editor.locator(".extexify-pad__canvas").focus()

    choose_by_keys(editor, index, variant)

    expected = "% draft\n" + with_star(STAR_COMMAND, package=True).replace(
        f"$x {STAR_COMMAND}", f"$x 2{STAR_COMMAND}"
    )
    expect_document(editor, expected)
    # One transaction: a single undo takes the command and its package line back out.
    after = editor.evaluate("() => extexifyDemo.view.state.doc.length")
    assert after == before + len(STAR_COMMAND) + len(PACKAGE_LINE)
    editor.evaluate("() => { extexifyDemo.view.focus(); }")
    editor.keyboard.press("Control+z")
    expect_document(editor, "% draft\n" + STAR_DOCUMENT.replace("$x  y$", "$x 2 y$"))


def test_choosing_after_moving_the_cursor_asks_again_for_the_new_place(
    editor: Page, star_strokes: list[np.ndarray]
) -> None:
    draw(editor, star_strokes)
    index, variant = find_variant(wait_for_candidates(editor), STAR_COMMAND)
    # Into text mode: the math-only command must now come wrapped in $...$.
    text_mode = STAR_DOCUMENT.index("\\end{document}")
    editor.evaluate(f"() => extexifyDemo.view.dispatch({{selection: {{anchor: {text_mode}}}}})")
    editor.locator(".extexify-pad__canvas").focus()

    choose_by_keys(editor, index, variant)

    expected = STAR_DOCUMENT.replace("\\begin{document}", PACKAGE_LINE + "\\begin{document}").replace(
        "\\end{document}", f"${STAR_COMMAND}$\\end{{document}}"
    )
    expect_document(editor, expected)


def test_completion_after_a_backslash_and_hover(editor: Page) -> None:
    editor.locator(".cm-content").click()
    editor.evaluate(f"() => extexifyDemo.view.dispatch({{selection: {{anchor: {STAR_CURSOR}}}}})")
    editor.keyboard.type("\\bigsta")
    option = editor.locator(".cm-tooltip-autocomplete li", has_text=STAR_COMMAND).first
    expect(option).to_be_visible(timeout=15_000)
    option.click()
    expect_document(editor, with_star(STAR_COMMAND, package=True))

    # The command is one token of the LaTeX grammar: one element to rest the mouse on.
    editor.locator(".cm-content").get_by_text(STAR_COMMAND, exact=True).hover()
    hover = editor.locator(".cm-tooltip-hover")
    expect(hover).to_contain_text("amssymb", timeout=15_000)


def test_the_editor_reconnects_after_a_server_restart_and_syncs_the_document_again(
    editor: Page, lsp_server: WebSocketServer, star_strokes: list[np.ndarray]
) -> None:
    lsp_server.stop()
    expect(editor.locator(STATUS)).to_have_attribute("data-state", "disconnected", timeout=15_000)
    expect(editor.locator(ERROR)).to_be_visible()
    # Edited while the server is away: the package is now loaded.
    with_package = STAR_DOCUMENT.replace("\\begin{document}", PACKAGE_LINE + "\\begin{document}")
    set_document(editor, with_package, with_package.index("$x  y$") + len("$x "))

    lsp_server.start()
    wait_until_ready(editor)
    expect(editor.locator(ERROR)).to_be_hidden()
    draw(editor, star_strokes)
    index, variant = find_variant(wait_for_candidates(editor), STAR_COMMAND)
    choose_by_keys(editor, index, variant)

    # The server knows the package is loaded: no second \usepackage line.
    expect_document(editor, with_star(STAR_COMMAND, package=True))


def test_the_document_survives_a_reload(editor: Page, lsp_server: WebSocketServer) -> None:
    text = STAR_DOCUMENT.replace("Let", "Kept across reloads: let")
    set_document(editor, text, 0)  # the page says "Saving…" until IndexedDB has it
    expect(editor.locator("#saved")).to_have_text("Saved in this browser")

    editor.reload()
    wait_until_ready(editor)
    assert document(editor) == text


def test_mod_alt_d_and_the_button_toggle_the_pad(editor: Page) -> None:
    editor.locator(".cm-content").click()
    editor.keyboard.press("Control+Alt+d")
    expect(editor.locator(PAD)).to_have_count(0)
    editor.locator(".cm-extexify-toggle").click()
    expect(editor.locator(PAD)).to_be_visible()
    expect(editor.locator(".extexify-pad__canvas")).to_be_focused()
    # From inside the pad too, back to the editor.
    editor.keyboard.press("Control+Alt+d")
    expect(editor.locator(PAD)).to_have_count(0)
    expect(editor.locator(".cm-content")).to_be_focused()


def test_teaching_a_drawing_inserts_the_new_command(editor: Page, star_strokes: list[np.ndarray]) -> None:
    draw(editor, star_strokes)
    wait_for_candidates(editor)
    editor.locator(".extexify-teach__summary").click()
    editor.locator(".extexify-teach__command").fill(r"\mystar")
    editor.locator(".extexify-teach__submit").click()

    expect_document(editor, with_star(r"\mystar", package=False))
    # Teaching stored the drawing already: no choice is recorded for it.
    commands = editor.evaluate("() => sentMessages.filter(m => m.method === 'workspace/executeCommand')")
    assert commands == []
    assert editor.evaluate("() => sentMessages.filter(m => m.method === 'extexify/teach').length") == 1


PAD_COLOURS = """() => {
    const pad = getComputedStyle(document.querySelector('.extexify-pad'));
    return [pad.backgroundColor, pad.getPropertyValue('--pad-ink').trim()];
}"""


def test_the_pad_follows_the_editors_theme_not_the_systems(
    base_url: str, lsp_server: WebSocketServer, browser: Browser
) -> None:
    colours = {}
    schemes: tuple[tuple[Literal["dark", "light"], str], ...] = (("dark", "light"), ("light", "dark"))
    for system, editor_theme in schemes:
        page = browser.new_page(color_scheme=system)
        page.goto(f"{base_url}/demo/?server={lsp_server.url}&theme={editor_theme}")
        wait_until_ready(page)
        colours[editor_theme] = page.evaluate(PAD_COLOURS)
        page.close()
    assert colours["light"] == ["rgb(255, 255, 255)", "#1f2328"]
    assert colours["dark"] == ["rgb(13, 17, 23)", "#e6edf3"]


def test_a_drawing_is_repainted_when_the_editor_turns_dark(
    editor: Page, star_strokes: list[np.ndarray]
) -> None:
    draw(editor, star_strokes)
    assert editor.evaluate(INK_COLOUR) == "#1f2328"

    editor.select_option("#theme", "dark")  # the editor alone turns dark, not the system

    expect(editor.locator(".extexify-pad")).to_have_css("background-color", "rgb(13, 17, 23)")
    editor.wait_for_function(f"() => ({INK_COLOUR})() === '#e6edf3'", timeout=5_000)


def test_a_symbol_katex_cannot_typeset_shows_the_server_glyph(
    editor: Page, full_dataset_and_split: tuple[Dataset, Split]
) -> None:
    draw(editor, unseen_drawing(full_dataset_and_split, "latex:wasysym:phone"))
    find_variant(wait_for_candidates(editor), r"\phone")

    glyph = glyph_image(editor, r"\phone")
    expect(glyph).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    assert glyph.evaluate("image => image.complete && image.naturalWidth > 0"), "the glyph does not load"
    asked = editor.evaluate("() => sentMessages.filter(m => m.method === 'extexify/glyphs')")
    assert any("latex:wasysym:phone" in request["params"]["symbolIds"] for request in asked)
