"""The browser pad in headless Chromium against the real `extexify-lsp --ws` and the real model."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect
from webpad import (
    CANDIDATE,
    INK_COLOUR,
    ROOT,
    STAR_COMMAND,
    STAR_CURSOR,
    STAR_DOCUMENT,
    STAR_ID,
    WEB_DIR,
    WebSocketServer,
    chip,
    click_variant,
    drag,
    draw,
    find_variant,
    glyph_image,
    on_canvas,
    running_server,
    serve_directory,
    unseen_drawing,
    wait_for_candidates,
)

from training.dataset import Dataset
from training.split import Split

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# The package \bigstar comes from.
PACKAGE = "amssymb"
ERROR = ".extexify-pad__error"
# A stopped server closes the connection at once but takes a moment to exit: by the time it has, the client
# may have tried once to reconnect, and says so.
CONNECTION_LOST = re.compile("Lost the connection to extexify-lsp|Cannot reach extexify-lsp")

# Records what the page sends to the server and can hold back its answers (a slow network), so a request
# is reliably still in flight when the next stroke starts.
RECORD_TRAFFIC = """
window.sentMessages = [];
window.answerDelayMs = 0;
window.WebSocket = class extends window.WebSocket {
    send(data) {
        window.sentMessages.push(JSON.parse(data));
        super.send(data);
    }
    set onmessage(handler) {
        super.onmessage = (event) => setTimeout(() => handler(event), window.answerDelayMs);
    }
};
"""


def run_npm_test(package: str) -> None:
    result = subprocess.run(
        ["npm", "test"], cwd=ROOT / "editors" / package, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, f"npm test in editors/{package} failed:\n{result.stdout}\n{result.stderr}"


def test_pad_package_type_checks_and_lints() -> None:
    run_npm_test("pad")


@pytest.fixture(scope="module")
def web_build() -> None:
    """editors/web checked and bundled into dist/ (the demo page loads the bundle)."""
    run_npm_test("web")


@pytest.fixture(scope="module")
def star_strokes(full_dataset_and_split: tuple[Dataset, Split]) -> list[np.ndarray]:
    return unseen_drawing(full_dataset_and_split, STAR_ID)


@pytest.fixture
def lsp_server() -> Iterator[WebSocketServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def demo(web_build: None, lsp_server: WebSocketServer, browser: Browser) -> Iterator[Page]:
    """The demo page connected to the server, the cursor inside `$x  y$`."""
    with serve_directory(WEB_DIR) as base_url:
        page = browser.new_page(viewport={"width": 1100, "height": 700})
        page.add_init_script(RECORD_TRAFFIC)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{base_url}/demo/?server={lsp_server.url}")
        expect(page.locator("#connection")).to_have_attribute("data-state", "ready", timeout=30_000)
        page.fill("#editor", STAR_DOCUMENT)
        page.eval_on_selector("#editor", f"editor => editor.setSelectionRange({STAR_CURSOR}, {STAR_CURSOR})")
        yield page
        assert errors == [], f"uncaught errors on the page: {errors}"


def expected_text(times: int) -> str:
    """STAR_DOCUMENT after choosing the symbol `times` times: the command at the cursor, the package once."""
    return with_package().replace("$x  y$", f"$x {STAR_COMMAND * times} y$")


def with_package() -> str:
    return STAR_DOCUMENT.replace("\\begin{document}", f"\\usepackage{{{PACKAGE}}}\n\\begin{{document}}")


def test_drawing_inserts_the_command_and_its_package(demo: Page, star_strokes: list[np.ndarray]) -> None:
    draw(demo, star_strokes)
    find_variant(wait_for_candidates(demo), STAR_COMMAND)

    click_variant(demo, STAR_COMMAND)

    expect(demo.locator("#editor")).to_have_value(expected_text(1))
    expect(demo.locator(CANDIDATE)).to_have_count(0)  # the pad is cleared for the next symbol


def test_choosing_after_moving_the_cursor_fits_the_new_place(
    demo: Page, star_strokes: list[np.ndarray]
) -> None:
    draw(demo, star_strokes)
    find_variant(wait_for_candidates(demo), STAR_COMMAND)
    # Into text mode, after the candidates came: the math-only command must now come wrapped in $...$.
    text_mode = STAR_DOCUMENT.index("\\end{document}")
    demo.eval_on_selector("#editor", f"editor => editor.setSelectionRange({text_mode}, {text_mode})")

    click_variant(demo, STAR_COMMAND)

    expected = with_package().replace("\\end{document}", f"${STAR_COMMAND}$\\end{{document}}")
    expect(demo.locator("#editor")).to_have_value(expected)


def test_keyboard_alone_chooses_after_drawing(demo: Page, star_strokes: list[np.ndarray]) -> None:
    draw(demo, star_strokes)
    index, variant = find_variant(wait_for_candidates(demo), STAR_COMMAND)

    # From the canvas, the first ArrowDown enters the list; one step too far and back up; Tab to a look-alike.
    for _ in range(index + 2):
        demo.keyboard.press("ArrowDown")
    demo.keyboard.press("ArrowUp")
    for _ in range(variant):
        demo.keyboard.press("Tab")
    expect(demo.locator(f"{CANDIDATE}:focus")).to_have_attribute("data-command", STAR_COMMAND)
    demo.keyboard.press("Enter")

    expect(demo.locator("#editor")).to_have_value(expected_text(1))


def test_a_new_stroke_cancels_the_request_in_flight(demo: Page, star_strokes: list[np.ndarray]) -> None:
    demo.evaluate("""() => {
        window.answerDelayMs = 1500;
        window.renders = 0;
        new MutationObserver(() => {
            if (document.querySelector('.extexify-pad__candidate')) window.renders += 1;
        }).observe(document.querySelector('.extexify-pad__candidates'), { childList: true });
    }""")
    requests = "() => sentMessages.filter(message => message.method === 'extexify/recognizeStrokes')"

    draw(demo, star_strokes)
    demo.wait_for_function(f"() => ({requests})().length === 1")
    draw(demo, [star_strokes[0][:2] * 0.2])  # one more stroke while the answer is on its way

    commands = wait_for_candidates(demo)
    sent = demo.evaluate(requests)
    cancels = demo.evaluate("() => sentMessages.filter(message => message.method === '$/cancelRequest')")
    assert [cancel["params"]["id"] for cancel in cancels] == [sent[0]["id"]]
    stroke_counts = [len(request["params"]["strokes"]) for request in sent]
    assert stroke_counts == [len(star_strokes), len(star_strokes) + 1]
    # Both answers were held back equally, so the superseded one arrived first: it was not shown.
    assert demo.evaluate("() => window.renders") == 1
    find_variant(commands, STAR_COMMAND)


def test_a_reconnect_mid_stroke_waits_for_the_stroke_to_end(
    demo: Page, lsp_server: WebSocketServer, star_strokes: list[np.ndarray]
) -> None:
    requests = "() => sentMessages.filter(message => message.method === 'extexify/recognizeStrokes').length"
    lsp_server.stop()
    expect(demo.locator(ERROR)).to_contain_text(CONNECTION_LOST, timeout=15_000)
    (first, *rest), *more = on_canvas(demo, star_strokes)
    demo.mouse.move(*first)
    demo.mouse.down()
    for point in rest[: len(rest) // 2]:
        demo.mouse.move(*point)

    # Back while the pen is down: the pad refreshes, but half a stroke is not a drawing to recognize.
    lsp_server.start()
    expect(demo.locator(ERROR)).to_be_hidden(timeout=30_000)
    demo.wait_for_timeout(500)
    assert demo.evaluate(requests) == 0
    for point in rest[len(rest) // 2 :]:
        demo.mouse.move(*point)
    demo.mouse.up()
    for points in more:
        drag(demo, points)

    find_variant(wait_for_candidates(demo), STAR_COMMAND)
    assert demo.evaluate(requests) >= 1


CANVAS_PIXELS = "() => document.querySelector('.extexify-pad__canvas').toDataURL()"


def test_undo_and_clear_by_key_and_button(demo: Page, star_strokes: list[np.ndarray]) -> None:
    corner_stroke = star_strokes[0][:2] * 0.2
    draw(demo, star_strokes)
    wait_for_candidates(demo)
    star = demo.evaluate(CANVAS_PIXELS)

    for undo in (lambda: demo.keyboard.press("Control+z"), demo.get_by_role("button", name="Undo").click):
        draw(demo, [corner_stroke])
        wait_for_candidates(demo)
        assert demo.evaluate(CANVAS_PIXELS) != star
        undo()
        assert demo.evaluate(CANVAS_PIXELS) == star
        find_variant(wait_for_candidates(demo), STAR_COMMAND)  # recognized again without the extra stroke

    for clear in (lambda: demo.keyboard.press("Escape"), demo.get_by_role("button", name="Clear").click):
        draw(demo, star_strokes)
        wait_for_candidates(demo)
        clear()
        expect(demo.locator(CANDIDATE)).to_have_count(0)
        expect(demo.locator(".extexify-pad__hint")).to_be_visible()
    expect(demo.locator("#editor")).to_have_value(STAR_DOCUMENT)


def pad_theme(page: Page) -> dict[str, str]:
    return page.eval_on_selector(
        ".extexify-pad",
        """pad => ({
            ink: getComputedStyle(pad).getPropertyValue('--pad-ink').trim(),
            background: getComputedStyle(pad).backgroundColor,
        })""",
    )


def test_pad_follows_the_colour_scheme(demo: Page, star_strokes: list[np.ndarray]) -> None:
    demo.emulate_media(color_scheme="light")
    draw(demo, star_strokes)
    light = pad_theme(demo)
    assert demo.evaluate(INK_COLOUR) == light["ink"]

    demo.emulate_media(color_scheme="dark")

    dark = pad_theme(demo)
    assert dark["background"] != light["background"]
    assert dark["ink"] != light["ink"]
    # The drawing is repainted in the dark theme's ink, on the colour scheme's change event: the browser
    # dispatches it at its next rendering step, not before emulate_media returns.
    demo.wait_for_function(f"ink => ({INK_COLOUR})() === ink", arg=dark["ink"], timeout=5_000)


def test_pad_recovers_when_the_server_restarts(
    demo: Page, lsp_server: WebSocketServer, star_strokes: list[np.ndarray]
) -> None:
    draw(demo, star_strokes)
    find_variant(wait_for_candidates(demo), STAR_COMMAND)
    click_variant(demo, STAR_COMMAND)

    lsp_server.stop()
    expect(demo.locator(ERROR)).to_contain_text(CONNECTION_LOST, timeout=15_000)
    draw(demo, star_strokes)  # drawn while the server is down: the error stays, no candidates
    expect(demo.locator(ERROR)).to_be_visible()
    expect(demo.locator(CANDIDATE)).to_have_count(0)

    lsp_server.start()
    # The client reconnects, re-opens the document, and the pad recognizes what was drawn meanwhile.
    expect(demo.locator(ERROR)).to_be_hidden(timeout=30_000)
    index, variant = find_variant(wait_for_candidates(demo), STAR_COMMAND)
    # The number key inserts what its candidate shows: the look-alike once Tab has brought it up.
    for _ in range(index + 1):
        demo.keyboard.press("ArrowDown")
    for _ in range(variant):
        demo.keyboard.press("Tab")
    demo.keyboard.press(str(index + 1))

    expect(demo.locator("#editor")).to_have_value(expected_text(2))


# \star and \bigstar draw alike: one candidate. Without amssymb loaded, the server labels it with the core
# LaTeX \star and offers \bigstar as its look-alike.
CORE_STAR = r"\star"


def test_tab_shows_a_look_alike_and_choosing_it_inserts_its_own_edits(
    demo: Page, star_strokes: list[np.ndarray]
) -> None:
    draw(demo, star_strokes)
    candidates = wait_for_candidates(demo)
    index, variant = find_variant(candidates, STAR_COMMAND)
    assert candidates[index][0] == CORE_STAR, f"the star is not labelled {CORE_STAR}: {candidates}"
    assert variant > 0
    entry = demo.locator(CANDIDATE).nth(index)

    for _ in range(index + 1):
        demo.keyboard.press("ArrowDown")
    for _ in range(variant):
        demo.keyboard.press("Tab")
    # The look-alike takes the candidate's place, and the label becomes a chip.
    expect(entry).to_have_attribute("data-command", STAR_COMMAND)
    expect(entry.locator(chip(CORE_STAR))).to_have_count(1)
    demo.keyboard.press("Shift+Tab")
    expect(entry).to_have_attribute("data-command", candidates[index][(variant - 1) % len(candidates[index])])
    demo.keyboard.press("Tab")
    demo.keyboard.press("Enter")

    expect(demo.locator("#editor")).to_have_value(expected_text(1))


def test_clicking_a_chip_inserts_that_look_alike(demo: Page, star_strokes: list[np.ndarray]) -> None:
    draw(demo, star_strokes)
    candidates = wait_for_candidates(demo)
    index, _ = find_variant(candidates, STAR_COMMAND)
    look_alike = candidates[index][1]

    demo.locator(CANDIDATE).nth(index).locator(chip(look_alike)).click()

    needs_package = look_alike == STAR_COMMAND
    expected = (with_package() if needs_package else STAR_DOCUMENT).replace("$x  y$", f"$x {look_alike} y$")
    expect(demo.locator("#editor")).to_have_value(expected)


# wasysym's telephone: KaTeX cannot typeset it, so the pad shows the server's glyph image.
UNTYPESET_ID = "latex:wasysym:phone"
UNTYPESET_COMMAND = r"\phone"
GLYPH_REQUESTS = "() => sentMessages.filter(message => message.method === 'extexify/glyphs')"


def test_a_symbol_katex_cannot_typeset_shows_the_server_glyph_fetched_once(
    demo: Page, full_dataset_and_split: tuple[Dataset, Split]
) -> None:
    phone = unseen_drawing(full_dataset_and_split, UNTYPESET_ID)
    draw(demo, phone)
    find_variant(wait_for_candidates(demo), UNTYPESET_COMMAND)
    glyph = glyph_image(demo, UNTYPESET_COMMAND)
    expect(glyph).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    assert glyph.evaluate("image => image.complete && image.naturalWidth > 0"), "the glyph does not load"
    asked = [id_ for request in demo.evaluate(GLYPH_REQUESTS) for id_ in request["params"]["symbolIds"]]
    assert UNTYPESET_ID in asked
    assert len(asked) == len(set(asked))

    demo.keyboard.press("Escape")
    draw(demo, phone)
    wait_for_candidates(demo)
    expect(glyph).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    again = [id_ for request in demo.evaluate(GLYPH_REQUESTS) for id_ in request["params"]["symbolIds"]]
    assert again.count(UNTYPESET_ID) == 1, "the glyph is asked for once and then kept"
