"""`extexify/recognizeStrokes` end to end: the real server process, the shipped model, real drawings."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcRequestCancelled
from pytest_lsp import LanguageClient

from extexify_lsp.items import MODE_FIT_BONUS
from extexify_lsp.protocol import RECOGNIZE_STROKES, strokes_param
from tests.extexify_lsp.artifacts import TEST_GROUPS
from tests.extexify_lsp.lsp_client import CONVERTER, at, cursor, open_document, recognize
from training.dataset import Dataset
from training.sources import SourceSample
from training.split import Split

pytestmark = pytest.mark.asyncio(loop_scope="module")

# A "≤" drawn in canvas pixels: a wedge and a bar under it.
LEQ = [[[0, 0, 0], [90, 45, 120], [0, 90, 240]], [[0, 120, 500], [90, 120, 620]]]
SAMPLE_SIZE = 40
TOP = 5


def held_out_samples(dataset: Dataset, split: Split, count: int) -> list[int]:
    """One test-split drawing for each of `count` symbols spread evenly over the symbol table."""
    first = {}
    for i in split.test.tolist():
        first.setdefault(int(dataset.labels[i]), i)
    labels = sorted(first)
    return [first[labels[k * len(labels) // count]] for k in range(count)]


def members(item: types.CompletionItem) -> list[str]:
    """The item's symbol and its alternatives' symbols, in the answer's order."""
    return [item.data["symbolId"], *(a["symbolId"] for a in item.data["alternatives"])]


@pytest.mark.slow
async def test_real_drawings_are_recognized_in_the_top_5_groups(
    client: LanguageClient, full_dataset_and_split: tuple[Dataset, Split]
) -> None:
    dataset, split = full_dataset_and_split
    samples = held_out_samples(dataset, split, SAMPLE_SIZE)
    hits = []
    for i in samples:
        result = await recognize(client, {"strokes": strokes_param(dataset.drawing(i)), "limit": TOP})
        hits.append(any(dataset.symbol_id(i) in members(item) for item in result.items))
    assert sum(hits) >= 0.8 * SAMPLE_SIZE, f"{sum(hits)}/{SAMPLE_SIZE} held-out drawings in the top {TOP}"


@pytest.mark.parametrize("groups", [True, False])
async def test_items_are_ranked_symbol_completions(client: LanguageClient, groups: bool) -> None:
    result = await recognize(client, {"strokes": LEQ, "limit": 100, "groups": groups})
    assert len(result.items) == 100
    scores = [item.data["score"] for item in result.items]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert sum(scores) <= 1.0 + 1e-4  # probabilities of distinct symbols
    assert [item.sort_text for item in result.items] == sorted(item.sort_text for item in result.items)
    assert len({item.data["symbolId"] for item in result.items}) == 100
    for item in result.items:
        assert set(item.data) == {"symbolId", "score", "package", "mode", "unicode", "alternatives"}
        assert groups or item.data["alternatives"] == []
        assert item.label.startswith("\\") or not item.label[0].isalpha()
        assert item.kind is not None
        mode = {"math": "math mode", "text": "text mode", "both": "math or text mode"}[item.data["mode"]]
        assert item.detail.startswith(f"{item.data['package'] or 'core LaTeX'} · {mode}")
        assert item.text_edit is None and not item.additional_text_edits  # no document given
        assert item.documentation is None  # left to completionItem/resolve


async def test_an_item_gets_its_documentation_on_resolve(client: LanguageClient) -> None:
    item = (await recognize(client, {"strokes": LEQ, "limit": 1})).items[0]
    resolved = await client.completion_item_resolve_async(item)
    assert resolved.label == item.label and resolved.command == item.command
    documentation = resolved.documentation
    text = documentation.value if isinstance(documentation, types.MarkupContent) else documentation
    assert text is not None and item.label in text and item.data["unicode"] in text


async def test_default_limit_and_point_forms(client: LanguageClient) -> None:
    as_pairs = [[p[:2] for p in stroke] for stroke in LEQ]
    as_objects = [[{"y": p[1], "x": p[0], "t": p[2]} for p in stroke] for stroke in LEQ]
    results = [await recognize(client, {"strokes": s}) for s in (LEQ, as_pairs, as_objects)]
    assert all(len(r.items) == 10 for r in results)
    # The same drawing in three point forms (objects with keys out of order) is the same drawing.
    ids = [[item.data["symbolId"] for item in r.items] for r in results]
    assert ids[0] == ids[1] == ids[2]


