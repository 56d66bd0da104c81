"""Draw-alike groups: built from evidence under a size cap, corrected by overrides, evaluated, shipped."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from extexify_lsp.groups import SymbolGroups
from extexify_lsp.recognizer import METADATA_NAME, Recognizer
from extexify_lsp.symbols import Symbol, SymbolTable
from training.cli import main
from training.export import export
from training.groups import (
    DEFAULT_OVERRIDES,
    GLYPHS_NAME,
    GroupsBuildError,
    GroupsConfig,
    Overrides,
    add_to_artifact,
    build_groups,
    confusion_links,
    confusion_mass,
    evaluate_grouping,
    group_numbers,
    load_overrides,
    unicode_links,
    write_run,
)

SYMBOLS = SymbolTable(Symbol(f"latex:latex2e:s{k}", f"\\s{k}", None, "OT1", "math") for k in range(16))
S = SYMBOLS.ids


def glyph(distance: float) -> dict[str, object]:
    return {"kind": "glyph", "distance": distance, "stretch": 1.0}


def test_links_become_groups_that_keep_their_evidence() -> None:
    confusion = {(S[2], S[3]): {"kind": "confusion", "mass_ab": 0.3, "mass_ba": 0.2}}
    glyphs = {(S[0], S[1]): glyph(0.01), (S[3], S[2]): glyph(0.02)}
    groups, report = build_groups(SYMBOLS, [glyphs, confusion], Overrides(), GroupsConfig())
    assert groups.groups == ((S[0], S[1]), (S[2], S[3]))
    (link,) = groups.links[1]
    assert (link.a, link.b) == (S[2], S[3])  # pairs in label order, whichever way the evidence named them
    assert [e["kind"] for e in link.evidence] == ["glyph", "confusion"]
    assert report.sizes == {2: 2}
    assert report.links_by_kind == {"confusion": 1, "glyph": 2}
    assert groups.members_of(S[4]) == (S[4],)


def test_the_cap_drops_the_weakest_links_and_says_which() -> None:
    # s0..s5 all linked to each other, the link between sa and sb the weaker the larger a + b.
    clique = {(S[a], S[b]): glyph(0.001 * (a + b)) for a in range(6) for b in range(a + 1, 6)}
    groups, report = build_groups(SYMBOLS, [clique], Overrides(), GroupsConfig(max_size=4))
    assert groups.groups == ((S[0], S[1], S[2], S[3]), (S[4], S[5]))
    assert [(link.a, link.b) for link in report.dropped][:2] == [(S[0], S[4]), (S[0], S[5])]
    assert len(report.dropped) == 8  # every link between the two groups
    assert report.sizes == {4: 1, 2: 1}
    assert len(groups.links[0]) == 6  # all links inside a group are kept, with their evidence


def test_a_chain_joins_only_symbols_linked_to_every_member() -> None:
    chain = {(S[0], S[1]): glyph(0.001), (S[1], S[2]): glyph(0.002)}
    groups, report = build_groups(SYMBOLS, [chain], Overrides(), GroupsConfig())
    assert groups.groups == ((S[0], S[1]),)
    assert report.unjoined == 1
    # A reviewer's added link joins regardless: s2 joins through it and its own link to s1.
    overrides = Overrides(add={(S[0], S[2]): "drawn alike"})
    groups, report = build_groups(SYMBOLS, [chain], overrides, GroupsConfig())
    assert groups.groups == ((S[0], S[1], S[2]),)
    assert report.unjoined == 0


def test_building_is_deterministic_whatever_the_order_of_the_evidence() -> None:
    rng = np.random.default_rng(0)
    pairs = {tuple(sorted(rng.choice(16, 2, replace=False))) for _ in range(30)}
    evidence = {(S[a], S[b]): glyph(float(rng.choice([0.01, 0.02]))) for a, b in pairs}
    shuffled = dict(reversed(list(evidence.items())))
    config = GroupsConfig(max_size=5)
    first, _ = build_groups(SYMBOLS, [evidence], Overrides(), config)
    again, _ = build_groups(SYMBOLS, [shuffled], Overrides(), config)
    assert first == again
    assert max(len(g) for g in first.groups) <= 5


def test_overrides_reject_and_add_links(tmp_path: Path) -> None:
    path = tmp_path / "overrides.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "reject": [{"a": S[1], "b": S[0], "note": "different sizes matter here"}],
                "add": [{"a": S[5], "b": S[4], "note": "drawn alike"}],
            }
        )
    )
    overrides = load_overrides(path, SYMBOLS)
    evidence = {(S[0], S[1]): glyph(0.01), (S[1], S[2]): glyph(0.01)}
    groups, report = build_groups(SYMBOLS, [evidence], overrides, GroupsConfig())
    assert groups.groups == ((S[1], S[2]), (S[4], S[5]))
    assert groups.links[1][0].evidence == ({"kind": "override", "note": "drawn alike"},)
    assert report.rejected == [(S[0], S[1])]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "cannot read"),
        ('{"version": 2}', "'version': 1"),
        ('{"version": 1, "add": [{"a": "latex:latex2e:s0", "b": "nope", "note": "x"}]}', "not a symbol id"),
        ('{"version": 1, "add": [{"a": "latex:latex2e:s0", "b": "latex:latex2e:s1"}]}', "a 'note'"),
        ('{"version": 1, "reject": {}}', "must be a list"),
    ],
)
def test_a_bad_override_file_is_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "overrides.json"
    path.write_text(content)
    with pytest.raises(GroupsBuildError, match=message):
        load_overrides(path, SYMBOLS)


def test_the_committed_override_file_is_valid(source_tarball: Path) -> None:
    from training.sources import read_symbol_table

    load_overrides(DEFAULT_OVERRIDES, read_symbol_table(source_tarball))


def test_unicode_links_join_one_character_across_packages() -> None:
    symbols = SymbolTable(
        [
            Symbol("latex:latex2e:angle", "\\angle", None, "OT1", "math"),
            Symbol("latex:amssymb:angle", "\\angle", "amssymb", "OT1", "math"),
            Symbol("latex:latex2e:alpha", "\\alpha", None, "OT1", "math"),
        ]
    )
    assert unicode_links(symbols) == {
        ("latex:latex2e:angle", "latex:amssymb:angle"): {"kind": "unicode", "char": "∠"}
    }


def test_confusion_links_need_mass_in_both_directions() -> None:
    # Drawings of s0 give s1 0.3; drawings of s1 give s0 0.2; s2 gives s0 0.5 but s0 gives s2 nothing.
    probabilities = np.array(
        [[0.7, 0.3, 0.0], [0.7, 0.3, 0.0], [0.2, 0.8, 0.0], [0.5, 0.0, 0.5]] + [[0, 0, 1]] * 0
    )
    labels = np.array([0, 0, 1, 2])
    symbols = SymbolTable(SYMBOLS.symbols[:3])
    mass, drawings = confusion_mass(probabilities, labels, 3)
    assert drawings.tolist() == [2, 1, 1]
    assert mass[0, 1] == pytest.approx(0.3) and mass[1, 0] == pytest.approx(0.2)
    links = confusion_links(mass, symbols, 0.15)
    assert links == {(S[0], S[1]): {"kind": "confusion", "mass_ab": 0.3, "mass_ba": 0.2}}
    assert confusion_links(mass, symbols, 0.25) == {}


def test_the_evaluator_ranks_groups_by_summed_probability() -> None:
    # Three drawings over symbols s0..s3; s0 and s1 form a group.
    probabilities = np.array(
        [
            [0.30, 0.25, 0.45, 0.00],  # true s1: flat top-1 is s2, but the group s0+s1 (0.55) wins
            [0.10, 0.10, 0.00, 0.80],  # true s3: alone and first either way
            [0.05, 0.05, 0.60, 0.30],  # true s0: its group is third of three items
        ]
    )
    labels = np.array([1, 3, 0])
    groups, _ = build_groups(
        SymbolTable(SYMBOLS.symbols[:4]), [{(S[0], S[1]): glyph(0.0)}], Overrides(), GroupsConfig()
    )
    numbers = group_numbers(groups, S[:4])
    assert numbers.tolist() == [0, 0, 1, 2]
    metrics = evaluate_grouping(probabilities, labels, numbers)
    assert metrics.top1 == pytest.approx(1 / 3)
    assert metrics.hit1 == pytest.approx(2 / 3)
    assert metrics.hit5 == 1.0
    assert metrics.shown1 == pytest.approx((2 + 1 + 1) / 3)
    assert metrics.shown5 == pytest.approx(4.0)  # three items, four symbols, in every answer


@pytest.fixture
def overrides_for_tiny(tmp_path: Path) -> Path:
    """Overrides linking two of the tiny model's six distinct symbols, so it has a group."""
    path = tmp_path / "overrides.json"
    note = "a test link"
    add = [{"a": "latex:latex2e:xi", "b": "latex:latex2e:Gamma", "note": note}]
    path.write_text(json.dumps({"version": 1, "add": add}))
    return path


