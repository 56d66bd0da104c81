"""Ranking probabilities into flat and grouped answers, in process, over a small hand-made symbol table."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pygls.workspace import TextDocument

from extexify_lsp.groups import SymbolGroups
from extexify_lsp.items import Placement, placement
from extexify_lsp.ranking import Ranker, label_preference
from extexify_lsp.symbols import Symbol, SymbolTable

SYMBOLS = SymbolTable(
    [
        Symbol("t:latex2e:cup", "\\cup", None, "OT1", "math"),
        Symbol("t:latex2e:bigcup", "\\bigcup", None, "OT1", "math"),
        Symbol("t:amssymb:angle", "\\angle", "amssymb", "OT1", "math"),
        Symbol("t:latex2e:angle", "\\angle", None, "OT1", "math"),
        Symbol("t:latex2e:textbar", "\\textbar", None, "OT1", "text"),
        Symbol("t:latex2e:mid", "\\mid", None, "OT1", "math"),
        Symbol("t:latex2e:alpha", "\\alpha", None, "OT1", "math"),
        Symbol("t:latex2e:S", "\\S", None, "OT1", "both"),
        Symbol("t:T1:guillemotleft", "\\guillemotleft", None, "T1", "text"),
        Symbol("t:latex2e:ll", "\\ll", None, "OT1", "math"),
    ]
)
GROUPS = [
    ["t:latex2e:cup", "t:latex2e:bigcup"],
    ["t:amssymb:angle", "t:latex2e:angle"],
    ["t:latex2e:textbar", "t:latex2e:mid"],
    ["t:T1:guillemotleft", "t:latex2e:ll"],
]


def symbol_groups(groups: list[list[str]]) -> SymbolGroups:
    """Groups as the artifact metadata states them, each linked in a chain."""
    evidence = [{"kind": "override", "note": "test"}]
    raw = {
        "version": 1,
        "max_size": 12,
        "groups": [
            {
                "members": g,
                "links": [{"a": a, "b": b, "evidence": evidence} for a, b in itertools.pairwise(g)],
            }
            for g in groups
        ],
    }
    return SymbolGroups.from_metadata(raw, SYMBOLS)


FIXED = symbol_groups(GROUPS)
RANKER = Ranker(SYMBOLS, FIXED)


def probabilities(**by_name: float) -> np.ndarray:
    """Probabilities: `package_name` symbols get the values given, the others share the rest equally."""
    values = np.zeros(len(SYMBOLS), dtype=np.float32)
    for i, symbol in enumerate(SYMBOLS):
        values[i] = by_name.get(symbol.id.split(":")[1] + "_" + symbol.id.split(":")[2], 0.0)
    rest = [i for i, v in enumerate(values) if v == 0]
    values[rest] = (1 - values.sum()) / len(rest)
    return values


def at_cursor(text: str) -> Placement:
    offset = text.index("|")
    document = TextDocument("file:///t.tex", source=text.replace("|", ""))
    return placement(document, offset, offset, wrap_for_mode=True)


def article(preamble: str, body: str) -> Placement:
    return at_cursor(
        f"\\documentclass{{article}}\n{preamble}\\begin{{document}}\n{body}\n\\end{{document}}\n"
    )


def test_one_answer_per_group_scored_by_the_sum_of_its_members() -> None:
    probs = probabilities(latex2e_alpha=0.3, latex2e_cup=0.2, latex2e_bigcup=0.15, amssymb_angle=0.1)
    answers = RANKER.grouped(probs, limit=3, preference=label_preference(None))
    assert [a.label.symbol.id for a in answers] == ["t:latex2e:cup", "t:latex2e:alpha", "t:amssymb:angle"]
    assert [a.alternatives[0].symbol.id for a in answers if a.alternatives] == [
        "t:latex2e:bigcup",
        "t:latex2e:angle",
    ]
    assert answers[0].score == pytest.approx(0.35)
    assert answers[1].score == pytest.approx(0.3) and answers[1].alternatives == ()


def test_alternatives_come_likeliest_first() -> None:
    probs = probabilities(latex2e_bigcup=0.5, latex2e_cup=0.2)
    (answer,) = RANKER.grouped(probs, limit=1, preference=label_preference(None))
    assert answer.label.symbol.id == "t:latex2e:bigcup"
    assert [c.symbol.id for c in answer.alternatives] == ["t:latex2e:cup"]
    assert answer.label.score == pytest.approx(0.5)


def test_without_a_document_the_likeliest_member_is_the_label() -> None:
    probs = probabilities(amssymb_angle=0.6, latex2e_angle=0.1)
    (answer,) = RANKER.grouped(probs, limit=1, preference=label_preference(None))
    assert answer.label.symbol.id == "t:amssymb:angle"


@pytest.mark.parametrize(
    ("preamble", "label"),
    [
        ("", "t:latex2e:angle"),  # amssymb is not loaded: the core member needs no new line
        ("\\usepackage{amssymb}\n", "t:amssymb:angle"),  # both available: the likelier one
        ("\\usepackage{mathtools,amssymb}\n", "t:amssymb:angle"),
    ],
)
def test_a_member_needing_no_new_package_is_the_label(preamble: str, label: str) -> None:
    probs = probabilities(amssymb_angle=0.6, latex2e_angle=0.1)
    where = article(preamble, "$x |$")
    (answer,) = RANKER.grouped(probs, limit=1, preference=label_preference(where))
    assert answer.label.symbol.id == label


def test_a_fragment_without_preamble_still_prefers_core_latex() -> None:
    probs = probabilities(amssymb_angle=0.6, latex2e_angle=0.1)
    (answer,) = RANKER.grouped(probs, limit=1, preference=label_preference(at_cursor("$x |$")))
    assert answer.label.symbol.id == "t:latex2e:angle"


@pytest.mark.parametrize(
    ("preamble", "body", "label"),
    [
        # Both core; \textbar in math would need \text{} from amsmath: \mid needs nothing.
        ("", "$x |$", "t:latex2e:mid"),
        # amsmath loaded: neither needs a package, so the one fitting math mode.
        ("\\usepackage{amsmath}\n", "$x |$", "t:latex2e:mid"),
        # Text mode: \textbar fits, \mid would be wrapped in $...$; the likelier one fits anyway.
        ("", "Plain |", "t:latex2e:textbar"),
    ],
)
def test_then_the_member_fitting_the_mode(preamble: str, body: str, label: str) -> None:
    probs = probabilities(latex2e_textbar=0.5, latex2e_mid=0.2)
    (answer,) = RANKER.grouped(probs, limit=1, preference=label_preference(article(preamble, body)))
    assert answer.label.symbol.id == label


def test_mode_fit_comes_after_packages() -> None:
    # \guillemotleft needs T1 fontenc; \ll needs nothing though it does not fit text mode ($\ll$).
    probs = probabilities(T1_guillemotleft=0.5, latex2e_ll=0.2)
    (answer,) = RANKER.grouped(probs, limit=1, preference=label_preference(article("", "Plain |")))
    assert answer.label.symbol.id == "t:latex2e:ll"
    loaded = article("\\usepackage[T1]{fontenc}\n", "Plain |")
    (answer,) = RANKER.grouped(probs, limit=1, preference=label_preference(loaded))
    assert answer.label.symbol.id == "t:T1:guillemotleft"


def test_without_groups_the_grouped_ranking_is_the_flat_one() -> None:
    ranker = Ranker(SYMBOLS, SymbolGroups.alone())
    probs = probabilities(latex2e_alpha=0.3, latex2e_cup=0.2, latex2e_bigcup=0.15, amssymb_angle=0.1)
    grouped = ranker.grouped(probs, limit=5, preference=label_preference(None))
    assert all(a.alternatives == () for a in grouped)
    assert [a.label for a in grouped] == ranker.flat(probs, limit=5)


def test_flat_ranking_moves_symbols_fitting_the_mode_up_a_little() -> None:
    probs = probabilities(latex2e_textbar=0.3, latex2e_mid=0.26, latex2e_alpha=0.1)
    assert [c.symbol.id for c in RANKER.flat(probs, limit=2)] == ["t:latex2e:textbar", "t:latex2e:mid"]
    assert [c.symbol.id for c in RANKER.flat(probs, limit=2, in_math=True)] == [
        "t:latex2e:mid",
        "t:latex2e:textbar",
    ]


WHERE = [None, article("", "$x |$"), article("\\usepackage{amssymb}\n", "Plain |"), at_cursor("|")]


@given(
    arrays(np.float32, len(SYMBOLS), elements=st.floats(0, 1, width=32)),
    st.integers(1, len(SYMBOLS)),
    st.sampled_from(range(len(WHERE))),
)
def test_answers_are_whole_fixed_groups_best_first(values: np.ndarray, limit: int, where: int) -> None:
    probs = values / values.sum() if values.sum() > 0 else np.full(len(SYMBOLS), 1 / len(SYMBOLS))
    preference = label_preference(WHERE[where])
    answers = RANKER.grouped(probs, limit, preference)
    assert len(answers) == min(limit, 6)  # 10 symbols in 4 pairs and 2 alone
    assert [a.score for a in answers] == sorted((a.score for a in answers), reverse=True)
    shown = [c.symbol.id for a in answers for c in (a.label, *a.alternatives)]
    assert len(shown) == len(set(shown))
    for answer in answers:
        members = [answer.label, *answer.alternatives]
        assert {c.symbol.id for c in members} == set(FIXED.members_of(answer.label.symbol.id))
        assert answer.score == pytest.approx(sum(c.score for c in members), abs=1e-6)
        scores = [c.score for c in answer.alternatives]
        assert scores == sorted(scores, reverse=True)
        assert all(preference(answer.label) <= preference(c) for c in answer.alternatives)
