"""Stored samples in recognition, in process, shipped model: embedding, fusion, groups, re-embedding."""

from __future__ import annotations

import asyncio
import copy
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from extexify_lsp import personal as personal_module
from extexify_lsp.model import HalfLinear
from extexify_lsp.personal import REFRESH_S, Personal
from extexify_lsp.personal_index import Embedded, FusionConfig, PersonalIndex, embed_samples
from extexify_lsp.ranking import Ranker, label_preference
from extexify_lsp.recognizer import Recognizer
from extexify_lsp.store import StoredSample, UserSymbol, open_store
from extexify_lsp.strokes import parse_strokes
from tests.extexify_lsp.lsp_client import LEQ

CIRCLE = [[[50, 0], [85, 15], [100, 50], [85, 85], [50, 100], [15, 85], [0, 50], [15, 15], [50, 0]]]
# A shape no built-in symbol is: a zigzag with a loop on the end.
ZIGZAG = [[[0, 0], [20, 60], [40, 0], [60, 60], [80, 0], [100, 60], [90, 80], [75, 70], [100, 60]]]
UNRELATED = [LEQ, [[[0, 50], [100, 50]], [[50, 0], [50, 100]]], [[[0, 100], [50, 0], [100, 100]]]]
MYZIG = UserSymbol.new("\\myzig")
# The shipped model reads LEQ as \geq, grouped with \geqslant.
GEQ, GEQSLANT = "latex:amssymb:geq", "latex:amssymb:geqslant"


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.load(device="cpu")


def jittered(strokes: list[Any], seed: int) -> list[Any]:
    """The drawing as another hand might make it: scaled, sheared, shifted, with shaky points."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.85, 1.15, 2)
    shear = rng.uniform(-0.12, 0.12)
    out = []
    for stroke in strokes:
        points = np.array(stroke, dtype=float)
        x = points[:, 0] * scale[0] + shear * points[:, 1] + rng.normal(0, 2.5, len(points))
        y = points[:, 1] * scale[1] + rng.normal(0, 2.5, len(points))
        out.append(np.stack([x + 40, y + 10], axis=1).round(1).tolist())
    return out


def stored(samples: list[tuple[list[Any], str]], source: str = "taught") -> list[StoredSample]:
    return [
        StoredSample(n + 1, symbol_id, strokes, source, 0.0, "")  # type: ignore[arg-type]
        for n, (strokes, symbol_id) in enumerate(samples)
    ]


def ranked(recognizer: Recognizer, index: PersonalIndex | None, strokes: list[Any]) -> list[list[str]]:
    """The first five items' symbol ids (label first, then its alternatives), with the samples or without."""
    embeddings, probabilities = recognizer.embed_and_classify([parse_strokes(strokes)])
    if index is None:
        fused, ranker = probabilities[0].numpy(), Ranker(recognizer.symbols, recognizer.groups)
    else:
        fused, ranker = index.fuse(probabilities[0].numpy(), embeddings[0].numpy()), index.ranker
    answers = ranker.grouped(fused, 5, label_preference(None))
    return [[a.label.symbol.id, *(c.symbol.id for c in a.alternatives)] for a in answers]


def index_of(
    recognizer: Recognizer, samples: list[StoredSample], config: FusionConfig | None = None
) -> PersonalIndex:
    return PersonalIndex(
        recognizer.symbols, recognizer.groups, embed_samples(recognizer, samples), {MYZIG.id: MYZIG}, config
    )


def test_the_embedding_is_the_layer_before_the_last(recognizer: Recognizer) -> None:
    images = recognizer.images([parse_strokes(CIRCLE), parse_strokes(LEQ)])
    with torch.inference_mode():
        embeddings, logits = recognizer.model.embed_and_classify(images)
        assert embeddings.shape == (2, recognizer.model.config.hidden)
        torch.testing.assert_close(logits, recognizer.model(images))
        torch.testing.assert_close(recognizer.model.embed(images), embeddings)
    torch.testing.assert_close(recognizer.embed([parse_strokes(CIRCLE)]), embeddings[:1])


@pytest.mark.parametrize("method", ["prototypes", "knn"])
def test_a_taught_symbol_is_found_for_its_drawings_and_not_for_others(
    recognizer: Recognizer, method: str
) -> None:
    index = index_of(
        recognizer,
        stored([(jittered(ZIGZAG, seed), MYZIG.id) for seed in range(3)]),
        FusionConfig(method=method),  # type: ignore[arg-type]
    )
    assert any(MYZIG.id in item for item in ranked(recognizer, index, jittered(ZIGZAG, 99)))
    for strokes in UNRELATED:
        # Not close to the samples: the ranking is the model's, as if nothing were taught.
        assert ranked(recognizer, index, strokes) == ranked(recognizer, None, strokes)


def test_a_user_symbol_joins_the_group_of_the_symbol_its_samples_read_as(recognizer: Recognizer) -> None:
    samples = stored([(jittered(LEQ, seed), MYZIG.id) for seed in range(3)])
    index = index_of(recognizer, samples)
    assert set(index.groups.members_of(MYZIG.id)) == {GEQ, GEQSLANT, MYZIG.id}
    alone = index_of(recognizer, samples, FusionConfig(join_mass=1.01))
    assert alone.groups.members_of(MYZIG.id) == (MYZIG.id,)


