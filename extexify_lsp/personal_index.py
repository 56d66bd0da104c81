"""The user's stored samples as the model sees them, and how they move its ranking: no retraining.

Each sample is embedded once (the model's penultimate layer, unit length) by the model that serves; a
drawing close to samples of a symbol raises that symbol's probability, by class prototypes (the mean of
a symbol's samples) or by nearest neighbours (similarity-weighted votes of the closest samples); bench/
personal.py measures both. Below a cosine similarity threshold a sample says nothing, so a taught
symbol appears only for drawings close to its samples. User symbols extend the model's symbol table; one
whose samples the model mostly reads as a built-in symbol joins that symbol's draw-alike group.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from extexify_lsp.groups import MAX_GROUP_SIZE, Link, SymbolGroups
from extexify_lsp.ranking import Ranker
from extexify_lsp.store import StoredSample, UserSymbol
from extexify_lsp.strokes import InvalidStrokesError, parse_strokes
from extexify_lsp.symbols import Symbol, SymbolTable

if TYPE_CHECKING:
    from extexify_lsp.recognizer import Recognizer

logger = logging.getLogger("extexify_lsp")

Method = Literal["prototypes", "knn"]


@dataclass(frozen=True)
class FusionConfig:
    """How samples move the model's probabilities (defaults chosen in bench/personal.py)."""

    method: Method = "prototypes"
    # Cosine similarity at which a sample starts to count; 1.0 counts fully. Calibrated on validation
    # drawings: few different-symbol pairs reach it, most same-symbol ones do (bench/personal.py).
    threshold: float = 0.6
    weight: float = 1.0  # what a drawing identical to a symbol's samples adds to its probability
    neighbours: int = 5  # knn: the closest samples that vote
    join_mass: float = 0.5  # a user symbol joins a built-in's group when the model gives that group this much


@dataclass(frozen=True)
class Embedded:
    """Samples embedded by one model, in store order."""

    model_version: str
    sample_ids: np.ndarray  # (N,) int64
    symbol_ids: tuple[str, ...]  # (N,)
    embeddings: np.ndarray  # (N, hidden) float32, unit length
    read_as: np.ndarray  # (N,) int64: the built-in symbol the model reads each sample as (its likeliest)
    read_mass: np.ndarray  # (N,) float32: the probability of that symbol's group

    @classmethod
    def empty(cls, model_version: str, hidden: int) -> Embedded:
        return cls(
            model_version,
            np.zeros(0, np.int64),
            (),
            np.zeros((0, hidden), np.float32),
            np.zeros(0, np.int64),
            np.zeros(0, np.float32),
        )

    def __len__(self) -> int:
        return len(self.symbol_ids)

    def keep(self, sample_ids: set[int]) -> Embedded:
        """Only the samples whose ids are in `sample_ids` (the others were forgotten)."""
        mask = np.array([int(i) in sample_ids for i in self.sample_ids], dtype=bool)
        return Embedded(
            self.model_version,
            self.sample_ids[mask],
            tuple(s for s, m in zip(self.symbol_ids, mask.tolist(), strict=True) if m),
            self.embeddings[mask],
            self.read_as[mask],
            self.read_mass[mask],
        )

    def plus(self, other: Embedded) -> Embedded:
        return Embedded(
            self.model_version,
            np.concatenate([self.sample_ids, other.sample_ids]),
            self.symbol_ids + other.symbol_ids,
            np.concatenate([self.embeddings, other.embeddings]),
            np.concatenate([self.read_as, other.read_as]),
            np.concatenate([self.read_mass, other.read_mass]),
        )


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row scaled to unit length (all-zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)


