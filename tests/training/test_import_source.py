"""`extexify-train import` from a Detexify Next source: the shared tarball, and directories made from it."""

from __future__ import annotations

import json
import math
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pytest
from click.testing import CliRunner

from training.cli import main
from training.dataset import Dataset
from training.sources import SourceError, import_source, iter_source_samples, read_symbol_table


@dataclass
class Subset:
    """A few symbols of the shared source and what their files say, read with plain tarfile + json."""

    symbol_ids: list[str]
    rows: dict[str, list[dict]]  # symbol id -> its JSONL rows, in file order
    rejected: set[str]
    directory: Path  # an unpacked source holding only these symbols' sample files


@pytest.fixture(scope="module")
def subset(source_tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> Subset:
    directory = tmp_path_factory.mktemp("source") / "detexify-source"
    with tarfile.open(source_tarball, "r:gz") as archive:
        root = PurePosixPath(archive.getmembers()[0].name).parts[0]
        metadata = {}
        for name in ("symbols.json", "samples/manifest.json", "reviews/rejected-samples.json"):
            metadata[name] = archive.extractfile(f"{root}/{name}").read()
        metadata["imports/legacy-detexify.json"] = archive.extractfile(
            f"{root}/imports/legacy-detexify.json"
        ).read()
    rejected = set(json.loads(metadata["reviews/rejected-samples.json"])["rejected"])
    manifest = json.loads(metadata["samples/manifest.json"])["samples"]
    paths = {f"{root}/{entry['path']}": entry for entry in manifest}
    # Two symbols with curator-rejected samples and the first two without.
    chosen: dict[str, bytes] = {}
    with_rejected = 0
    with tarfile.open(source_tarball, "r|gz") as archive:
        for member in archive:
            if member.name not in paths:
                continue
            raw = archive.extractfile(member).read()
            has_rejected = any(
                json.loads(line)["id"] in rejected for line in raw.splitlines() if line.strip()
            )
            if has_rejected and with_rejected < 2:
                with_rejected += 1
                chosen[member.name] = raw
            elif not has_rejected and len(chosen) - with_rejected < 2:
                chosen[member.name] = raw
            if len(chosen) == 4 and with_rejected == 2:
                break
    for name, raw in metadata.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(raw)
    rows = {}
    for name, raw in chosen.items():
        entry = paths[name]
        (directory / entry["path"]).parent.mkdir(parents=True, exist_ok=True)
        (directory / entry["path"]).write_bytes(raw)
        rows[entry["symbolId"]] = [json.loads(line) for line in raw.splitlines() if line.strip()]
    # Keep the manifest's order, which is the symbol table's.
    symbol_ids = [e["symbolId"] for e in manifest if e["symbolId"] in rows]
    return Subset(symbol_ids=symbol_ids, rows=rows, rejected=rejected, directory=directory)


def _kept(subset: Subset, symbol_id: str) -> list[dict]:
    """The symbol's rows that are not curator-rejected."""
    return [r for r in subset.rows[symbol_id] if r["id"] not in subset.rejected]


def _restrict_manifest(directory: Path, symbol_ids: list[str]) -> None:
    """Make the directory's manifest list only the symbols whose files it holds."""
    path = directory / "samples" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["samples"] = [e for e in manifest["samples"] if e["symbolId"] in symbol_ids]
    path.write_text(json.dumps(manifest))


def test_tarball_import_matches_the_source_files(source_tarball: Path, subset: Subset) -> None:
    dataset, report = import_source(source_tarball, subset.symbol_ids)

    assert dataset.symbols.ids == subset.symbol_ids
    expected_ids = [
        r["id"] for s in subset.symbol_ids for r in subset.rows[s] if r["id"] not in subset.rejected
    ]
    assert list(dataset.sample_ids) == expected_ids
    assert [dataset.symbol_id(i) for i in range(len(dataset))] == [
        s for s in subset.symbol_ids for _ in _kept(subset, s)
    ]
    excluded = sum(r["id"] in subset.rejected for rows in subset.rows.values() for r in rows)
    assert excluded >= 2
    assert not set(dataset.sample_ids) & subset.rejected
    assert report.imported == len(expected_ids)
    assert report.rows == report.expected == sum(len(rows) for rows in subset.rows.values())
    assert report.excluded_rejected == excluded
    assert not report.skipped


def test_strokes_keep_the_source_drawing(source_tarball: Path, subset: Subset) -> None:
    dataset, _ = import_source(source_tarball, subset.symbol_ids)
    rows = {r["id"]: r for rows in subset.rows.values() for r in rows}
    for i in range(len(dataset)):
        source = [s for s in rows[dataset.sample_ids[i]]["strokes"] if s]
        drawing = dataset.drawing(i)
        assert [len(s) for s in drawing] == [len(s) for s in source]
        xy = np.concatenate([s[:, :2] for s in drawing]).astype(np.float64)
        original = np.array([(p["x"], p["y"]) for s in source for p in s])
        # Fitted to the unit square and centred (Detexify's lab samples are stored relative to a canvas)
        np.testing.assert_allclose((xy.min(axis=0) + xy.max(axis=0)) / 2, [0.5, 0.5], atol=1e-6)
        extent = np.ptp(original, axis=0).max()
        assert np.ptp(xy, axis=0).max() == pytest.approx(1.0 if extent > 0 else 0.0, abs=1e-6)
        # ...by a uniform scale and a shift, so the drawing keeps its shape.
        if extent > 0:
            np.testing.assert_allclose(
                xy - xy.min(axis=0), (original - original.min(axis=0)) / extent, atol=1e-6
            )
        assert np.isnan(drawing[0][:, 2]).all()


def test_include_rejected_keeps_curator_rejected_samples(source_tarball: Path, subset: Subset) -> None:
    dataset, report = import_source(source_tarball, subset.symbol_ids, include_rejected=True)
    assert len(dataset) == sum(len(rows) for rows in subset.rows.values())
    assert report.excluded_rejected == 0


def test_directory_and_tarball_give_the_same_dataset(source_tarball: Path, subset: Subset) -> None:
    from_tarball, _ = import_source(source_tarball, subset.symbol_ids)
    from_directory, _ = import_source(subset.directory, subset.symbol_ids)
    assert from_directory.symbols.ids == from_tarball.symbols.ids
    np.testing.assert_array_equal(from_directory.sample_ids, from_tarball.sample_ids)
    np.testing.assert_array_equal(from_directory.labels, from_tarball.labels)
    np.testing.assert_array_equal(from_directory.points, from_tarball.points)
    np.testing.assert_array_equal(from_directory.stroke_offsets, from_tarball.stroke_offsets)


def test_source_samples_fixture_gives_real_drawings(source_samples, subset: Subset) -> None:
    symbol_id = subset.symbol_ids[0]
    samples = source_samples([symbol_id])
    assert samples is source_samples([symbol_id])
    assert [s.id for s in samples] == [
        r["id"] for r in subset.rows[symbol_id] if r["id"] not in subset.rejected
    ]
    assert all(s.symbol_id == symbol_id and s.strokes[0].shape[1] == 2 for s in samples)


def test_cli_import_writes_a_dataset_file(source_tarball: Path, subset: Subset, tmp_path: Path) -> None:
    output = tmp_path / "data" / "detexify.npz"
    only = [arg for s in subset.symbol_ids for arg in ("--only", s)]
    result = CliRunner().invoke(main, ["import", str(source_tarball), "-o", str(output), *only])
    assert result.exit_code == 0, result.output
    dataset = Dataset.load(output)
    expected, _ = import_source(source_tarball, subset.symbol_ids)
    np.testing.assert_array_equal(dataset.sample_ids, expected.sample_ids)
    np.testing.assert_array_equal(dataset.points, expected.points)
    assert dataset.symbols.to_list() == expected.symbols.to_list()
    excluded = sum(r["id"] in subset.rejected for rows in subset.rows.values() for r in rows)
    assert f"excluded {excluded} samples rejected by the curator" in result.output
    assert "skipped none" in result.output
    assert f"wrote {len(dataset)} samples of {len(subset.symbol_ids)} symbols" in result.output


@pytest.fixture
def damaged(subset: Subset, tmp_path: Path) -> Path:
    """A copy of the subset's source with one bad row of each kind appended to the first symbol's file."""
    directory = tmp_path / "detexify-source"
    shutil.copytree(subset.directory, directory)
    _restrict_manifest(directory, subset.symbol_ids)
    manifest = json.loads((directory / "samples" / "manifest.json").read_text())["samples"]
    first, second = manifest[0], manifest[1]
    good = subset.rows[first["symbolId"]][0]
    bad_rows = [
        "{not json",
        json.dumps({**good, "id": "sample:test:other-symbol", "symbolId": second["symbolId"]}),
        json.dumps({**good, "id": "sample:test:empty", "strokes": [[], []]}),
        json.dumps({**good, "id": "sample:test:nan", "strokes": [[{"x": math.nan, "y": 0.5}]]}),
        json.dumps({**good, "id": "sample:test:text", "strokes": [[{"x": "left", "y": 0.5}]]}),
        json.dumps(good),  # the same id again
    ]
    with open(directory / first["path"], "a") as file:
        file.write("\n".join(bad_rows) + "\n")
    (directory / second["path"]).unlink()
    return directory


def test_unusable_rows_are_counted_by_reason(damaged: Path, subset: Subset) -> None:
    dataset, report = import_source(damaged, subset.symbol_ids)
    second = subset.symbol_ids[1]
    assert dict(report.skipped) == {
        "malformed JSON row": 1,
        "symbol id differs from the manifest's": 1,
        "empty drawing": 1,
        "invalid strokes": 2,
        "duplicate sample id": 1,
        "sample file listed in the manifest is missing": len(subset.rows[second]),
    }
    assert "not finite numbers" in " ".join(report.examples["invalid strokes"])
    # Every row read is accounted for (the missing file's samples were listed, never read).
    unread = report.skipped["sample file listed in the manifest is missing"]
    assert report.rows == report.imported + report.excluded_rejected + report.skipped.total() - unread
    good = [
        r["id"]
        for s in subset.symbol_ids
        if s != second
        for r in subset.rows[s]
        if r["id"] not in subset.rejected
    ]
    assert list(dataset.sample_ids) == good
    assert "skipped 2: invalid strokes" in report.summary()


def test_without_a_report_the_first_unusable_row_raises(damaged: Path, subset: Subset) -> None:
    with pytest.raises(SourceError, match="malformed JSON row"):
        list(iter_source_samples(damaged, subset.symbol_ids[:1]))


def test_cli_reports_skipped_rows_and_strict_refuses(damaged: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.npz"
    result = CliRunner().invoke(main, ["import", str(damaged), "-o", str(output), "--strict"])
    assert result.exit_code == 1
    assert "--strict" in result.output and "wrote nothing" in result.output
    assert "skipped 1: empty drawing" in result.output
    assert not output.exists()

    result = CliRunner().invoke(main, ["import", str(damaged), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert "skipped 1: malformed JSON row" in result.output
    assert output.exists()


def _not_a_source(kind: str, base: Path) -> Path:
    """A path that is not a Detexify Next source, of the given kind."""
    if kind == "directory":
        base.mkdir()
    elif kind == "text file":
        base.write_text("hello")
    elif kind == "broken tarball":
        base = base.with_suffix(".tar.gz")
        base.write_bytes(b"not gzip at all")
    return base


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "no such file or directory"),
        ("directory", "no symbols.json"),
        ("text file", "expected a Detexify Next source directory or a .tar.gz"),
        ("broken tarball", "cannot read the archive"),
    ],
)
def test_not_a_source_is_a_clear_error(tmp_path: Path, kind: str, message: str) -> None:
    path = _not_a_source(kind, tmp_path / "source")
    with pytest.raises(SourceError, match=message):
        read_symbol_table(path)
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(tmp_path / "out.npz")])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_unknown_symbol_ids_are_refused(source_tarball: Path) -> None:
    with pytest.raises(SourceError, match="unknown symbol ids: latex:nope:nothing"):
        import_source(source_tarball, ["latex:nope:nothing"])


def test_cli_import_of_nothing_writes_nothing(subset: Subset, tmp_path: Path) -> None:
    directory = tmp_path / "detexify-source"
    shutil.copytree(subset.directory, directory)
    _restrict_manifest(directory, [])  # a source whose manifest lists no sample files
    output = tmp_path / "out.npz"
    result = CliRunner().invoke(main, ["import", str(directory), "-o", str(output)])
    assert result.exit_code == 1
    assert result.output.endswith("Error: no sample could be imported; wrote nothing\n")
    assert not output.exists()