async def test_scale_and_offset_do_not_matter(client: LanguageClient) -> None:
    moved = [[[x * 3 + 1000, y * 3 - 500, t] for x, y, t in stroke] for stroke in LEQ]
    first = await recognize(client, {"strokes": LEQ, "limit": 3})
    second = await recognize(client, {"strokes": moved, "limit": 3})
    assert [i.label for i in first.items] == [i.label for i in second.items]


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP edits to ASCII text (positions are then plain str offsets)."""
    lines = text.splitlines(keepends=True)

    def offset(position: types.Position) -> int:
        return sum(len(line) for line in lines[: position.line]) + position.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


def document(preamble: str, body: str) -> str:
    return f"\\documentclass{{article}}\n{preamble}\\begin{{document}}\n{body}\n\\end{{document}}\n"


MATH_BODIES = [
    "$x |$",
    "$|$",
    "$$ x | $$",
    r"\( | \)",
    r"\[ x | \]",
    *(
        f"\\begin{{{env}}}\n  x |\n\\end{{{env}}}"
        for env in ("equation", "align", "gather", "multline")
        for env in (env, env + "*")
    ),
    r"$\text{if $|$}$",
]
TEXT_BODIES = [
    "Plain |",
    "$x$ then |",
    "\\begin{equation}\n  x\n\\end{equation}\n|",
    r"$x \text{ if | }$",
    r"\[ \mbox{|} \]",
    r"costs \$5 |",
    "% $ commented\n|",
]
PREAMBLES = ["", "\\usepackage{amssymb}\n", "\\usepackage[T1]{fontenc}\n\\usepackage{amsmath,textcomp}\n"]


def expected_document(preamble: str, body: str, item: types.CompletionItem, in_math: bool) -> str:
    """The document after inserting `item`, by the rules of the issue, written out independently."""
    command, mode, package = item.label, item.data["mode"], item.data["package"]
    loaded = preamble
    needed = []
    if package is not None and package not in loaded:
        needed.append(f"\\usepackage{{{package}}}")
    if "T1" in item.detail and "[T1]{fontenc}" not in loaded:
        needed.append("\\usepackage[T1]{fontenc}")
    if mode == "math" and not in_math:
        command = f"${command}$"
    elif mode == "text" and in_math:
        command = f"\\text{{{command}}}"
        if "amsmath" not in loaded and "\\usepackage{amsmath}" not in needed:
            needed.append("\\usepackage{amsmath}")
    new_preamble = preamble + "".join(line + "\n" for line in needed)
    return document(new_preamble, body.replace("|", command))


@pytest.mark.parametrize("preamble", PREAMBLES)
@pytest.mark.parametrize(
    ("body", "in_math"), [(b, True) for b in MATH_BODIES] + [(b, False) for b in TEXT_BODIES]
)
async def test_edits_insert_the_command_for_the_mode_and_load_its_package(
    client: LanguageClient, preamble: str, body: str, in_math: bool
) -> None:
    text, position = cursor(document(preamble, body))
    uri = open_document(client, text)
    result = await recognize(
        client, {"strokes": LEQ, "limit": 100, "textDocument": {"uri": uri}, "position": at(position)}
    )
    assert len(result.items) == 100
    for item in result.items:
        assert item.text_edit.range == types.Range(position, position)
        edited = apply_edits(text, [item.text_edit, *(item.additional_text_edits or [])])
        assert edited == expected_document(preamble, body, item, in_math), item.label
    # The test covers what it claims to: packages to add, and both wrappings or none.
    assert any(item.additional_text_edits for item in result.items)
    assert any(item.data["mode"] != "both" and item.text_edit.new_text != item.label for item in result.items)


def fits(mode: str, in_math: bool) -> bool:
    return mode == "both" or (mode == "math") == in_math


async def test_candidates_that_fit_the_mode_rank_a_little_higher(client: LanguageClient) -> None:
    for body, in_math in (("$x |$", True), ("Plain |", False)):
        text, position = cursor(document("", body))
        uri = open_document(client, text)
        params = {"strokes": LEQ, "limit": 50, "groups": False, "textDocument": {"uri": uri}}
        result = await recognize(client, {**params, "position": at(position)})
        ranked = [
            item.data["score"] * (MODE_FIT_BONUS if fits(item.data["mode"], in_math) else 1.0)
            for item in result.items
        ]
        assert ranked == sorted(ranked, reverse=True)


async def test_incremental_and_full_changes_are_tracked(client: LanguageClient) -> None:
    text, position = cursor(document("", "$x |$"))
    uri = open_document(client, text)
    params = {
        "strokes": LEQ,
        "limit": 100,
        "groups": False,
        "textDocument": {"uri": uri},
        "position": at(position),
    }

    def edited_packages(result: types.CompletionList) -> set[str]:
        return {e.new_text for item in result.items for e in item.additional_text_edits or []}

    assert "\n\\usepackage{amssymb}" in edited_packages(await recognize(client, params))
    # Incremental: insert a \usepackage line after \documentclass (line 0); the cursor moves down a line.
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(1, 0), types.Position(1, 0)),
                    text="\\usepackage{amssymb,wasysym}\n",
                )
            ],
        )
    )
    params["position"] = {"line": position.line + 1, "character": position.character}
    packages = edited_packages(await recognize(client, params))
    assert packages and not {"\n\\usepackage{amssymb}", "\n\\usepackage{wasysym}"} & packages
    # Full: replace the whole text with a document in text mode at the cursor.
    full, full_position = cursor(document("", "Plain |"))
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=3),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=full)],
        )
    )
    params["position"] = at(full_position)
    result = await recognize(client, params)
    assert "\n\\usepackage{amssymb}" in edited_packages(result)
    assert all(
        item.text_edit.new_text == f"${item.label}$" for item in result.items if item.data["mode"] == "math"
    )


ORIGIN = {"line": 0, "character": 0}


def in_document(uri: str, position: object = ORIGIN) -> dict[str, object]:
    return {"textDocument": {"uri": uri}, "position": position}


TOO_MANY_POINTS = [[[i, i] for i in range(10_001)]]
TOO_MANY_STROKES = [[[i, i]] for i in range(201)]
BAD_PARAMS = [
    ([[[0, 0]]], "params must be an object"),
    ({}, "lack 'strokes'"),
    ({"strokes": "a line"}, "strokes must be a list"),
    ({"strokes": []}, "empty"),
    ({"strokes": [[], []]}, "empty"),
    ({"strokes": [[[0, "1"]]]}, "stroke 0, point 0: y must be a number"),
    ({"strokes": [[[0, 0], [0, math.nan]]]}, "stroke 0, point 1: y is nan"),
    ({"strokes": [[[0, 0], [0, math.inf, 3]]]}, "not a finite number"),
    ({"strokes": [[[0, 0], [1]]]}, "a point is [x, y]"),
    ({"strokes": [[{"x": 1}]]}, "needs 'x' and 'y'"),
    ({"strokes": TOO_MANY_POINTS}, "too many points"),
    ({"strokes": TOO_MANY_STROKES}, "too many strokes"),
    ({"strokes": LEQ, "limit": 0}, "limit must be an integer from 1 to 100"),
    ({"strokes": LEQ, "limit": 101}, "limit must be an integer from 1 to 100"),
    ({"strokes": LEQ, "limit": "5"}, "limit must be an integer"),
    ({"strokes": LEQ, "limit": 2.5}, "limit must be an integer"),
    ({"strokes": LEQ, "limit": True}, "limit must be an integer"),
    ({"strokes": LEQ, "groups": "yes"}, "groups must be true or false"),
    ({"strokes": LEQ, "groups": 1}, "groups must be true or false"),
    ({"strokes": LEQ, "textDocument": {"uri": "file:///x.tex"}}, "give both or neither"),
    ({"strokes": LEQ, "position": ORIGIN}, "give both or neither"),
    ({"strokes": LEQ, "textDocument": "file:///x.tex", "position": ORIGIN}, "'uri'"),
    ({"strokes": LEQ, **in_document("file:///x.tex", {"line": -1, "character": 0})}, "line"),
    ({"strokes": LEQ, **in_document("file:///x.tex", {"line": 0})}, "character"),
    ({"strokes": LEQ, **in_document("file:///x.tex", {"line": 2**31, "character": 0})}, "0 to 2147483647"),
    ({"strokes": LEQ, **in_document("file:///x.tex", {"line": 0, "character": 10**30})}, "0 to 2147483647"),
    ({"strokes": [[[0, 0], [10**309, 1]]]}, "stroke 0, point 1: x is an integer too large for a float"),
    ({"strokes": [[[0, 0, 10**309]]]}, "stroke 0, point 0: t is an integer too large for a float"),
    ({"strokes": LEQ, **in_document("file:///no/such.tex")}, "only files inside the workspace folders"),
    ({"strokes": LEQ, **in_document("file:///dev/zero")}, "only files inside the workspace folders"),
    ({"strokes": LEQ, **in_document("file://[::1/x.tex")}, "malformed: Invalid IPv6 URL"),
    ({"strokes": LEQ, **in_document(Path.cwd().as_uri() + "/a" * 5000 + ".tex")}, "File name too long"),
    ({"strokes": LEQ, **in_document("untitled:Untitled-1")}, "is not open"),
]


@pytest.mark.parametrize(("params", "message"), BAD_PARAMS)
async def test_bad_params_get_invalid_params_and_the_server_keeps_serving(
    client: LanguageClient, params: object, message: str
) -> None:
    with pytest.raises(JsonRpcInvalidParams) as error:
        await client.protocol.send_request_async(RECOGNIZE_STROKES, params)
    assert message in error.value.message
    assert len((await recognize(client, {"strokes": LEQ, "limit": 1})).items) == 1


async def test_pipelined_requests_are_all_answered_in_order(client: LanguageClient) -> None:
    answered: list[int] = []
    futures = []
    for i in range(200):
        future = client.protocol.send_request(RECOGNIZE_STROKES, {"strokes": LEQ, "limit": 1 + i % 5})
        future.add_done_callback(lambda _, i=i: answered.append(i))
        futures.append(future)
    results = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
    assert answered == list(range(200))
    assert [len(r["items"]) for r in results] == [1 + i % 5 for i in range(200)]


async def test_a_superseded_request_can_be_cancelled(client: LanguageClient) -> None:
    # Long drawings keep the queue busy for a while, so the cancellations arrive before their requests run.
    spiral = [[[300 + i * math.cos(i / 20), 300 + i * math.sin(i / 20)] for i in range(1000)]]
    ids = [f"cancel-{i}" for i in range(40)]
    futures = [client.protocol.send_request(RECOGNIZE_STROKES, {"strokes": spiral}, msg_id=i) for i in ids]
    for msg_id in ids[10:]:
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
    outcomes = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures), return_exceptions=True)
    assert all(isinstance(o, dict) for o in outcomes[:10])
    cancelled = [o for o in outcomes[10:] if isinstance(o, JsonRpcException)]
    assert cancelled, "no queued request was cancelled"
    assert all(o.code == JsonRpcRequestCancelled.CODE for o in cancelled)
    assert all(isinstance(o, dict | JsonRpcException) for o in outcomes[10:])
    assert len((await recognize(client, {"strokes": LEQ})).items) == 10


# Draw-alike groups, through a server running the test artifact (conftest TEST_GROUPS).
GROUP_OF = {member: group for group in TEST_GROUPS for member in group}
# Group members and a symbol alone, for real drawings of them.
DRAWN = [
    "latex:latex2e:angle",
    "latex:latex2e:star",
    "latex:wasysym:female",
    "latex:latex2e:Theta",
    "latex:latex2e:alpha",
]


@pytest.fixture(scope="module")
def drawings(source_samples: Callable[[list[str]], list[SourceSample]]) -> list[list[list[list[float]]]]:
    """LEQ and two real drawings of each DRAWN symbol."""
    samples = source_samples(DRAWN)
    real = [
        strokes_param(s.strokes)
        for symbol in DRAWN
        for s in [s for s in samples if s.symbol_id == symbol][:2]
    ]
    assert len(real) == 2 * len(DRAWN)
    return [LEQ, *real]


async def symbol_scores(client: LanguageClient, strokes: object) -> dict[str, float]:
    """Every symbol's probability for the drawing, from the flat list."""
    result = await recognize(client, {"strokes": strokes, "limit": 100, "groups": False})
    return {item.data["symbolId"]: item.data["score"] for item in result.items}


