"""Draw-alike groups from evidence, their offline evaluation, and their place in the model artifact.

Two symbols are linked when there is evidence that people draw them the same way:
- "glyph": their typeset glyphs leave pen paths within a Hausdorff distance (training.glyphs);
- "unicode": both typeset the same Unicode character (per pylatexenc), e.g. one sign in two packages;
- "confusion": a model that never trained on some drawings confuses the two in both directions on them,
  measured as mean probability mass: mass_ab is the mean over drawings of a of P(b);
- "override": a reviewer added the link in the override file (which can also reject links).
Groups grow strongest link first. A link joins two groups only when every member of one is linked to
every member of the other (complete linkage: a chain a ~ b ~ c does not put a and c together without
evidence between them; a reviewer's added link joins regardless), and only while the joined group holds
at most `max_size` symbols (links that would grow it further are dropped and reported). Every link in a
group keeps its evidence.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from extexify_lsp.glyphs import GLYPHS_VERSION
from extexify_lsp.groups import Link, SymbolGroups
from extexify_lsp.items import unicode_character
from extexify_lsp.raster import RasterConfig, rasterize
from extexify_lsp.recognizer import METADATA_NAME, Recognizer, metadata_path
from extexify_lsp.symbols import SymbolTable
from training.dataset import Dataset
from training.glyphs import (
    CHROMIUM,
    CloseGlyphs,
    GlyphMatch,
    close_glyphs,
    glyph_atlas,
    pen_path,
    render_source_glyphs,
)
from training.sources import read_source_index
from training.split import Split

OVERRIDES_VERSION = 1
DEFAULT_OVERRIDES = Path(__file__).resolve().parent / "group-overrides.json"
GLYPHS_NAME = "extexify-glyphs.png"  # the atlas beside an artifact's weights
# What `extexify-train groups` writes into its run folder, and `add_to_artifact` reads back.
GROUPS_FILE = "groups.json"
GLYPHS_FILE = "glyphs.json"

Pair = tuple[str, str]  # two symbol ids, in label order
Evidence = dict[str, Any]


class GroupsBuildError(ValueError):
    """Groups cannot be built or added: bad overrides, a mismatched symbol table or artifact."""


@dataclass(frozen=True)
class GroupsConfig:
    """Thresholds for each kind of evidence and the cap on group size."""

    # Chosen on the validation split (models/README.md): groups that keep the first five
    # answers well under 9 symbols on average.
    glyph_threshold: float = 0.03  # symmetric Hausdorff distance of pen paths (unit square)
    glyph_stretch: float = 0.0  # aspect stretches up to exp(+-this) are tried
    confusion_threshold: float = 0.12  # both mean masses at least this
    unicode: bool = True
    max_size: int = 4  # at most MAX_GROUP_SIZE


@dataclass(frozen=True)
class Overrides:
    """A reviewer's corrections: links to reject whatever their evidence, links to add with a note."""

    reject: Mapping[Pair, str] = field(default_factory=dict)
    add: Mapping[Pair, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildReport:
    sizes: dict[int, int]  # group size -> number of groups
    links_by_kind: dict[str, int]  # evidence kind -> links that have it (before the cap)
    rejected: list[Pair]  # links that had evidence but an override rejected
    dropped: list[Link]  # links left out because they would have made a group larger than max_size
    unjoined: int  # links left out because not every member of one group is linked to every one of the other

    def to_dict(self) -> dict[str, Any]:
        return {
            "groups": sum(self.sizes.values()),
            "symbols_in_groups": sum(size * count for size, count in self.sizes.items()),
            "size_distribution": {str(size): count for size, count in sorted(self.sizes.items())},
            "links_by_kind": self.links_by_kind,
            "rejected_by_override": [list(pair) for pair in self.rejected],
            "dropped_over_cap": [link.to_dict() for link in self.dropped],
            "left_out_not_linked_to_every_member": self.unjoined,
        }


def _pair(a: str, b: str, symbols: SymbolTable) -> Pair:
    return (a, b) if symbols.index(a) < symbols.index(b) else (b, a)


def glyph_links(close: CloseGlyphs, symbols: SymbolTable) -> dict[Pair, Evidence]:
    """Glyph evidence for pairs of pen paths found close (indices in label order)."""
    links = {}
    for (i, j), distance, stretch in zip(close.pairs, close.distances, close.stretches, strict=True):
        pair = _pair(symbols[int(i)].id, symbols[int(j)].id, symbols)
        links[pair] = {
            "kind": "glyph",
            "distance": round(float(distance), 4),
            "stretch": round(float(stretch), 3),
        }
    return links


def unicode_links(symbols: SymbolTable) -> dict[Pair, Evidence]:
    """Pairs of symbols typesetting the same Unicode character."""
    by_char: dict[str, list[str]] = {}
    for symbol in symbols:
        char = unicode_character(symbol.command)
        if char is not None:
            by_char.setdefault(char, []).append(symbol.id)
    return {
        (a, b): {"kind": "unicode", "char": char}
        for char, members in by_char.items()
        for n, a in enumerate(members)
        for b in members[n + 1 :]
    }


def confusion_mass(
    probabilities: np.ndarray, labels: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """(count, count) mass[a, b]: the mean over drawings of a of P(b); and the drawings per symbol."""
    drawings = np.bincount(labels, minlength=count)
    mass = np.zeros((count, count))
    np.add.at(mass, labels, probabilities)
    return mass / np.maximum(drawings, 1)[:, None], drawings


def confusion_links(mass: np.ndarray, symbols: SymbolTable, threshold: float) -> dict[Pair, Evidence]:
    """Pairs whose mean mass is at least `threshold` in both directions."""
    both = np.minimum(mass, mass.T)
    first, second = np.nonzero(np.triu(both >= threshold, k=1))
    return {
        (symbols[int(a)].id, symbols[int(b)].id): {
            "kind": "confusion",
            "mass_ab": round(float(mass[a, b]), 4),
            "mass_ba": round(float(mass[b, a]), 4),
        }
        for a, b in zip(first, second, strict=True)
    }


def load_overrides(path: Path, symbols: SymbolTable) -> Overrides:
    """Read the override file: {"version": 1, "reject": [{a, b, note}], "add": [{a, b, note}]}."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GroupsBuildError(f"cannot read the group overrides {path}: {error}") from None
    if not isinstance(raw, dict) or raw.get("version") != OVERRIDES_VERSION:
        raise GroupsBuildError(f"{path}: expected an object with 'version': {OVERRIDES_VERSION}")
    parsed: dict[str, dict[Pair, str]] = {}
    for key in ("reject", "add"):
        entries = raw.get(key, [])
        if not isinstance(entries, list):
            raise GroupsBuildError(f"{path}: '{key}' must be a list of {{a, b, note}} objects")
        parsed[key] = {}
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("note"), str) or not entry["note"]:
                raise GroupsBuildError(f"{path}: each '{key}' entry needs 'a', 'b' and a 'note' saying why")
            a, b = entry.get("a"), entry.get("b")
            for name in (a, b):
                if not isinstance(name, str) or name not in symbols:
                    raise GroupsBuildError(f"{path}: '{key}' names {name!r}, which is not a symbol id")
            assert isinstance(a, str) and isinstance(b, str)
            if a == b:
                raise GroupsBuildError(f"{path}: '{key}' links {a} to itself")
            parsed[key][_pair(a, b, symbols)] = entry["note"]
    both = parsed["reject"].keys() & parsed["add"].keys()
    if both:
        raise GroupsBuildError(f"{path}: {sorted(both)[0]} is both rejected and added")
    return Overrides(reject=parsed["reject"], add=parsed["add"])


def link_strength(evidence: Sequence[Evidence], config: GroupsConfig) -> float:
    """How sure a link is, for choosing which links to keep under the size cap.

    Each kind scores how far inside its threshold it is, from 0.5 (at the threshold) to 1 (identical);
    a unicode match is 1 and an override 2 (a reviewer's word beats measurements). Independent kinds
    agreeing add up.
    """
    total = 0.0
    for item in evidence:
        kind = item["kind"]
        if kind == "override":
            total += 2.0
        elif kind == "unicode":
            total += 1.0
        elif kind == "glyph":
            total += 1.0 - 0.5 * min(1.0, item["distance"] / max(config.glyph_threshold, 1e-9))
        else:
            least = min(item["mass_ab"], item["mass_ba"])
            total += least / (least + config.confusion_threshold) if least > 0 else 0.0
    return total


def build_groups(
    symbols: SymbolTable,
    evidence: Iterable[Mapping[Pair, Evidence]],
    overrides: Overrides,
    config: GroupsConfig,
) -> tuple[SymbolGroups, BuildReport]:
    """Groups from links: strongest first, complete linkage, none beyond config.max_size (see above)."""
    links: dict[Pair, list[Evidence]] = {}
    for found in evidence:
        for pair, item in found.items():
            links.setdefault(_pair(*pair, symbols), []).append(item)
    rejected = sorted(pair for pair in links if pair in overrides.reject)
    for pair in rejected:
        del links[pair]
    for pair, note in overrides.add.items():
        links.setdefault(pair, []).append({"kind": "override", "note": note})
    by_kind = Counter(kind for items in links.values() for kind in {item["kind"] for item in items})

    order = sorted(
        links,
        key=lambda pair: (
            -link_strength(links[pair], config),
            symbols.index(pair[0]),
            symbols.index(pair[1]),
        ),
    )
    group: dict[str, tuple[str, ...]] = {symbol.id: (symbol.id,) for symbol in symbols}  # so far
    dropped: list[Link] = []
    unjoined = 0
    for a, b in order:
        first, second = group[a], group[b]
        if first == second:
            continue
        forced = any(item["kind"] == "override" for item in links[a, b])
        if not forced and not all(_pair(x, y, symbols) in links for x in first for y in second):
            unjoined += 1  # some members of the two groups have no evidence of looking alike
            continue
        if len(first) + len(second) > config.max_size:
            dropped.append(Link(a, b, tuple(links[a, b])))
            continue
        joined = first + second
        for member in joined:
            group[member] = joined

    members = {group[symbol.id]: None for symbol in symbols}  # groups in order of their first member
    groups = [tuple(sorted(m, key=symbols.index)) for m in members if len(m) > 1]
    group_of = {s: n for n, group in enumerate(groups) for s in group}
    group_links: list[list[Link]] = [[] for _ in groups]
    for a, b in sorted(links, key=lambda pair: (symbols.index(pair[0]), symbols.index(pair[1]))):
        if a in group_of and group_of[a] == group_of.get(b):
            group_links[group_of[a]].append(Link(a, b, tuple(links[a, b])))
    result = SymbolGroups(tuple(groups), tuple(tuple(g) for g in group_links), config.max_size)
    report = BuildReport(
        sizes=dict(Counter(len(g) for g in groups)),
        links_by_kind=dict(sorted(by_kind.items())),
        rejected=rejected,
        dropped=dropped,
        unjoined=unjoined,
    )
    return result, report


def group_numbers(groups: SymbolGroups, ids: Sequence[str]) -> np.ndarray:
    """(len(ids),) the item number of each label: grouped labels share one, a lone label has its own."""
    numbers = np.empty(len(ids), dtype=np.int64)
    seen: dict[str, int] = {}
    for label, symbol_id in enumerate(ids):
        first = groups.members_of(symbol_id)[0]
        numbers[label] = seen.setdefault(first, len(seen))
    return numbers


@dataclass(frozen=True)
class GroupedMetrics:
    """Recognition counted by exact symbol (flat list) and by group (one item per group)."""

    drawings: int
    top1: float  # flat list, exact symbol
    top5: float
    top10: float
    hit1: float  # grouped: the true symbol is in the first item (as its label or an alternative)
    hit5: float  # ... in one of the first five items
    shown1: float  # mean symbols shown in the first item (label + alternatives)
    shown5: float  # ... in the first five items together

    def to_dict(self) -> dict[str, float | int]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def evaluate_grouping(probabilities: np.ndarray, labels: np.ndarray, numbers: np.ndarray) -> GroupedMetrics:
    """Hit@k and symbols shown when each item is a group scored by the sum of its members' probabilities.

    probabilities: (N, S) softmax in label order; labels: (N,) true labels; numbers: (S,) group_numbers().
    """
    count = int(numbers.max()) + 1
    order = np.argsort(numbers, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(numbers[order]) != 0])
    scores = np.add.reduceat(probabilities[:, order], starts, axis=1)  # (N, count) by item number
    sizes = np.bincount(numbers, minlength=count)
    top_items = np.argsort(-scores, axis=1, kind="stable")[:, :5]  # (N, 5)
    truth = numbers[labels]
    flat = np.argsort(-probabilities, axis=1, kind="stable")[:, :10]  # (N, 10)
    exact = flat == labels[:, None]
    return GroupedMetrics(
        drawings=len(labels),
        top1=float(exact[:, 0].mean()),
        top5=float(exact[:, :5].any(axis=1).mean()),
        top10=float(exact.any(axis=1).mean()),
        hit1=float((top_items[:, 0] == truth).mean()),
        hit5=float((top_items == truth[:, None]).any(axis=1).mean()),
        shown1=float(sizes[top_items[:, 0]].mean()),
        shown5=float(sizes[top_items].sum(axis=1).mean()),
    )


def glyphs_metadata(atlas: Path, cell: int, columns: int, missing: Sequence[str]) -> dict[str, Any]:
    """The artifact's "glyphs" value for an atlas file (which will sit beside the metadata)."""
    return {
        "version": GLYPHS_VERSION,
        "file": GLYPHS_NAME,
        "sha256": hashlib.sha256(atlas.read_bytes()).hexdigest(),
        "cell": cell,
        "columns": columns,
        "missing": list(missing),
    }


def write_run(
    out: Path,
    groups: SymbolGroups,
    labels: Sequence[str],
    atlas: Image.Image,
    cell: int,
    columns: int,
    missing: Sequence[str],
) -> None:
    """Write groups and glyphs into a run folder, ready for `add_to_artifact`."""
    out.mkdir(parents=True, exist_ok=True)
    atlas.save(out / GLYPHS_NAME, optimize=True)
    glyphs = {**glyphs_metadata(out / GLYPHS_NAME, cell, columns, missing), "labels": list(labels)}
    (out / GLYPHS_FILE).write_text(json.dumps(glyphs, indent=1) + "\n", encoding="utf-8")
    (out / GROUPS_FILE).write_text(json.dumps(groups.to_metadata(), indent=1) + "\n", encoding="utf-8")


def attach_run(run: Path, directory: Path) -> None:
    """Add a run folder's groups and glyph atlas to the artifact in `directory` (its metadata rewritten)."""
    meta_file = directory / METADATA_NAME
    try:
        groups = json.loads((run / GROUPS_FILE).read_text(encoding="utf-8"))
        glyphs = json.loads((run / GLYPHS_FILE).read_text(encoding="utf-8"))
        metadata = json.loads(meta_file.read_text(encoding="utf-8"))
        if glyphs.pop("labels", None) != metadata.get("labels"):
            raise GroupsBuildError(
                f"the groups in {run} were made for another symbol table than the model's; "
                "run `extexify-train groups` for this model"
            )
        shutil.copyfile(run / GLYPHS_NAME, directory / GLYPHS_NAME)
        metadata.update(groups=groups, glyphs=glyphs)
        meta_file.write_text(json.dumps(metadata, indent=1) + "\n", encoding="utf-8")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as error:
        raise GroupsBuildError(f"cannot add the groups in {run} to {directory} ({error})") from None


def add_to_artifact(run: Path, artifact: Path) -> Recognizer:
    """Add a run folder's groups and glyphs to an existing artifact (its weights untouched); the loaded
    result. The new files are checked in a scratch folder before they replace the old ones."""
    meta_file = metadata_path(artifact)
    directory = meta_file.parent
    weights_name = Recognizer.load(meta_file, device="cpu").metadata["weights"]["file"]
    scratch = Path(tempfile.mkdtemp(prefix=".groups-", dir=directory))
    try:
        shutil.copyfile(meta_file, scratch / METADATA_NAME)
        os.symlink((directory / weights_name).resolve(), scratch / weights_name)
        attach_run(run, scratch)
        Recognizer.load(scratch, device="cpu")  # fail here, not in the server
        # The atlas first: between the two renames the loader refuses the pair by the atlas's sha256.
        os.replace(scratch / GLYPHS_NAME, directory / GLYPHS_NAME)
        os.replace(scratch / METADATA_NAME, meta_file)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Recognizer.load(directory, device="cpu")


def contact_sheet(
    groups: SymbolGroups,
    atlas: Image.Image,
    cell: int,
    columns: int,
    dataset: Dataset,
    pool: np.ndarray,
    drawings: int = 2,
) -> Image.Image:
    """One row per group: each member's typeset glyph (from the atlas), `drawings` of its drawings (the
    first in `pool`, sample indices into `dataset`) and its id."""
    thumb = 40
    member_width = cell + drawings * (thumb + 2) + 12
    row_height = max(cell, thumb) + 16
    width = 40 + groups.max_size * member_width
    sheet = Image.new("L", (width, max(1, len(groups.groups)) * row_height), 255)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    ink = atlas.getchannel("A")
    raster = RasterConfig(size=thumb)
    for row, members in enumerate(groups.groups):
        y = row * row_height
        draw.text((4, y + cell // 2 - 5), str(row + 1), fill=0, font=font)
        for column, symbol_id in enumerate(members):
            x = 40 + column * member_width
            label = dataset.symbols.index(symbol_id)
            r, c = divmod(label, columns)
            glyph = ink.crop((c * cell, r * cell, (c + 1) * cell, (r + 1) * cell))
            sheet.paste(Image.eval(glyph, lambda v: 255 - v), (x, y))
            draw.rectangle((x, y, x + cell - 1, y + cell - 1), outline=170)
            for n, index in enumerate(pool[dataset.labels[pool] == label][:drawings]):
                pixels = rasterize(dataset.drawing(int(index)), raster)  # (thumb, thumb), ink = 1
                sheet.paste(
                    Image.fromarray(np.uint8(255 - 255 * pixels)), (x + cell + 2 + n * (thumb + 2), y)
                )
            draw.text((x, y + max(cell, thumb) + 2), symbol_id.removeprefix("latex:")[:26], fill=0, font=font)
        draw.line((0, y + row_height - 1, width, y + row_height - 1), fill=220)
    return sheet


ATLAS_CELL = 40  # px: a glyph at 2 px per point (11 pt typical) with room for the large operators
ATLAS_COLUMNS = 32
ATLAS_PX_PER_PT = 2.0


@dataclass(frozen=True)
class GroupsRun:
    """What `make_groups` built and measured."""

    groups: SymbolGroups
    report: BuildReport
    validation: GroupedMetrics  # the evidence model on the validation split (its confusions came from there)
    test: GroupedMetrics | None  # another model on the test split, if one was given

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.report.to_dict(),
            "validation_in_sample": self.validation.to_dict(),
            "test": None if self.test is None else self.test.to_dict(),
        }


def make_groups(
    recognizer: Recognizer,
    dataset: Dataset,
    split: Split,
    source: Path,
    overrides: Overrides,
    config: GroupsConfig,
    out: Path,
    chromium: Path = CHROMIUM,
    test_recognizer: Recognizer | None = None,
) -> GroupsRun:
    """Build the groups of `recognizer`'s symbols from all evidence; write them, the glyph atlas, a report
    and a contact sheet (groups.png) into `out`.

    `recognizer` must be fit on the training split only: its confusions on the validation split are
    evidence of drawings that look alike, not of drawings it memorized.
    """
    if recognizer.metadata.get("training", {}).get("fit_on") != "train":
        raise GroupsBuildError(
            "the model was not fit on the training split alone, so it has seen the validation drawings and "
            "its confusions there are no evidence; pass a model from `extexify-train train --fit-on train`"
        )
    symbols = recognizer.symbols
    for other in (dataset.symbols, *([test_recognizer.symbols] if test_recognizer else [])):
        if other.ids != symbols.ids:
            raise GroupsBuildError("the dataset and the models must share one symbol table (the same labels)")
    index = read_source_index(source)
    renderings, _ = render_source_glyphs(source, index, chromium, only=symbols.ids)
    images = [renderings[s] for s in symbols.ids]
    paths = [pen_path(r.image) for r in tqdm(images, desc="pen paths", unit=" glyphs")]
    close = close_glyphs(paths, GlyphMatch(config.glyph_threshold, config.glyph_stretch))

    validation = recognizer.probabilities([dataset.drawing(int(i)) for i in split.val]).numpy()
    mass, _ = confusion_mass(validation, dataset.labels[split.val], len(symbols))
    evidence = [glyph_links(close, symbols), confusion_links(mass, symbols, config.confusion_threshold)]
    if config.unicode:
        evidence.append(unicode_links(symbols))
    groups, report = build_groups(symbols, evidence, overrides, config)

    atlas, empty = glyph_atlas(images, ATLAS_CELL, ATLAS_COLUMNS, ATLAS_PX_PER_PT)
    write_run(out, groups, symbols.ids, atlas, ATLAS_CELL, ATLAS_COLUMNS, [symbols[k].id for k in empty])
    contact_sheet(groups, atlas, ATLAS_CELL, ATLAS_COLUMNS, dataset, split.train).save(out / "groups.png")
    numbers = group_numbers(groups, symbols.ids)
    test = None
    if test_recognizer is not None:
        probabilities = test_recognizer.probabilities([dataset.drawing(int(i)) for i in split.test]).numpy()
        test = evaluate_grouping(probabilities, dataset.labels[split.test], numbers)
    run = GroupsRun(groups, report, evaluate_grouping(validation, dataset.labels[split.val], numbers), test)
    (out / "report.json").write_text(json.dumps(run.to_dict(), indent=1) + "\n", encoding="utf-8")
    return run
