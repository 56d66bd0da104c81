"""Shared fixtures: the Detexify data in ../shared and the symbol table read from it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import torch

from extexify_lsp.model import ModelConfig
from training.dataset import Dataset
from training.export import export
from training.sources import SourceSample, import_source, iter_source_samples
from training.split import Split, make_split
from training.train import TrainConfig, train

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("EXTEXIFY_SHARED_DATA", ROOT.parent / "shared" / "data"))
SOURCE_TARBALL = SHARED_DATA / "detexify-source.tar.gz"


@pytest.fixture(scope="session", autouse=True)
def private_data_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every server the tests start keeps its default sample store in a temporary folder, not the user's."""
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))


@pytest.fixture(scope="session")
def source_tarball() -> Path:
    """The shared Detexify source tarball; the tests need it, so its absence is an error."""
    if not SOURCE_TARBALL.is_file():
        pytest.fail(f"{SOURCE_TARBALL} is missing: the tests read the shared Detexify data from there")
    return SOURCE_TARBALL


@pytest.fixture(scope="session")
def source_samples(source_tarball: Path) -> Callable[[list[str]], list[SourceSample]]:
    """A function from symbol ids to their real drawings in the shared tarball (rejected ones excluded)."""
    cache: dict[tuple[str, ...], list[SourceSample]] = {}

    def samples(symbol_ids: list[str]) -> list[SourceSample]:
        key = tuple(symbol_ids)
        if key not in cache:
            cache[key] = list(iter_source_samples(source_tarball, symbol_ids))
        return cache[key]

    return samples


@pytest.fixture(scope="session")
def full_dataset_and_split(source_tarball: Path) -> tuple[Dataset, Split]:
    """The whole shared tarball imported once per session, split with the default seed and fractions."""
    dataset, _ = import_source(source_tarball)
    return dataset, make_split(dataset)


@pytest.fixture(scope="session")
def full_dataset_files(
    full_dataset_and_split: tuple[Dataset, Split], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """`full_dataset_and_split` saved as files (dataset .npz, split .npz) for tests that drive the CLI."""
    dataset, split = full_dataset_and_split
    directory = tmp_path_factory.mktemp("full-dataset")
    dataset.save(directory / "detexify.npz")
    split.save(directory / "split.npz")
    return directory / "detexify.npz", directory / "split.npz"


# Six distinct, well-sampled symbols: enough for a training run that learns something in seconds.
FEW_SYMBOLS = [
    "latex:latex2e:xi",
    "latex:latex2e:Gamma",
    "latex:latex2e:exists",
    "latex:latex2e:forall",
    "latex:latex2e:emptyset",
    "latex:latex2e:downarrow",
]


@pytest.fixture(scope="session")
def few_symbols_files(source_tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """FEW_SYMBOLS imported from the shared tarball and split, saved as (dataset .npz, split .npz)."""
    dataset, _ = import_source(source_tarball, FEW_SYMBOLS)
    directory = tmp_path_factory.mktemp("few-symbols")
    dataset.save(directory / "dataset.npz")
    make_split(dataset).save(directory / "split.npz")
    return directory / "dataset.npz", directory / "split.npz"


@pytest.fixture(scope="session")
def few_symbols(few_symbols_files: tuple[Path, Path]) -> tuple[Dataset, Split]:
    dataset = Dataset.load(few_symbols_files[0])
    return dataset, Split.load(few_symbols_files[1], dataset)


@pytest.fixture(scope="session")
def tiny_model(few_symbols: tuple[Dataset, Split], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small CNN trained for seconds on FEW_SYMBOLS and exported: RUN/model, beside RUN/best.pt."""
    dataset, split = few_symbols
    run = tmp_path_factory.mktemp("run")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    config = TrainConfig(
        epochs=4,
        batch_size=16,
        device="cpu",
        model=ModelConfig(num_classes=6, widths=(8, 16), convs_per_stage=(1, 1), hidden=32, dropout=0.1),
    )
    try:
        train(dataset, split.train, split.val, run, config)
    finally:
        torch.set_num_threads(threads)
    export(run / "best.pt", run / "model")
    return run / "model"


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Chromium, for the browser pads' tests."""
    from webpad import chromium  # tests/editors: playwright only where a test asks for a browser

    with chromium() as browser:
        yield browser
