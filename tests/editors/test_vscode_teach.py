"""Teaching, recording choices and forgetting in a real VS Code (code-server in headless Chromium) with the
packaged extension and the real server keeping its samples in a store of the test's own."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from codeserver import PAD_CANVAS
from playwright.sync_api import Page, expect
from samplestore import stored, wait_for_samples
from test_vscode import (  # noqa: F401 (npm_test: the fixture building the .vsix, once per module)
    COLUMN,
    COMMAND,
    DOCUMENT,
    LINE,
    SYMBOL_ID,
    VIEWPORT,
    assert_saved_as,
    npm_test,
    pad_in_vscode,
)
from webpad import (
    CANDIDATE,
    TEACH_MESSAGE,
    click_variant,
    draw,
    fill_teach_form,
    find_variant,
    lsp_executable,
    wait_for_candidates,
)

from extexify_lsp.store import UserSymbol

TAUGHT = r"\mycirc"
TAUGHT_ID = "user:\\mycirc@mypkg"


def run_command(page: Page, title: str) -> None:
    """Run `title` from the command palette."""
    page.keyboard.press("F1")
    palette = page.locator(".quick-input-widget input")
    palette.wait_for(timeout=10_000)
    palette.fill(f">{title}")
    page.locator(".quick-input-list .monaco-list-row", has_text=title).first.wait_for(timeout=10_000)
    page.keyboard.press("Enter")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_vs_code_teaches_records_choices_and_forgets(npm_test, source_samples, tmp_path: Path) -> None:  # noqa: F811
    assert npm_test.returncode == 0, (npm_test.stdout + npm_test.stderr)[-6000:]
    strokes = source_samples([SYMBOL_ID])[0].strokes
    store = tmp_path / "samples.sqlite3"
    settings = {"extexify.server.command": lsp_executable(), "extexify.server.args": ["--store", str(store)]}
    with pad_in_vscode(tmp_path, settings) as (page, pad, document):
        # Choosing a candidate runs its command: the server keeps the drawing as a sample of the choice.
        draw(page, strokes, canvas=pad.locator(PAD_CANVAS))
        find_variant(wait_for_candidates(pad, timeout_ms=60_000), COMMAND)
        click_variant(pad, COMMAND)
        expect(pad.locator(CANDIDATE)).to_have_count(0)
        samples = wait_for_samples(store, 1)
        assert [(sample.symbol_id, sample.source) for sample in samples] == [(SYMBOL_ID, "picked")]

        # Not listed? Teach it: the drawing is stored as a new command, which goes in at the cursor.
        draw(page, strokes, canvas=pad.locator(PAD_CANVAS))
        wait_for_candidates(pad, timeout_ms=60_000)
        form = fill_teach_form(pad, TAUGHT, "mypkg")
        expect(form.locator(TEACH_MESSAGE)).to_contain_text(f"KaTeX cannot show {TAUGHT}")
        form.locator(".extexify-teach__submit").click()
        expect(pad.locator(CANDIDATE)).to_have_count(0)
        page.locator(".monaco-editor.focused").wait_for(timeout=10_000)
        page.keyboard.press("Control+s")
        deadline = time.monotonic() + 10
        while f"{COMMAND}{TAUGHT}" not in document.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        # After the chosen star (its \usepackage line too); the taught symbol's package line is added once the
        # server lists taught symbols among the candidates: not asserted here.
        assert f"$x {COMMAND}{TAUGHT} 1$" in document.read_text()
        symbols, samples = stored(store)
        assert symbols == [UserSymbol.new(TAUGHT, "mypkg", "math")]
        assert [(sample.symbol_id, sample.source) for sample in samples] == [
            (SYMBOL_ID, "picked"),
            (TAUGHT_ID, "taught"),
        ]

        # extexify: Taught symbols lists both, the user's first; picking one and confirming forgets it.
        run_command(page, "extexify: Taught symbols")
        rows = page.locator(".quick-input-list .monaco-list-row")
        expect(rows).to_have_count(2, timeout=10_000)
        expect(rows.nth(0)).to_contain_text(TAUGHT)
        expect(rows.nth(0)).to_contain_text("1 sample · taught by you")
        expect(rows.nth(1)).to_contain_text(COMMAND)
        page.keyboard.press("Enter")
        dialog = page.locator(".monaco-dialog-box")
        expect(dialog).to_contain_text(f"Forget {TAUGHT}?")
        dialog.get_by_role("button", name="Forget").click()
        expect(
            page.locator(".notification-toast", has_text=f"forgot {TAUGHT} (1 sample removed)")
        ).to_be_visible()
        symbols, samples = stored(store)
        assert symbols == []
        assert [sample.symbol_id for sample in samples] == [SYMBOL_ID]
