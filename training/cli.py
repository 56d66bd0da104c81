"""`extexify-train`: build the recognizer from Detexify handwriting data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import click
import numpy as np
import torch

from extexify_lsp.model import DeviceUnavailableError, ModelConfig
from extexify_lsp.raster import RasterConfig
from extexify_lsp.recognizer import ModelArtifactError, Recognizer, default_model_path
from extexify_lsp.store import StoreError
from training.dataset import Dataset, DatasetError
from training.evaluate import (
    EvalConfig,
    EvaluationError,
    Reference,
    evaluate,
    load_metrics,
    summary_metrics,
)
from training.export import export
from training.glyphs import CHROMIUM, GlyphError
from training.groups import (
    DEFAULT_OVERRIDES,
    GroupsBuildError,
    GroupsConfig,
    add_to_artifact,
    load_overrides,
    make_groups,
)
from training.preview import PreviewError, SheetConfig, contact_sheet, find_symbols, random_symbols
from training.sources import (
    SHARED_DATA_VARIABLE,
    SHARED_TARBALL,
    ImportReport,
    SourceError,
    import_source,
    read_source_index,
    shared_source,
)
from training.split import Split, SplitError, make_split
from training.sqldump import SqlImportError, import_database, import_dump
from training.store import empty_dataset, export_store, import_store, reading, store_stats
from training.train import Device, FitOn, TrainConfig, TrainingError, train

DEFAULT_DATASET = Path("data/detexify.npz")
DEFAULT_SPLIT = Path("data/split.npz")


@click.group()
@click.version_option(package_name="extexify")
def main() -> None:
    """Import, split, preview, train, evaluate and export the extexify symbol recognizer."""


def _is_sql_dump(path: Path) -> bool:
    return path.name.endswith((".sql", ".sql.gz"))


def _symbols_source(given: Path | None) -> Path:
    if given is not None:
        return given
    if shared_source().is_file():
        return shared_source()
    raise click.UsageError(
        "a database or store import needs the symbol table (and legacy-id mapping) of a Detexify Next "
        f"source: pass --symbols SOURCE (a source directory or .tar.gz); there is none at {shared_source()}"
    )


def _import(
    source: Path | None,
    dsn: str | None,
    symbols: Path | None,
    only: tuple[str, ...],
    include_rejected: bool,
    store: str | None = None,
) -> tuple[Dataset, ImportReport]:
    if store is not None:
        return _import_store(store, source, dsn, symbols, only, include_rejected)
    if source is not None and not _is_sql_dump(source):
        if dsn is not None:
            raise click.UsageError("--dsn is for SQL dumps and databases, not for a Detexify Next source")
        return import_source(source, only or None, include_rejected=include_rejected)
    if dsn is None:
        raise click.UsageError("a SQL import needs --dsn (the PostgreSQL database to load into or read from)")
    if only:
        raise click.UsageError("--only applies to Detexify Next sources, not to SQL imports")
    index = read_source_index(_symbols_source(symbols))
    if source is None:
        return import_database(dsn, index, include_rejected=include_rejected)
    dataset, report, loaded = import_dump(source, dsn, index, include_rejected=include_rejected)
    click.echo(loaded.summary(), err=True)
    return dataset, report


def _import_store(
    spec: str,
    source: Path | None,
    dsn: str | None,
    symbols: Path | None,
    only: tuple[str, ...],
    include_rejected: bool,
) -> tuple[Dataset, ImportReport]:
    """The SOURCE's samples (if given), then the store's."""
    if dsn is not None or (source is not None and _is_sql_dump(source)):
        raise click.UsageError("--store adds to a Detexify Next SOURCE, or to none: not to a SQL import")
    if source is None:
        base, report = empty_dataset(read_source_index(_symbols_source(symbols)).symbols), ImportReport()
    else:
        base, report = import_source(source, only or None, include_rejected=include_rejected)
    with reading(spec) as opened:
        return import_store(opened, base, report), report


@main.command("import")
@click.argument("source", required=False, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=DEFAULT_DATASET, show_default=True)
@click.option("--dsn", help="PostgreSQL database to load a SQL dump into (created if missing) or to read.")
@click.option(
    "--symbols",
    type=click.Path(path_type=Path),
    help=f"Detexify Next source with the symbol table, for SQL imports [default: {SHARED_TARBALL} in the "
    f"folder ${SHARED_DATA_VARIABLE} names, else in ../shared/data beside the checkout, if present]",
)
@click.option("--only", multiple=True, metavar="SYMBOL_ID", help="Import only this symbol (repeatable).")
@click.option("--include-rejected", is_flag=True, help="Keep samples the curator rejected.")
@click.option("--strict", is_flag=True, help="Fail, writing nothing, if any row cannot be used.")
@click.option(
    "--store",
    metavar="PATH|DSN",
    help="Also import the samples users taught and picked in this extexify-lsp sample store (its user "
    "symbols join the symbol table); with no SOURCE, only those.",
)
def import_command(
    source: Path | None,
    output: Path,
    dsn: str | None,
    symbols: Path | None,
    only: tuple[str, ...],
    include_rejected: bool,
    strict: bool,
    store: str | None,
) -> None:
    """Import Detexify handwriting into one dataset file.

    SOURCE is a Detexify Next source directory or .tar.gz, or a Detexify SQL dump (.sql or .sql.gz,
    with --dsn). With --dsn and no SOURCE, read the `samples` table already in that database.
    With --store, a sample store's samples follow SOURCE's.
    """
    if source is None and dsn is None and store is None:
        raise click.UsageError(
            "give a SOURCE, --dsn to read a database that holds the samples table, or --store"
        )
    try:
        dataset, report = _import(source, dsn, symbols, only, include_rejected, store)
    except (SourceError, SqlImportError, DatasetError, StoreError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(report.summary(), err=True)
    if len(dataset) == 0:
        raise click.ClickException("no sample could be imported; wrote nothing")
    if strict and report.skipped:
        raise click.ClickException(
            f"--strict: {sum(report.skipped.values())} rows cannot be used; wrote nothing"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    dataset.save(output)
    click.echo(f"wrote {len(dataset)} samples of {len(np.unique(dataset.labels))} symbols to {output}")


@main.command("split")
@click.argument("dataset_path", required=False, type=click.Path(path_type=Path), default=DEFAULT_DATASET)
@click.option("-o", "--output", type=click.Path(path_type=Path), default=DEFAULT_SPLIT, show_default=True)
@click.option("--seed", type=int, default=Split.seed, show_default=True)
@click.option("--val-fraction", type=float, default=Split.val_fraction, show_default=True)
@click.option("--test-fraction", type=float, default=Split.test_fraction, show_default=True)
def split_command(
    dataset_path: Path, output: Path, seed: int, val_fraction: float, test_fraction: float
) -> None:
    """Split a dataset file into train/validation/test, stratified per symbol and seeded."""
    try:
        dataset = Dataset.load(dataset_path)
        split = make_split(dataset, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)
    except (DatasetError, SplitError) as error:
        raise click.ClickException(str(error)) from None
    if split.few_samples:
        click.echo(
            f"{len(split.few_samples)} symbols have fewer than 3 samples and are only in train: "
            + ", ".join(split.few_samples),
            err=True,
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    split.save(output)
    click.echo(f"train {len(split.train)}, val {len(split.val)}, test {len(split.test)} samples -> {output}")


@main.command("preview")
@click.argument("dataset_path", required=False, type=click.Path(path_type=Path), default=DEFAULT_DATASET)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), default=Path("runs/preview.png"), show_default=True
)
@click.option("--symbol", "names", multiple=True, help="Symbol id or command to show (repeatable).")
@click.option(
    "--random",
    "count",
    type=click.IntRange(min=1),
    default=12,
    show_default=True,
    help="Without --symbol: this many symbols.",
)
@click.option("--per-symbol", type=click.IntRange(min=1), default=SheetConfig.per_symbol, show_default=True)
@click.option(
    "--size",
    type=click.IntRange(min=1),
    default=RasterConfig.size,
    show_default=True,
    help="Model input size in pixels.",
)
@click.option("--seed", type=int, default=0, show_default=True)
def preview_command(
    dataset_path: Path,
    output: Path,
    names: tuple[str, ...],
    count: int,
    per_symbol: int,
    size: int,
    seed: int,
) -> None:
    """Write a PNG contact sheet of drawings as rasterized for the model, with the command under each."""
    rng = np.random.default_rng(seed)
    try:
        dataset = Dataset.load(dataset_path)
        symbols = find_symbols(dataset, names) if names else random_symbols(dataset, count, rng)
        image = contact_sheet(
            dataset, symbols, rng, RasterConfig(size=size), SheetConfig(per_symbol=per_symbol)
        )
    except (DatasetError, PreviewError) as error:
        raise click.ClickException(str(error)) from None
    output.parent.mkdir(parents=True, exist_ok=True)
    image.save(output)
    click.echo(f"wrote {output}: {len(symbols)} symbols")


def _load_data(dataset_path: Path, split_path: Path) -> tuple[Dataset, Split]:
    try:
        dataset = Dataset.load(dataset_path)
        return dataset, Split.load(split_path, dataset)
    except (DatasetError, SplitError) as error:
        raise click.ClickException(str(error)) from None


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of integers") from None


@main.command("train")
@click.argument("dataset_path", required=False, type=click.Path(path_type=Path), default=DEFAULT_DATASET)
@click.option(
    "--split", "split_path", type=click.Path(path_type=Path), default=DEFAULT_SPLIT, show_default=True
)
@click.option("-o", "--out", type=click.Path(path_type=Path), default=Path("runs/model"), show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=TrainConfig.epochs, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=TrainConfig.batch_size, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=TrainConfig.lr, show_default=True)
@click.option("--seed", type=int, default=TrainConfig.seed, show_default=True)
@click.option("--device", type=click.Choice(get_args(Device)), default=TrainConfig.device, show_default=True)
@click.option(
    "--fit-on",
    type=click.Choice(get_args(FitOn)),
    default=TrainConfig.fit_on,
    show_default=True,
    help="train+val: the final model; no held-out validation, so the last epoch is kept.",
)
@click.option(
    "--input",
    "input_kind",
    type=click.Choice(["ink", "ink+motion"]),
    default="ink+motion" if RasterConfig.motion else "ink",
    show_default=True,
    help="ink+motion adds pen direction and drawing-progress channels to the ink image.",
)
@click.option("--widths", default=",".join(map(str, ModelConfig.widths)), show_default=True)
@click.option("--convs", default=",".join(map(str, ModelConfig.convs_per_stage)), show_default=True)
@click.option("--hidden", type=click.IntRange(min=1), default=ModelConfig.hidden, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=TrainConfig.workers,
    show_default=True,
    help="DataLoader worker processes.",
)
@click.option(
    "--threads", type=click.IntRange(min=1), help="torch CPU threads per process [default: torch's choice]"
)
@click.option("--resume", is_flag=True, help="Continue from OUT/last.pt with the same options.")
def train_command(
    dataset_path: Path,
    split_path: Path,
    out: Path,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    device: Device,
    fit_on: FitOn,
    input_kind: str,
    widths: str,
    convs: str,
    hidden: int,
    workers: int,
    threads: int | None,
    resume: bool,
) -> None:
    """Train the CNN; writes OUT/last.pt, OUT/best.pt and OUT/history.json.

    For several GPUs or nodes run it under torchrun, e.g.
    `torchrun --nproc_per_node=2 --no-python extexify-train train ...`.
    """
    if threads is not None:
        torch.set_num_threads(threads)
    dataset, split = _load_data(dataset_path, split_path)
    raster = RasterConfig(motion=input_kind == "ink+motion")
    config = TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        device=device,
        fit_on=fit_on,
        workers=workers,
        raster=raster,
        model=ModelConfig(
            num_classes=len(dataset.symbols),
            in_channels=raster.channels,
            input_size=raster.size,
            widths=_ints(widths),
            convs_per_stage=_ints(convs),
            hidden=hidden,
        ),
    )
    try:
        final = train(
            dataset, split.train, split.val, out, config, resume=resume, data_source=dataset_path.name
        )
    except (TrainingError, DeviceUnavailableError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    if final is not None:
        click.echo(f"finished: {json.dumps(final.to_dict())}")


@main.command("evaluate")
@click.argument("model", required=False, type=click.Path(path_type=Path), default=default_model_path())
@click.option(
    "--data", "dataset_path", type=click.Path(path_type=Path), default=DEFAULT_DATASET, show_default=True
)
@click.option(
    "--split", "split_path", type=click.Path(path_type=Path), default=DEFAULT_SPLIT, show_default=True
)
@click.option("-o", "--out", type=click.Path(path_type=Path), default=Path("runs/report"), show_default=True)
@click.option(
    "--dtw-samples",
    type=click.IntRange(min=1),
    help="Run the DTW baseline on this many test drawings [default: all]",
)
@click.option(
    "--dtw-reference",
    type=click.Choice(get_args(Reference)),
    default=EvalConfig.dtw_reference,
    show_default=True,
    help="The drawings DTW matches against: those the model was trained on.",
)
def evaluate_command(
    model: Path,
    dataset_path: Path,
    split_path: Path,
    out: Path,
    dtw_samples: int | None,
    dtw_reference: Reference,
) -> None:
    """Evaluate MODEL (an exported artifact) and the DTW baseline on the test split: OUT/report.md + PNGs."""
    dataset, split = _load_data(dataset_path, split_path)
    reference = np.concatenate([split.train, split.val]) if dtw_reference == "train+val" else split.train
    try:
        recognizer = Recognizer.load(model)
        metrics = evaluate(
            recognizer,
            dataset,
            split.test,
            reference,
            out,
            EvalConfig(dtw_samples=dtw_samples, dtw_reference=dtw_reference),
        )
    except (ModelArtifactError, EvaluationError) as error:
        raise click.ClickException(str(error)) from None
    model_m, dtw = metrics.model, metrics.dtw
    click.echo(
        f"model top-1 {model_m.top1:.3f} top-5 {model_m.top5:.3f} top-10 {model_m.top10:.3f} | "
        f"DTW top-1 {dtw.top1:.3f} top-5 {dtw.top5:.3f} top-10 {dtw.top10:.3f} | "
        f"{metrics.latency.median_ms:.2f} ms per drawing -> {out / 'report.md'}"
    )


@main.command("export")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), default=Path("models"), show_default=True)
@click.option(
    "--metrics",
    "metrics_path",
    type=click.Path(path_type=Path),
    help="metrics.json from `extexify-train evaluate`, recorded in the metadata.",
)
@click.option(
    "--groups",
    "groups_run",
    type=click.Path(path_type=Path),
    help="A folder from `extexify-train groups`: the artifact carries its groups and glyph atlas.",
)
def export_command(checkpoint: Path, out: Path, metrics_path: Path | None, groups_run: Path | None) -> None:
    """Write CHECKPOINT as the model artifact the server loads (safetensors weights + JSON metadata)."""
    try:
        metrics = summary_metrics(load_metrics(metrics_path)) if metrics_path else None
        meta_file = export(checkpoint, out, metrics, groups_run)
    except (OSError, EvaluationError, TrainingError, ModelArtifactError, GroupsBuildError) as error:
        raise click.ClickException(f"cannot export: {error}") from None
    click.echo(f"wrote {meta_file} and {meta_file.with_suffix('.safetensors')}")


@main.command("groups")
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--source",
    type=click.Path(path_type=Path),
    required=True,
    help="The Detexify Next source (directory or .tar.gz) whose typeset SVGs give the glyphs.",
)
@click.option(
    "--data", "dataset_path", type=click.Path(path_type=Path), default=DEFAULT_DATASET, show_default=True
)
@click.option(
    "--split", "split_path", type=click.Path(path_type=Path), default=DEFAULT_SPLIT, show_default=True
)
@click.option(
    "--overrides",
    type=click.Path(path_type=Path),
    default=DEFAULT_OVERRIDES,
    show_default=True,
    help="A reviewer's rejected and added links.",
)
@click.option("-o", "--out", type=click.Path(path_type=Path), default=Path("runs/groups"), show_default=True)
@click.option(
    "--into",
    type=click.Path(path_type=Path),
    help="Also add the groups and glyphs to this existing model artifact (its weights stay as they are).",
)
@click.option(
    "--test-model",
    type=click.Path(path_type=Path),
    help="Also measure the groups with this artifact on the test split (e.g. the shipped model).",
)
@click.option(
    "--glyph-threshold", type=click.FloatRange(min=0), default=GroupsConfig.glyph_threshold, show_default=True
)
@click.option(
    "--glyph-stretch", type=click.FloatRange(min=0), default=GroupsConfig.glyph_stretch, show_default=True
)
@click.option(
    "--confusion-threshold",
    type=click.FloatRange(min=0, min_open=True),
    default=GroupsConfig.confusion_threshold,
    show_default=True,
)
@click.option("--unicode/--no-unicode", default=GroupsConfig.unicode, show_default=True)
@click.option("--max-size", type=click.IntRange(2, 12), default=GroupsConfig.max_size, show_default=True)
@click.option("--chromium", type=click.Path(path_type=Path), default=CHROMIUM, show_default=True)
def groups_command(
    model: Path,
    source: Path,
    dataset_path: Path,
    split_path: Path,
    overrides: Path,
    out: Path,
    into: Path | None,
    test_model: Path | None,
    glyph_threshold: float,
    glyph_stretch: float,
    confusion_threshold: float,
    unicode: bool,
    max_size: int,
    chromium: Path,
) -> None:
    """Build draw-alike groups and the glyph atlas for MODEL's symbols: OUT/groups.json, glyphs, groups.png.

    MODEL is an artifact fit on the training split only: its confusions on the validation split are one
    kind of evidence, next to glyphs that trace the same pen path and one Unicode character in several
    packages.
    """
    dataset, split = _load_data(dataset_path, split_path)
    config = GroupsConfig(glyph_threshold, glyph_stretch, confusion_threshold, unicode, max_size)
    try:
        recognizer = Recognizer.load(model)
        tester = Recognizer.load(test_model) if test_model else None
        run = make_groups(
            recognizer,
            dataset,
            split,
            source,
            load_overrides(overrides, recognizer.symbols),
            config,
            out,
            chromium,
            tester,
        )
        if into is not None:
            add_to_artifact(out, into)
    except (ModelArtifactError, GroupsBuildError, GlyphError, SourceError) as error:
        raise click.ClickException(str(error)) from None
    sizes = ", ".join(f"{count} of {size}" for size, count in sorted(run.report.sizes.items()))
    click.echo(
        f"{len(run.groups.groups)} groups ({sizes}); {len(run.report.dropped)} links dropped over the cap"
    )
    for name, metrics in (("validation (in-sample)", run.validation), ("test", run.test)):
        if metrics is not None:
            click.echo(
                f"{name}: hit@1 {metrics.hit1:.3f} showing {metrics.shown1:.2f} symbols, "
                f"hit@5 {metrics.hit5:.3f} showing {metrics.shown5:.2f} (flat top-1 {metrics.top1:.3f}, "
                f"top-5 {metrics.top5:.3f})"
            )
    click.echo(f"wrote {out}" + (f" and added the groups to {into}" if into else ""))


@main.group("store")
def store_group() -> None:
    """See and take out the samples taught and picked in an extexify-lsp sample store."""


_store_option = click.option(
    "--store",
    "spec",
    metavar="PATH|DSN",
    help="The store: a SQLite file or a postgresql:// DSN [default: the server's, "
    "$XDG_DATA_HOME/extexify/samples.sqlite3]",
)


@store_group.command("stats")
@_store_option
def store_stats_command(spec: str | None) -> None:
    """Samples per symbol, taught and picked."""
    try:
        with reading(spec) as opened:
            stats = store_stats(opened)
    except StoreError as error:
        raise click.ClickException(str(error)) from None
    click.echo(stats.summary())


@store_group.command("export")
@_store_option
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, allow_dash=True), default="-", show_default=True
)
def store_export_command(spec: str | None, output: Path) -> None:
    """Write the user symbols and every sample as JSON lines (to stdout, or OUTPUT)."""
    try:
        with reading(spec) as opened, click.open_file(str(output), "w", encoding="utf-8") as out:
            counts = export_store(opened, out)
            location = opened.location
    except StoreError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"cannot write {output}: {error.strerror or error}") from None
    click.echo(f"exported {counts[0]} user symbols and {counts[1]} samples from {location}", err=True)
