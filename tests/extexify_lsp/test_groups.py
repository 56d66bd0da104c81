"""Draw-alike groups and the glyph atlas in the artifact: parsed, checked at load, served."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from extexify_lsp.glyphs import GlyphAtlas, GlyphsError
from extexify_lsp.groups import GROUPS_VERSION, GroupsError, SymbolGroups
from extexify_lsp.recognizer import METADATA_NAME, ModelArtifactError, Recognizer
from extexify_lsp.symbols import Symbol, SymbolTable

SYMBOLS = SymbolTable(Symbol(f"latex:latex2e:s{k}", f"\\s{k}", None, "OT1", "math") for k in range(5))
S = SYMBOLS.ids


def raw_groups(*groups: list[str], version: object = GROUPS_VERSION) -> dict[str, Any]:
    """Groups metadata chaining each group's members with glyph evidence."""
    return {
        "version": version,
        "max_size": 12,
        "groups": [
            {
                "members": members,
                "links": [
                    {"a": a, "b": b, "evidence": [{"kind": "glyph", "distance": 0.02, "stretch": 1.0}]}
                    for a, b in itertools.pairwise(members)
                ],
            }
            for members in groups
        ],
    }


def test_members_of_gives_the_whole_fixed_group_or_the_symbol_alone() -> None:
    groups = SymbolGroups.from_metadata(raw_groups([S[3], S[0], S[1]]), SYMBOLS)
    assert groups.groups == ((S[3], S[0], S[1]),)
    assert groups.members_of(S[0]) == groups.members_of(S[1]) == (S[3], S[0], S[1])
    assert groups.members_of(S[2]) == (S[2],)
    assert groups.links[0][0].evidence[0]["kind"] == "glyph"
    assert SymbolGroups.alone().members_of(S[4]) == (S[4],)


def test_groups_survive_a_round_trip_through_metadata() -> None:
    groups = SymbolGroups.from_metadata(raw_groups([S[0], S[1]], [S[2], S[3], S[4]]), SYMBOLS)
    again = SymbolGroups.from_metadata(json.loads(json.dumps(groups.to_metadata())), SYMBOLS)
    assert again == groups


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (raw_groups([S[0], S[1]], version=2), "version 2"),
        ([], "must be an object"),
        (raw_groups([S[0], "latex:nope:x"]), "not in the model's symbol table"),
        (raw_groups([S[0], S[1]], [S[1], S[2]]), "more than one group"),
        (raw_groups([S[0]]), "2 to 12"),
        (raw_groups([S[0], S[0]]), "twice"),
        ({"version": 1, "groups": [{"members": [S[0], S[1], S[2]], "links": []}]}, "do not connect"),
        (
            {"version": 1, "groups": [{"members": [S[0], S[1]], "links": [{"a": S[0], "b": S[1]}]}]},
            "no 'evidence'",
        ),
        (
            {
                "version": 1,
                "groups": [
                    {
                        "members": [S[0], S[1]],
                        "links": [{"a": S[0], "b": S[1], "evidence": [{"kind": "vibes"}]}],
                    }
                ],
            },
            "'kind' is one of",
        ),
        (
            {
                "version": 1,
                "groups": [
                    {
                        "members": [S[0], S[1]],
                        "links": [{"a": S[0], "b": S[2], "evidence": [{"kind": "unicode"}]}],
                    }
                ],
            },
            "two different members",
        ),
    ],
)
def test_malformed_groups_are_refused_with_a_reason(raw: object, message: str) -> None:
    with pytest.raises(GroupsError, match=message):
        SymbolGroups.from_metadata(raw, SYMBOLS)