def test_a_pick_makes_the_picked_member_its_groups_label(recognizer: Recognizer) -> None:
    before = ranked(recognizer, None, jittered(LEQ, 99))
    assert before[0][:2] == [GEQ, GEQSLANT]
    index = index_of(recognizer, stored([(jittered(LEQ, 1), GEQSLANT)], "picked"))
    after = ranked(recognizer, index, jittered(LEQ, 99))
    assert after[0] == [GEQSLANT, GEQ]
    assert after[1:] == before[1:]  # the other items are as they were


def test_forgotten_samples_leave_and_new_ones_join(recognizer: Recognizer) -> None:
    samples = embed_samples(recognizer, stored([(CIRCLE, MYZIG.id), (LEQ, GEQSLANT)]))
    assert samples.keep({2}).symbol_ids == (GEQSLANT,)
    assert len(samples.plus(samples)) == 4
    assert len(Embedded.empty("v", 384)) == 0


async def test_samples_are_embedded_when_stored_and_again_for_another_model(
    recognizer: Recognizer, tmp_path: Path
) -> None:
    personal = Personal.open(str(tmp_path / "samples.sqlite3"))
    try:
        await personal.call(lambda store: store.ensure_symbol(MYZIG))
        await personal.call(lambda store: store.add_sample(ZIGZAG, MYZIG.id, "taught", recognizer.version))
        personal.use_model(recognizer)
        index = await personal.current_index(recognizer.version)
        assert index is not None and index.classes == (MYZIG.id,) and len(index) == 1
        await personal.call(lambda store: store.add_sample(LEQ, GEQSLANT, "picked", recognizer.version))
        await personal.refresh(force=True)
        index = await personal.current_index(recognizer.version)
        assert index is not None and set(index.classes) == {MYZIG.id, GEQSLANT}
        assert await personal.current_index("another model") is None

        retrained = retrained_copy(recognizer)
        personal.use_model(retrained)
        index = await personal.current_index(retrained.version)
        assert index is not None and index.model_version == retrained.version and len(index) == 2
        expected = retrained.embed([parse_strokes(ZIGZAG), parse_strokes(LEQ)]).numpy()
        expected /= np.linalg.norm(expected, axis=1, keepdims=True)
        np.testing.assert_allclose(index.embeddings, expected, atol=1e-5)

        await personal.call(lambda store: store.forget_symbol(GEQSLANT))
        await personal.refresh(force=True)
        index = await personal.current_index(retrained.version)
        assert index is not None and index.classes == (MYZIG.id,)
    finally:
        personal.close()


def retrained_copy(recognizer: Recognizer) -> Recognizer:
    """Another model over the same symbols: the same network with its last hidden layer changed."""
    model = copy.deepcopy(recognizer.model)
    hidden = model.classifier[2]  # the Linear before the embedding's ReLU
    assert isinstance(hidden, HalfLinear)
    with torch.no_grad():
        hidden.weight.mul_(1.5).add_(0.01)
    metadata = {**recognizer.metadata, "weights": {"file": "x", "sha256": f"retrained-{time.time()}"}}
    return Recognizer(
        model, recognizer.raster, recognizer.symbols, metadata, recognizer.device, recognizer.groups
    )


async def test_another_servers_teaching_is_recognized_within_a_refresh_interval(
    recognizer: Recognizer, tmp_path: Path
) -> None:
    path = str(tmp_path / "samples.sqlite3")
    mine, theirs = Personal.open(path), Personal.open(path)
    try:
        mine.use_model(recognizer)
        assert await mine.current_index(recognizer.version) is None  # nothing stored yet
        await theirs.call(lambda store: store.ensure_symbol(MYZIG))
        drawings = [jittered(ZIGZAG, seed) for seed in range(3)]
        await theirs.call(
            lambda store: [store.add_sample(d, MYZIG.id, "taught", recognizer.version) for d in drawings]
        )
        await asyncio.sleep(REFRESH_S)
        index = await mine.current_index(recognizer.version)
        assert index is not None and index.classes == (MYZIG.id,) and len(index) == 3
        assert any(MYZIG.id in item for item in ranked(recognizer, index, jittered(ZIGZAG, 99)))
    finally:
        mine.close()
        theirs.close()


async def test_recognition_goes_on_without_samples_still_being_embedded(
    recognizer: Recognizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "samples.sqlite3")
    store = open_store(path)
    assert store is not None
    store.ensure_symbol(MYZIG)
    for seed in range(20):
        store.add_sample(jittered(ZIGZAG, seed), MYZIG.id, "taught", recognizer.version)
    store.close()
    monkeypatch.setattr(personal_module, "INDEXING_WAIT_S", 0.0)
    personal = Personal.open(path)
    try:
        personal.use_model(recognizer)
        assert await personal.current_index(recognizer.version) is None  # not waited for
        await personal.call(lambda store: store.revision())  # the store thread is done embedding
        index = await personal.current_index(recognizer.version)
        assert index is not None and len(index) == 20
    finally:
        personal.close()
