"""A seeded train/validation/test split of a dataset file, stratified per symbol."""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from training.dataset import Dataset

FORMAT_VERSION = 1
# With fewer samples a symbol cannot appear in all three splits; those are kept in train and reported.
MIN_SAMPLES_PER_SYMBOL = 3


class SplitError(ValueError):
    """A split file is missing or malformed, or was made for a different dataset."""


@dataclass
class Split:
    train: np.ndarray  # (N_train,) int64 sample indices into the dataset, ascending
    val: np.ndarray  # (N_val,) int64
    test: np.ndarray  # (N_test,) int64
    sample_ids: np.ndarray  # (N,) str: the dataset's sample ids, to check the split is used with it
    seed: int = 0
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    few_samples: tuple[str, ...] = field(default=())  # symbol ids with < MIN_SAMPLES_PER_SYMBOL samples

    def check(self, dataset: Dataset) -> None:
        """Raise SplitError unless this split was made for `dataset` (same samples, same order)."""
        if len(self.sample_ids) != len(dataset) or not np.array_equal(self.sample_ids, dataset.sample_ids):
            raise SplitError(
                f"the split was made for a different dataset ({len(self.sample_ids)} samples, this one has "
                f"{len(dataset)} or others); re-run `extexify-train split` on this dataset"
            )

    def save(self, path: str | Path) -> None:
        np.savez_compressed(
            path,
            format_version=np.array(FORMAT_VERSION),
            train=self.train,
            val=self.val,
            test=self.test,
            sample_ids=self.sample_ids,
            seed=np.array(self.seed),
            fractions=np.array([self.val_fraction, self.test_fraction]),
            few_samples=np.array(self.few_samples, dtype=str),
        )

    @classmethod
    def load(cls, path: str | Path, dataset: Dataset | None = None) -> Split:
        """Read a split file; with `dataset`, also check that it belongs to that dataset."""
        path = Path(path)
        if not path.is_file():
            raise SplitError(f"{path}: no such split file; create one with `extexify-train split`")
        if not zipfile.is_zipfile(path):
            raise SplitError(f"{path}: not an extexify split file (not a .npz archive)")
        try:
            with np.load(path, allow_pickle=False) as data:
                version = int(data["format_version"])
                if version != FORMAT_VERSION:
                    raise SplitError(
                        f"{path}: split format {version}, this version reads {FORMAT_VERSION}; "
                        "re-run `extexify-train split`"
                    )
                val_fraction, test_fraction = (float(f) for f in data["fractions"])
                split = cls(
                    train=data["train"].astype(np.int64),
                    val=data["val"].astype(np.int64),
                    test=data["test"].astype(np.int64),
                    sample_ids=data["sample_ids"],
                    seed=int(data["seed"]),
                    val_fraction=val_fraction,
                    test_fraction=test_fraction,
                    few_samples=tuple(str(s) for s in data["few_samples"]),
                )
        except SplitError:
            raise
        except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
            raise SplitError(f"{path}: not an extexify split file ({error})") from None
        if dataset is not None:
            split.check(dataset)
        return split


def _take(count: int, fraction: float) -> int:
    """Samples of one symbol that go to a split with this fraction: at least one unless the fraction is 0."""
    return 0 if fraction == 0 else max(1, round(count * fraction))


def make_split(
    dataset: Dataset, seed: int = 0, val_fraction: float = 0.1, test_fraction: float = 0.1
) -> Split:
    """Split every symbol's samples at random (seeded) into train/val/test with the given fractions.

    Every symbol with at least MIN_SAMPLES_PER_SYMBOL samples appears in every split (with a non-zero
    fraction); rarer symbols go to train and are listed in `few_samples`. The split depends on the
    sample ids, not on their order in the file, and each symbol is shuffled by its own seeded generator,
    so adding samples of one symbol does not reshuffle the others.
    """
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise SplitError(
            f"fractions must be >= 0 and leave room for training: val={val_fraction}, test={test_fraction}"
        )
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    few: list[str] = []
    by_label = np.argsort(dataset.labels, kind="stable")
    bounds = np.searchsorted(dataset.labels[by_label], np.arange(len(dataset.symbols) + 1))
    for label, symbol in enumerate(dataset.symbols):
        members = by_label[bounds[label] : bounds[label + 1]]
        members = members[np.argsort(dataset.sample_ids[members], kind="stable")]
        if len(members) < MIN_SAMPLES_PER_SYMBOL:
            few.append(symbol.id)
            parts["train"].append(members)
            continue
        rng = np.random.default_rng([seed, zlib.crc32(symbol.id.encode())])
        members = rng.permutation(members)
        # Round per symbol, but always leave at least one sample for training.
        n_val = min(_take(len(members), val_fraction), len(members) - 1 - (test_fraction > 0))
        n_test = min(_take(len(members), test_fraction), len(members) - 1 - n_val)
        parts["val"].append(members[:n_val])
        parts["test"].append(members[n_val : n_val + n_test])
        parts["train"].append(members[n_val + n_test :])
    train, val, test = (
        np.sort(np.concatenate([*chunks, np.zeros(0, np.int64)])) for chunks in parts.values()
    )
    return Split(
        train=train.astype(np.int64),
        val=val.astype(np.int64),
        test=test.astype(np.int64),
        sample_ids=dataset.sample_ids,
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        few_samples=tuple(few),
    )
