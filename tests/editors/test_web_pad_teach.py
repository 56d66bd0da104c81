"""Teaching and recording choices from the browser pad, in headless Chromium against the real
`extexify-lsp --ws` with a sample store of the test's own."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect
from samplestore import stored, wait_for_samples
from webpad import (
    CANDIDATE,
    RECORD_SENT,
    STAR_COMMAND,
    STAR_CURSOR,
    STAR_DOCUMENT,
    STAR_ID,
    TEACH_MESSAGE,
    WEB_DIR,
    chromium,
    click_variant,
    draw,
    fill_teach_form,
    find_variant,
    running_server,
    serve_directory,
    wait_for_candidates,
)

from extexify_lsp.store import UserSymbol

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def web_build() -> None:
    """editors/web bundled into dist/ (the demo page loads the bundle)."""
    result = subprocess.run(["npm", "test"], cwd=WEB_DIR, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"npm test in editors/web failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def star_strokes(source_samples) -> list[np.ndarray]:
    """A real drawing of the star from the shared data."""
    return source_samples([STAR_ID])[0].strokes


def open_demo(page: Page, url: str) -> None:
    """The demo page at `url`, connected to its server, the cursor inside `$x  y$`."""
    page.add_init_script(RECORD_SENT)
    page.goto(url)
    expect(page.locator("#connection")).to_have_attribute("data-state", "ready", timeout=30_000)
    page.fill("#editor", STAR_DOCUMENT)
    page.eval_on_selector("#editor", f"editor => editor.setSelectionRange({STAR_CURSOR}, {STAR_CURSOR})")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "samples.sqlite3"


def demo_with(store_spec: str) -> Iterator[Page]:
    """The demo page on a server started with `--store store_spec`."""
    with (
        running_server("--store", store_spec) as server,
        serve_directory(WEB_DIR) as base_url,
        chromium() as browser,
    ):
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        open_demo(page, f"{base_url}/demo/?server={server.url}")
        yield page
        assert errors == [], f"uncaught errors on the page: {errors}"


@pytest.fixture
def demo(web_build: None, store: Path) -> Iterator[Page]:
    yield from demo_with(str(store))


def sent(page: Page, method: str) -> list[dict]:
    return page.evaluate("method => window.sentMessages.filter(m => m.method === method)", method)


def test_teach_form_validates_previews_teaches_and_inserts(
    demo: Page, star_strokes: list[np.ndarray], store: Path
) -> None:
    draw(demo, star_strokes)
    wait_for_candidates(demo)
    submit = demo.locator(".extexify-teach__submit")

    form = fill_teach_form(demo, "mycirc")
    expect(form.locator(TEACH_MESSAGE)).to_contain_text("starts with a backslash")
    expect(submit).to_be_disabled()
    fill_teach_form(demo, r"\heartsuit")
    expect(form.locator(".extexify-teach__preview .katex")).to_have_count(1)
    expect(submit).to_be_enabled()
    fill_teach_form(demo, r"\mycirc", "my pkg")
    expect(form.locator(TEACH_MESSAGE)).to_contain_text("A package name is letters, digits")
    expect(submit).to_be_disabled()
    fill_teach_form(demo, r"\mycirc", "mypkg")
    expect(form.locator(TEACH_MESSAGE)).to_contain_text(r"KaTeX cannot show \mycirc")
    expect(form.locator(".extexify-teach__preview .katex")).to_have_count(0)

    submit.click()

    # The command at the cursor, and the pad cleared (its \usepackage line comes once the server lists taught
    # symbols among the candidates: not asserted here).
    expect(demo.locator("#editor")).to_have_value(re.compile(r"Let \$x \\mycirc y\$\."))
    expect(demo.locator(CANDIDATE)).to_have_count(0)
    expect(form).not_to_have_attribute("open", "")
    symbols, samples = stored(store)
    assert symbols == [UserSymbol.new(r"\mycirc", "mypkg", "math")]
    assert [(sample.symbol_id, sample.source) for sample in samples] == [("user:\\mycirc@mypkg", "taught")]
    assert len(samples[0].strokes) == len(star_strokes)
    # Teaching stored the drawing: inserting the taught symbol records no choice on top.
    assert sent(demo, "workspace/executeCommand") == []


def test_choosing_a_candidate_runs_its_command_and_records_the_choice(
    demo: Page, star_strokes: list[np.ndarray], store: Path
) -> None:
    draw(demo, star_strokes)
    find_variant(wait_for_candidates(demo), STAR_COMMAND)

    click_variant(demo, STAR_COMMAND)

    expect(demo.locator(CANDIDATE)).to_have_count(0)
    samples = wait_for_samples(store, 1)
    assert [(sample.symbol_id, sample.source) for sample in samples] == [(STAR_ID, "picked")]
    [command] = sent(demo, "workspace/executeCommand")
    assert command["params"]["command"] == "extexify.recordChoice"
    assert command["params"]["arguments"][0]["symbolId"] == STAR_ID


def test_teaching_without_a_store_says_why(web_build: None, star_strokes: list[np.ndarray]) -> None:
    for page in demo_with("none"):
        draw(page, star_strokes)
        wait_for_candidates(page)
        form = fill_teach_form(page, r"\mycirc")
        page.locator(".extexify-teach__submit").click()
        expect(form.locator(TEACH_MESSAGE)).to_contain_text(
            r"Could not teach \mycirc: personalization is off: the server runs with --store none"
        )
        expect(page.locator("#editor")).to_have_value(STAR_DOCUMENT)
        # Nothing lost: the drawing is still there to teach once the store is back.
        expect(page.locator(CANDIDATE).first).to_be_visible()
