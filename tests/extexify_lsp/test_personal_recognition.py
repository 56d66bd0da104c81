"""A taught symbol in recognizeStrokes over LSP: the real server, a real store file, across a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from extexify_lsp.protocol import RECOGNIZE_STROKES, TEACH
from tests.extexify_lsp.test_personal_index import MYZIG, UNRELATED, ZIGZAG, jittered
from tests.extexify_lsp.test_teach import send, session

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning"),
]


def first_five(answer: dict) -> set[str]:
    """The symbol ids the first five items show, their alternatives included."""
    return {
        symbol_id
        for item in answer["items"][:5]
        for symbol_id in (item["data"]["symbolId"], *(a["symbolId"] for a in item["data"]["alternatives"]))
    }


async def test_three_taught_drawings_find_a_fourth_also_after_a_restart(tmp_path: Path) -> None:
    store = str(tmp_path / "samples.sqlite3")
    query = {"strokes": jittered(ZIGZAG, 99), "limit": 5}
    async with session("--store", store) as client:
        assert MYZIG.id not in first_five(await send(client, RECOGNIZE_STROKES, query))
        for seed in range(3):
            taught = await send(
                client, TEACH, {"strokes": jittered(ZIGZAG, seed), "symbol": {"command": "\\myzig"}}
            )
            assert taught["symbolId"] == MYZIG.id
        answer = await send(client, RECOGNIZE_STROKES, query)  # the very next request
        assert MYZIG.id in first_five(answer)
        mine = next(item for item in answer["items"] if item["data"]["symbolId"] == MYZIG.id)
        assert mine["label"] == "\\myzig"
        for strokes in UNRELATED:
            assert MYZIG.id not in first_five(await send(client, RECOGNIZE_STROKES, {"strokes": strokes}))
    async with session("--store", store) as client:
        assert MYZIG.id in first_five(await send(client, RECOGNIZE_STROKES, query))
