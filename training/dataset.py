"""The dataset file: every imported drawing, its label and the symbol table, in one compact .npz.

Ragged strokes are stored flat (nanoGPT-style: prepared once, read fast by the trainer):
`points` holds every point, `stroke_offsets` cuts it into strokes and `sample_offsets` cuts
the strokes into drawings. Labels index into the stored symbol table, whose order is the
class order; nothing is inferred from file or folder names. No pickles: strings are stored
as fixed-width unicode arrays.
"""

from __future__ import annotations

import itertools
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from extexify_lsp.symbols import SymbolTable

FORMAT_VERSION = 1


class DatasetError(ValueError):
    """A dataset file is missing, malformed or of an unknown version."""


@dataclass
class Dataset:
    symbols: SymbolTable
    sample_ids: np.ndarray  # (N,) str
    labels: np.ndarray  # (N,) int32, index into symbols
    points: np.ndarray  # (P, 3) float32: x, y in the unit square (y down), t in ms or NaN
    stroke_offsets: np.ndarray  # (S + 1,) int64 into points
    sample_offsets: np.ndarray  # (N + 1,) int64 into strokes

    def __len__(self) -> int:
        return len(self.labels)

    def drawing(self, i: int) -> list[np.ndarray]:
        """Sample i as a list of (n, 3) stroke arrays."""
        first, last = self.sample_offsets[i], self.sample_offsets[i + 1]
        cuts = self.stroke_offsets[first : last + 1]
        return [self.points[a:b] for a, b in itertools.pairwise(cuts)]

    def symbol_id(self, i: int) -> str:
        return self.symbols[int(self.labels[i])].id

    def subset(self, indices: Sequence[int] | np.ndarray) -> Dataset:
        """A new dataset with the given samples, in that order, and the same symbol table."""
        return Dataset.from_drawings(
            self.symbols,
            ((str(self.sample_ids[i]), self.symbol_id(i), self.drawing(i)) for i in indices),
        )

    @classmethod
    def from_drawings(
        cls, symbols: SymbolTable, items: Iterable[tuple[str, str, Sequence[np.ndarray]]]
    ) -> Dataset:
        """Build from (sample id, symbol id, strokes) triples; strokes are (n, 2) or (n, 3) arrays."""
        ids: list[str] = []
        labels: list[int] = []
        chunks: list[np.ndarray] = []
        stroke_offsets = [0]
        sample_offsets = [0]
        for sample_id, symbol_id, strokes in items:
            ids.append(sample_id)
            labels.append(symbols.index(symbol_id))
            for stroke in strokes:
                stroke = np.asarray(stroke, dtype=np.float32)
                if stroke.shape[1] == 2:
                    stroke = np.column_stack([stroke, np.full(len(stroke), np.nan, np.float32)])
                chunks.append(stroke)
                stroke_offsets.append(stroke_offsets[-1] + len(stroke))
            sample_offsets.append(len(stroke_offsets) - 1)
        return cls(
            symbols=symbols,
            sample_ids=np.array(ids, dtype=str),
            labels=np.array(labels, dtype=np.int32),
            points=np.concatenate(chunks) if chunks else np.zeros((0, 3), np.float32),
            stroke_offsets=np.array(stroke_offsets, dtype=np.int64),
            sample_offsets=np.array(sample_offsets, dtype=np.int64),
        )

    def save(self, path: str | Path) -> None:
        np.savez_compressed(
            path,
            format_version=np.array(FORMAT_VERSION),
            symbols=np.array(json.dumps(self.symbols.to_list())),
            sample_ids=self.sample_ids,
            labels=self.labels,
            points=self.points,
            stroke_offsets=self.stroke_offsets,
            sample_offsets=self.sample_offsets,
        )

    @classmethod
    def load(cls, path: str | Path) -> Dataset:
        path = Path(path)
        if not path.is_file():
            raise DatasetError(f"{path}: no such dataset file; create one with `extexify-train import`")
        if not zipfile.is_zipfile(path):
            raise DatasetError(f"{path}: not an extexify dataset file (not a .npz archive)")
        try:
            with np.load(path, allow_pickle=False) as data:
                version = int(data["format_version"])
                if version != FORMAT_VERSION:
                    raise DatasetError(
                        f"{path}: dataset format {version}, this version reads {FORMAT_VERSION}; "
                        "re-run `extexify-train import`"
                    )
                return cls(
                    symbols=SymbolTable.from_json(str(data["symbols"])),
                    sample_ids=data["sample_ids"],
                    labels=data["labels"],
                    points=data["points"],
                    stroke_offsets=data["stroke_offsets"],
                    sample_offsets=data["sample_offsets"],
                )
        except DatasetError:
            raise
        except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
            raise DatasetError(f"{path}: not an extexify dataset file ({error})") from None