def embed_samples(recognizer: Recognizer, samples: Sequence[StoredSample]) -> Embedded:
    """Embed stored samples with the recognizer's model; ones whose strokes do not parse are skipped and
    logged (the server checks strokes before storing, but another program may have written the store)."""
    drawings, kept = [], []
    for sample in samples:
        try:
            drawings.append(parse_strokes(sample.strokes))
        except InvalidStrokesError as error:
            logger.warning("sample %d of %s is skipped: %s", sample.id, sample.symbol_id, error)
            continue
        kept.append(sample)
    if not kept:
        return Embedded.empty(recognizer.version, recognizer.model.config.hidden)
    embeddings, probabilities = recognizer.embed_and_classify(drawings)  # (N, hidden), (N, symbols)
    probabilities_np = probabilities.numpy()
    read_as = probabilities_np.argmax(axis=1)
    groups = recognizer.groups
    symbols = recognizer.symbols
    read_mass = [
        sum(float(row[symbols.index(m)]) for m in groups.members_of(symbols[int(i)].id))
        for row, i in zip(probabilities_np, read_as.tolist(), strict=True)
    ]
    return Embedded(
        recognizer.version,
        np.array([s.id for s in kept], dtype=np.int64),
        tuple(s.symbol_id for s in kept),
        unit_rows(embeddings.numpy()),
        read_as.astype(np.int64),
        np.array(read_mass, dtype=np.float32),
    )


def user_symbol(symbol: UserSymbol) -> Symbol:
    """A user symbol as a row of the symbol table."""
    return Symbol(
        id=symbol.id, command=symbol.command, package=symbol.package, fontenc="OT1", mode=symbol.mode
    )


class PersonalIndex:
    """What the user's samples add to recognition, for one model: read-only once built (a change builds a
    new one, so a request in flight keeps a consistent view)."""

    def __init__(
        self,
        symbols: SymbolTable,
        groups: SymbolGroups,
        samples: Embedded,
        user_symbols: dict[str, UserSymbol],
        config: FusionConfig | None = None,
    ) -> None:
        self.config = FusionConfig() if config is None else config
        self.samples = samples
        self.model_version = samples.model_version
        # Samples of symbols neither the model nor the store knows (forgotten meanwhile) are left out.
        known = [s in symbols or s in user_symbols for s in samples.symbol_ids]
        classes = list(dict.fromkeys(s for s, k in zip(samples.symbol_ids, known, strict=True) if k))
        self.classes = tuple(classes)  # symbol ids with samples: built-in ones, then as they come
        taught = [user_symbols[c] for c in classes if c not in symbols]
        self.symbols = SymbolTable([*symbols, *(user_symbol(u) for u in taught)]) if taught else symbols
        self.groups = _joined_groups(symbols, groups, samples, taught, self.config.join_mass)
        self.ranker = Ranker(self.symbols, self.groups)
        class_of = {c: n for n, c in enumerate(classes)}
        mask = np.array(known, dtype=bool)
        self.embeddings = samples.embeddings[mask]  # (N, hidden)
        self.labels = np.array(
            [class_of[s] for s, k in zip(samples.symbol_ids, known, strict=True) if k], dtype=np.intp
        )  # (N,) class of each sample
        self.columns = np.array([self.symbols.index(c) for c in classes], dtype=np.intp)  # (C,)
        hidden = samples.embeddings.shape[1]
        sums = np.zeros((len(classes), hidden), np.float32)
        np.add.at(sums, self.labels, self.embeddings)
        self.prototypes = unit_rows(sums)  # (C, hidden): each class's mean direction
        # The rows recognition compares drawings with, in float16: half the memory to read per drawing, which
        # is most of the product's time once other work has filled the caches; similarities move by ~1e-3.
        rows = self.prototypes if self.config.method == "prototypes" else self.embeddings
        self.rows = torch.from_numpy(rows).half()  # (C or N, hidden)
        # The classes in groups of two or more, their group numbers (in the ranker), and each group's columns.
        grouped = [n for n, c in enumerate(classes) if len(self.groups.members_of(c)) > 1]
        self.grouped = np.array(grouped, dtype=np.intp)  # (G,)
        self.group_of_class = self.ranker.group_of[self.columns[self.grouped]]  # (G,)
        self.group_columns = {
            int(g): np.array(self.ranker.members[g], dtype=np.intp) for g in self.group_of_class.tolist()
        }

    def __len__(self) -> int:
        return len(self.labels)

    def evidence(self, embedding: np.ndarray) -> np.ndarray:
        """(C,) how strongly the drawing's unit `embedding` (hidden,) resembles each class's samples, 0..1."""
        config = self.config
        similarities = _similarities(self.rows, embedding)  # (C,) to prototypes, or (N,) to samples
        if config.method == "prototypes":
            return _closeness(similarities, config.threshold)
        count = min(config.neighbours, len(similarities))
        nearest = np.argpartition(-similarities, count - 1)[:count]
        closeness = _closeness(similarities[nearest], config.threshold)  # (K,)
        votes = np.bincount(self.labels[nearest], weights=closeness, minlength=len(self.classes))
        total = float(closeness.sum())
        # Each class's share of the similarity-weighted votes, scaled by how close the nearest sample is.
        return votes * (float(closeness.max()) / total) if total > 0 else votes

    def fuse(self, probabilities: np.ndarray, embedding: np.ndarray) -> np.ndarray:
        """The model's (symbols,) probabilities with the samples' evidence added, over this index's symbol
        table (user symbols after the model's), summing to 1."""
        fused = np.zeros(len(self.symbols), np.float64)
        fused[: len(probabilities)] = probabilities
        evidence = self.evidence(unit_rows(embedding))
        fused[self.columns] += self.config.weight * evidence
        # Within a group, the member whose samples the drawing is closest to leads: it trades scores with
        # the group's likeliest member (the group's sum, and so its rank, stays).
        close = evidence[self.grouped] > 0
        if close.any():
            classes, groups = self.grouped[close], self.group_of_class[close]
            order = np.lexsort((-evidence[classes], groups))  # by group, the closest class first
            classes, groups = classes[order], groups[order]
            leading = np.ones(len(order), dtype=bool)
            leading[1:] = groups[1:] != groups[:-1]
            for n, group in zip(classes[leading].tolist(), groups[leading].tolist(), strict=True):
                columns = self.group_columns[group]
                mine, top = self.columns[n], columns[np.argmax(fused[columns])]
                fused[mine], fused[top] = fused[top], fused[mine]
        return fused / fused.sum()