def test_the_groups_command_builds_groups_and_glyphs_into_an_artifact(
    tiny_model: Path,
    few_symbols_files: tuple[Path, Path],
    source_tarball: Path,
    overrides_for_tiny: Path,
    tmp_path: Path,
) -> None:
    artifact = tmp_path / "model"
    shutil.copytree(tiny_model, artifact)
    weights_before = (artifact / "extexify.safetensors").read_bytes()
    dataset, split = few_symbols_files
    out = tmp_path / "run"
    args = ["groups", str(tiny_model), "--source", str(source_tarball), "--data", str(dataset)]
    args += ["--split", str(split), "--overrides", str(overrides_for_tiny), "-o", str(out)]
    args += ["--into", str(artifact), "--test-model", str(tiny_model)]
    args += ["--confusion-threshold", "0.9"]  # the tiny model is unsure of everything: no confusion links
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "1 groups (1 of 2)" in result.output and "test: hit@1" in result.output

    loaded = Recognizer.load(artifact, device="cpu")
    assert (artifact / "extexify.safetensors").read_bytes() == weights_before
    pair = sorted(["latex:latex2e:xi", "latex:latex2e:Gamma"], key=loaded.symbols.index)  # label order
    assert loaded.groups.members_of("latex:latex2e:xi") == tuple(pair)
    assert loaded.groups.links[0][0].evidence[0] == {"kind": "override", "note": "a test link"}
    assert loaded.glyphs is not None
    for symbol_id in loaded.symbols.ids:
        png = loaded.glyphs.png(symbol_id)
        assert png is not None
        assert Image.open(io.BytesIO(png)).getchannel("A").getbbox() is not None  # has ink
    report = json.loads((out / "report.json").read_text())
    assert report["size_distribution"] == {"2": 1}
    assert Image.open(out / "groups.png").size[1] > 0

    # The export of a checkpoint carries the same groups and glyphs.
    exported = tmp_path / "exported"
    result = CliRunner().invoke(main, ["export", str(tiny_model.parent / "best.pt"), "-o", str(exported)])
    assert result.exit_code == 0, result.output
    assert Recognizer.load(exported, device="cpu").glyphs is None
    export(tiny_model.parent / "best.pt", exported, groups=out)
    again = Recognizer.load(exported, device="cpu")
    assert again.groups == loaded.groups
    assert (exported / GLYPHS_NAME).read_bytes() == (artifact / GLYPHS_NAME).read_bytes()