async def test_one_item_per_whole_group_scored_by_its_members_sum(
    grouped_client: LanguageClient, drawings: list[list[list[list[float]]]]
) -> None:
    grouped_items = 0
    for strokes in drawings:
        result = await recognize(grouped_client, {"strokes": strokes, "limit": 10})
        assert len(result.items) == 10
        scores = [item.data["score"] for item in result.items]
        assert scores == sorted(scores, reverse=True)
        shown = [symbol for item in result.items for symbol in members(item)]
        assert len(shown) == len(set(shown))
        flat = await symbol_scores(grouped_client, strokes)
        for item in result.items:
            # Fixed groups: a symbol always comes with all the other members of its group, and only them.
            symbol = item.data["symbolId"]
            assert sorted(members(item)) == sorted(GROUP_OF.get(symbol, [symbol]))
            alternative_scores = [a["score"] for a in item.data["alternatives"]]
            assert alternative_scores == sorted(alternative_scores, reverse=True)
            if symbol in flat:
                assert item.data["score"] == pytest.approx(flat[symbol] + sum(alternative_scores), abs=1e-6)
            for alternative in item.data["alternatives"]:
                assert alternative["score"] == pytest.approx(flat.get(alternative["symbolId"], 0), abs=1e-3)
            grouped_items += len(item.data["alternatives"]) > 0
        # `limit` counts items, not symbols.
        first = await recognize(grouped_client, {"strokes": strokes, "limit": 3})
        assert [members(item) for item in first.items] == [members(item) for item in result.items[:3]]
    assert grouped_items >= len(drawings)  # the test covers groups, not only symbols alone