def _similarities(rows: torch.Tensor, vector: np.ndarray) -> np.ndarray:
    """`rows @ vector` as float32, through torch, which keeps to the threads the server gives it (one):
    numpy's BLAS starts its own on every core, and on a busy machine a 10,000-row product then takes 20 ms,
    not 0.1."""
    return (rows @ torch.from_numpy(vector).to(rows.dtype)).float().numpy()


def _closeness(similarities: np.ndarray, threshold: float) -> np.ndarray:
    """0 at or below the threshold, rising linearly to 1 at similarity 1."""
    return np.clip((similarities - threshold) / (1.0 - threshold), 0.0, 1.0)


def _joined_groups(
    symbols: SymbolTable,
    groups: SymbolGroups,
    samples: Embedded,
    taught: list[UserSymbol],
    join_mass: float,
) -> SymbolGroups:
    """The model's groups, with each user symbol in the group of the built-in symbol the model reads its
    samples as, when the model gives that symbol's group `join_mass` of their probability on average."""
    if not taught:
        return groups
    members = {number: list(group) for number, group in enumerate(groups.groups)}
    links = {number: list(group_links) for number, group_links in enumerate(groups.links)}
    alone: dict[str, int] = {}  # built-in symbol in no group -> the new group it anchors
    for mine in taught:
        rows = [n for n, s in enumerate(samples.symbol_ids) if s == mine.id]
        read_as, votes = Counter(int(samples.read_as[n]) for n in rows).most_common(1)[0]
        mass = float(sum(samples.read_mass[n] for n in rows if samples.read_as[n] == read_as)) / len(rows)
        if mass < join_mass:
            continue
        anchor = symbols[read_as].id
        number = groups.group_index(anchor)
        if number is None:
            number = alone.setdefault(anchor, len(groups.groups) + len(alone))
            members.setdefault(number, [anchor])
            links.setdefault(number, [])
        if len(members[number]) >= MAX_GROUP_SIZE:
            continue
        members[number].append(mine.id)
        evidence = {"kind": "confusion", "mass_ab": round(mass, 4), "samples": len(rows), "votes": votes}
        links[number].append(Link(mine.id, anchor, (evidence,)))
    order = sorted(members)
    return SymbolGroups(
        tuple(tuple(members[n]) for n in order), tuple(tuple(links[n]) for n in order), MAX_GROUP_SIZE
    )
