"""Rank a drawing's symbol probabilities: flat, one answer per symbol, or one answer per draw-alike group.

A group's answer scores the sum of its members' probabilities. Its label is the member that fits the
document best: one needing no new `\\usepackage` line, then one fitting the mode at the cursor, then the
likeliest; the other members follow as alternatives, likeliest first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from extexify_lsp.groups import SymbolGroups
from extexify_lsp.items import Placement, fits_mode, mode_ranked, needs_new_package
from extexify_lsp.recognizer import Candidate
from extexify_lsp.symbols import SymbolTable

# Extra candidates taken from the flat ranking so that ones fitting the cursor's mode can move up into it.
RERANK_POOL = 10

Preference = Callable[[Candidate], tuple[bool, bool, float]]


@dataclass(frozen=True)
class GroupAnswer:
    """A group, answered: the member shown, the others likeliest first, and the group's probability."""

    label: Candidate
    alternatives: tuple[Candidate, ...]
    score: float


def label_preference(where: Placement | None) -> Preference:
    """Sort key of a group's members for its label: lowest first."""
    if where is None:
        return lambda c: (False, False, -c.score)
    return lambda c: (
        needs_new_package(c.symbol, where),
        not fits_mode(c.symbol, where.in_math),
        -c.score,
    )


class Ranker:
    """Ranks probability vectors (the symbol table's label order) for one model's symbols and groups."""

    def __init__(self, symbols: SymbolTable, groups: SymbolGroups) -> None:
        self.symbols = symbols
        group_of = np.full(len(symbols), -1, dtype=np.intp)
        members: list[tuple[int, ...]] = []
        for i, symbol in enumerate(symbols):
            if group_of[i] < 0:
                indices = tuple(symbols.index(m) for m in groups.members_of(symbol.id))
                group_of[list(indices)] = len(members)
                members.append(indices)  # the group's fixed member order
        self.group_of = group_of  # (num_symbols,) group number of each symbol
        self.members = members  # group number -> member indices

    def flat(self, probabilities: np.ndarray, limit: int, in_math: bool | None = None) -> list[Candidate]:
        """The `limit` likeliest symbols; given the cursor's mode, those fitting it move up a little."""
        pool = limit if in_math is None else limit + RERANK_POOL
        scores = probabilities.tolist()
        candidates = [Candidate(self.symbols[i], scores[i]) for i in _top(probabilities, pool)]
        if in_math is not None:
            candidates = mode_ranked(candidates, in_math)
        return candidates[:limit]

    def grouped(self, probabilities: np.ndarray, limit: int, preference: Preference) -> list[GroupAnswer]:
        """The `limit` likeliest groups (alone symbols are groups of one), each with its label chosen."""
        sums = np.bincount(self.group_of, weights=probabilities, minlength=len(self.members))
        scores = probabilities.tolist()  # Python floats: faster to index one by one than the array
        answers = []
        for group in _top(sums, limit):
            # Likeliest first; members with equal probabilities keep the group's fixed order (stable sort).
            ranked = [
                Candidate(self.symbols[i], scores[i])
                for i in sorted(self.members[group], key=lambda i: -scores[i])
            ]
            label = min(ranked, key=preference) if len(ranked) > 1 else ranked[0]
            alternatives = tuple(c for c in ranked if c is not label)
            answers.append(GroupAnswer(label, alternatives, float(sums[group])))
        return answers


def _top(values: np.ndarray, count: int) -> list[int]:
    """Indices of the `count` largest values, largest first; ties in index order."""
    return np.argsort(-values, kind="stable")[:count].tolist()