def test_the_groups_command_refuses_a_model_that_saw_the_validation_drawings(
    tiny_model: Path, few_symbols_files: tuple[Path, Path], source_tarball: Path, tmp_path: Path
) -> None:
    artifact = tmp_path / "model"
    shutil.copytree(tiny_model, artifact)
    metadata = json.loads((artifact / METADATA_NAME).read_text())
    metadata["training"]["fit_on"] = "train+val"
    (artifact / METADATA_NAME).write_text(json.dumps(metadata))
    dataset, split = few_symbols_files
    args = ["groups", str(artifact), "--source", str(source_tarball), "--data", str(dataset)]
    result = CliRunner().invoke(main, [*args, "--split", str(split), "-o", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert "has seen the validation drawings" in result.output
    assert not (tmp_path / "run").exists()


def test_groups_made_for_other_symbols_leave_the_artifact_alone(tiny_model: Path, tmp_path: Path) -> None:
    artifact = tmp_path / "model"
    shutil.copytree(tiny_model, artifact)
    before = sorted((p.name, p.read_bytes()) for p in artifact.iterdir())
    run = tmp_path / "run"
    labels = SYMBOLS.ids[:6]  # six symbols, but not the tiny model's
    write_run(run, SymbolGroups.alone(), labels, Image.new("LA", (6 * 8, 8)), 8, 6, [])
    with pytest.raises(GroupsBuildError, match="another symbol table"):
        add_to_artifact(run, artifact)
    assert sorted((p.name, p.read_bytes()) for p in artifact.iterdir()) == before  # no scratch left either