async def test_without_a_document_the_likeliest_member_is_the_label(grouped_client: LanguageClient) -> None:
    result = await recognize(grouped_client, {"strokes": LEQ, "limit": 10})
    first = result.items[0]
    assert first.label == "\\geq" and first.data["unicode"] == "≥"
    assert [(a["label"], a["package"], a["mode"]) for a in first.data["alternatives"]] == [
        ("\\geqslant", "amssymb", "math"),
        ("\\succeq", None, "math"),
    ]
    flat = await symbol_scores(grouped_client, LEQ)
    for item in result.items:
        assert all(flat[item.data["symbolId"]] >= a["score"] for a in item.data["alternatives"])
        assert item.text_edit is None and not item.additional_text_edits
        assert all(
            set(a) == {"symbolId", "label", "package", "mode", "score", "unicode", "command"}
            for a in item.data["alternatives"]
        )


@pytest.mark.parametrize(
    ("preamble", "body", "labels"),
    [
        # amssymb not loaded: the core \succeq rather than the likelier \geq.
        ("", "$x |$", ["\\succeq", "\\rangle"]),
        ("\\usepackage{amssymb}\n", "$x |$", ["\\geq", "\\rangle"]),
        # amsmath loaded, \text{\textgreater} needs nothing new either: the member fitting math mode.
        ("\\usepackage{amsmath,amssymb}\n", "$x |$", ["\\geq", "\\rangle"]),
        # Text mode: \textgreater fits; \rangle would be wrapped in $...$.
        ("\\usepackage{amssymb}\n", "Plain |", ["\\geq", "\\textgreater"]),
    ],
)
async def test_the_label_is_a_member_needing_no_new_package_then_fitting_the_mode(
    grouped_client: LanguageClient, preamble: str, body: str, labels: list[str]
) -> None:
    text, position = cursor(document(preamble, body))
    uri = open_document(grouped_client, text)
    params = {"strokes": LEQ, "limit": 20, "textDocument": {"uri": uri}, "position": at(position)}
    result = await recognize(grouped_client, params)
    by_group = {tuple(sorted(members(item))): item.label for item in result.items}
    assert [by_group[tuple(sorted(TEST_GROUPS[i]))] for i in (0, 1)] == labels
    for item in result.items:
        # Whenever a member needs no new \usepackage line, the label is such a member.
        if any(not a["additionalTextEdits"] for a in item.data["alternatives"]):
            assert not item.additional_text_edits, item.label