def write_atlas(directory: Path, cell: int = 8, columns: int = 2) -> dict[str, Any]:
    """An atlas of SYMBOLS where glyph k is a bar k+1 px wide; returns its "glyphs" metadata."""
    rows = -(-len(SYMBOLS) // columns)
    atlas = Image.new("LA", (columns * cell, rows * cell), (0, 0))
    draw = ImageDraw.Draw(atlas)
    for k in range(len(SYMBOLS)):
        row, column = divmod(k, columns)
        draw.rectangle((column * cell, row * cell, column * cell + k, row * cell + cell - 1), fill=(0, 255))
    atlas.save(directory / "glyphs.png")
    digest = hashlib.sha256((directory / "glyphs.png").read_bytes()).hexdigest()
    return {
        "version": 1,
        "file": "glyphs.png",
        "sha256": digest,
        "cell": cell,
        "columns": columns,
        "missing": [S[4]],
    }


def ink_width(png: bytes) -> int:
    alpha = Image.open(io.BytesIO(png)).getchannel("A")
    box = alpha.getbbox()
    assert box is not None
    return box[2] - box[0]


def test_the_atlas_gives_each_symbol_its_own_cell(tmp_path: Path) -> None:
    atlas = GlyphAtlas.load(tmp_path, write_atlas(tmp_path), SYMBOLS)
    for k in range(4):
        png = atlas.png(S[k])
        assert png is not None and png.startswith(b"\x89PNG")
        assert Image.open(io.BytesIO(png)).size == (8, 8)
        assert ink_width(png) == k + 1
    assert atlas.png(S[4]) is None  # listed as missing
    assert atlas.png("latex:nope:x") is None
    assert atlas.png(S[1]) is atlas.png(S[1])  # cached


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw.update(version=2), "version 2"),
        (lambda raw: raw.update(sha256="0" * 64), "does not match the sha256"),
        (lambda raw: raw.update(file="../glyphs.png"), "beside the metadata"),
        (lambda raw: raw.update(file="gone.png"), "cannot read"),
        (lambda raw: raw.update(cell=9), "need 18x27"),
        (lambda raw: raw.update(columns=0), "positive integer"),
        (lambda raw: raw.update(missing=["latex:nope:x"]), "symbol ids"),
    ],
)
def test_a_bad_atlas_is_refused_with_a_reason(tmp_path: Path, change, message: str) -> None:
    raw = write_atlas(tmp_path)
    change(raw)
    with pytest.raises(GlyphsError, match=message):
        GlyphAtlas.load(tmp_path, raw, SYMBOLS)


def test_an_atlas_file_that_is_no_png_is_refused(tmp_path: Path) -> None:
    (tmp_path / "glyphs.png").write_bytes(b"not a png")
    raw = {"version": 1, "file": "glyphs.png", "cell": 8, "columns": 2}
    raw["sha256"] = hashlib.sha256(b"not a png").hexdigest()
    with pytest.raises(GlyphsError, match="not a readable PNG"):
        GlyphAtlas.load(tmp_path, raw, SYMBOLS)


@pytest.fixture
def tiny_copy(tiny_model: Path, tmp_path: Path) -> Path:
    """A writable copy of the tiny artifact, without groups or glyphs."""
    shutil.copytree(tiny_model, tmp_path / "model")
    return tmp_path / "model"


def edit_metadata(directory: Path, change) -> None:
    path = directory / METADATA_NAME
    metadata = json.loads(path.read_text())
    metadata.pop("groups", None)
    metadata.pop("glyphs", None)
    change(metadata)
    path.write_text(json.dumps(metadata))


def test_an_artifact_without_groups_or_glyphs_loads_with_every_symbol_alone(tiny_copy: Path) -> None:
    edit_metadata(tiny_copy, lambda metadata: None)
    recognizer = Recognizer.load(tiny_copy, device="cpu")
    assert recognizer.groups.groups == ()
    assert recognizer.glyphs is None
    first = recognizer.symbols.ids[0]
    assert recognizer.groups.members_of(first) == (first,)


def test_the_recognizer_loads_groups_and_glyphs_from_the_artifact(tiny_copy: Path) -> None:
    recognizer = Recognizer.load(tiny_copy, device="cpu")
    ids = recognizer.symbols.ids
    groups = raw_groups([ids[2], ids[0]])
    atlas = Image.new("LA", (3 * 4, 2 * 4), (0, 0))
    atlas.save(tiny_copy / "g.png")
    glyphs = {"version": 1, "file": "g.png", "cell": 4, "columns": 3}
    glyphs["sha256"] = hashlib.sha256((tiny_copy / "g.png").read_bytes()).hexdigest()
    edit_metadata(tiny_copy, lambda metadata: metadata.update(groups=groups, glyphs=glyphs))
    recognizer = Recognizer.load(tiny_copy, device="cpu")
    assert recognizer.groups.members_of(ids[0]) == (ids[2], ids[0])
    assert recognizer.glyphs is not None and recognizer.glyphs.png(ids[5]) is not None


@pytest.mark.parametrize(
    "change",
    [
        lambda metadata: metadata.update(groups={"version": 99, "groups": []}),
        lambda metadata: metadata.update(glyphs={"version": 99}),
        lambda metadata: metadata.update(
            glyphs={"version": 1, "file": "missing.png", "sha256": "0", "cell": 4, "columns": 3}
        ),
    ],
)
def test_bad_groups_or_glyphs_make_the_artifact_fail_to_load(tiny_copy: Path, change) -> None:
    edit_metadata(tiny_copy, change)
    with pytest.raises(ModelArtifactError, match=METADATA_NAME):
        Recognizer.load(tiny_copy, device="cpu")