def as_item(alternative: dict) -> types.CompletionItem:
    """An alternative in the shape expected_document reads (the test groups hold no T1-encoded symbol)."""
    return types.CompletionItem(label=alternative["label"], data=alternative, detail="")


@pytest.mark.parametrize("preamble", PREAMBLES)
@pytest.mark.parametrize(("body", "in_math"), [("$x |$", True), (r"\[ x | \]", True), ("Plain |", False)])
async def test_each_alternative_inserts_itself_with_its_own_edits(
    grouped_client: LanguageClient, preamble: str, body: str, in_math: bool
) -> None:
    text, position = cursor(document(preamble, body))
    uri = open_document(grouped_client, text)
    params = {"strokes": LEQ, "limit": 20, "textDocument": {"uri": uri}, "position": at(position)}
    result = await recognize(grouped_client, params)
    alternatives = [a for item in result.items for a in item.data["alternatives"]]
    assert len(alternatives) >= 5
    for alternative in alternatives:
        edits = [alternative["textEdit"], *alternative["additionalTextEdits"]]
        edited = apply_edits(text, [CONVERTER.structure(e, types.TextEdit) for e in edits])
        expected = expected_document(preamble, body, as_item(alternative), in_math)
        assert edited == expected, alternative["label"]


async def test_groups_false_answers_one_item_per_symbol(grouped_client: LanguageClient) -> None:
    result = await recognize(grouped_client, {"strokes": LEQ, "limit": 10, "groups": False})
    labels = [item.label for item in result.items]
    assert labels[:3] == ["\\geq", "\\geqslant", "\\succeq"]  # one group, three items
    assert all(item.data["alternatives"] == [] for item in result.items)
    assert [item.data["unicode"] for item in result.items[:2]] == ["≥", "⩾"]
