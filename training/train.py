"""The training loop: one process on CPU/GPU, or one process per device under `torchrun` (DDP)."""

from __future__ import annotations

import json
import math
import os
import random
import time
import zipfile
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from extexify_lsp.model import ModelConfig, SymbolNet, pick_device
from extexify_lsp.raster import RasterConfig, render_drawings
from extexify_lsp.symbols import SymbolTable
from training.augment import AugmentConfig, augmented_image
from training.dataset import Dataset

CHECKPOINT_VERSION = 1
Device = Literal["auto", "cpu", "cuda"]
FitOn = Literal["train", "train+val"]  # train+val: the shipped model; keeps the last epoch
# The accuracies training reports: top-1 and top-5 (top-k with k clipped to the number of symbols).
KS = (1, 5)


class TrainingError(RuntimeError):
    """Training cannot start or continue; the message says why."""


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 40
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    warmup_epochs: float = 1.0
    seed: int = 0
    device: Device = "auto"
    fit_on: FitOn = "train"
    workers: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    raster: RasterConfig = field(default_factory=RasterConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise TrainingError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise TrainingError(f"the learning rate must be positive, got {self.lr}")
        if self.workers < 0:
            raise TrainingError(f"workers must be 0 or more, got {self.workers}")


@dataclass(frozen=True)
class SplitMetrics:
    """Mean loss and top-1/top-5 accuracy over one split in one epoch."""

    loss: float
    top1: float
    top5: float
    samples: int | None = None  # training only: the drawings this process saw (1/world of them under DDP)

    def to_dict(self) -> dict[str, float | int]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SplitMetrics:
        return cls(**raw)


@dataclass(frozen=True)
class EpochMetrics:
    """One entry of a run's history (history.json, the checkpoints, the exported metadata)."""

    epoch: int  # counted from 1
    seconds: float
    train: SplitMetrics
    val: SplitMetrics | None  # None without a validation split

    def to_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "seconds": self.seconds,
            "train": self.train.to_dict(),
            "val": self.val.to_dict() if self.val is not None else None,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> EpochMetrics:
        return cls(
            epoch=raw["epoch"],
            seconds=raw["seconds"],
            train=SplitMetrics.from_dict(raw["train"]),
            val=SplitMetrics.from_dict(raw["val"]) if raw["val"] is not None else None,
        )

    def summary(self) -> str:
        val = f" | val top1 {self.val.top1:.3f} top5 {self.val.top5:.3f}" if self.val else ""
        return (
            f"epoch {self.epoch}: train loss {self.train.loss:.3f} top1 {self.train.top1:.3f}{val} "
            f"({self.seconds}s)"
        )


class AugmentedDrawings(torch.utils.data.Dataset[tuple[torch.Tensor, int]]):
    """Training drawings re-augmented every epoch; the randomness depends only on (seed, epoch, sample)."""

    def __init__(self, dataset: Dataset, indices: np.ndarray, config: TrainConfig) -> None:
        self.dataset, self.indices, self.config = dataset, indices, config
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        index = int(self.indices[i])
        rng = np.random.default_rng([self.config.seed, self.epoch, index])
        image = augmented_image(self.dataset.drawing(index), rng, self.config.raster, self.config.augment)
        return torch.from_numpy(image), int(self.dataset.labels[index])


def topk_hits(logits: torch.Tensor, labels: torch.Tensor, ks: tuple[int, ...] = KS) -> list[int]:
    """How many rows have their label among the k highest logits, for each k (at most all classes)."""
    ranked = logits.topk(min(max(ks), logits.shape[1]), dim=1).indices  # (B, min(max k, classes))
    hit = ranked == labels[:, None]
    return [int(hit[:, :k].any(dim=1).sum()) for k in ks]


def _split_metrics(loss_sum: float, hits: np.ndarray, count: int, samples: int | None = None) -> SplitMetrics:
    n = max(count, 1)
    return SplitMetrics(loss=loss_sum / n, top1=float(hits[0]) / n, top5=float(hits[1]) / n, samples=samples)


@torch.inference_mode()
def validate(
    model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int = 512
) -> SplitMetrics:
    """Top-1/top-5 accuracy and mean loss of `model` on pre-rendered images."""
    model.eval()
    hits, loss = np.zeros(len(KS)), 0.0
    for start in range(0, len(images), batch):
        logits = model(images[start : start + batch])
        target = labels[start : start + batch]
        loss += float(F.cross_entropy(logits, target, reduction="sum"))
        hits += topk_hits(logits, target)
    return _split_metrics(loss, hits, len(images))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# Settings a resumed run may change: how long it runs and where, not what it learns.
RESUMABLE_CHANGES = frozenset({"epochs", "device", "workers"})


def _what_it_learns(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in RESUMABLE_CHANGES}


def learning_rate_factor(step: int, warmup: float, total: int) -> float:
    """Linear warm-up, then cosine decay to zero at `total` steps (recomputed, so a resume may add epochs)."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1.0, total - warmup))))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A training checkpoint (tensors and plain data only, loaded without unpickling code)."""
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"{path}: no such checkpoint")
    # torch.save writes a zip archive; anything else gets torch.load's cryptic unpickling errors.
    if not zipfile.is_zipfile(path):
        raise TrainingError(
            f"{path}: not a readable checkpoint (not a PyTorch archive such as OUT/best.pt of "
            "`extexify-train train`)"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load raises whatever its unpickler meets
        raise TrainingError(f"{path}: not a readable checkpoint ({type(error).__name__}: {error})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("version") != CHECKPOINT_VERSION:
        raise TrainingError(f"{path}: not an extexify checkpoint of version {CHECKPOINT_VERSION}")
    return checkpoint


def checkpoint_history(checkpoint: dict[str, Any]) -> list[EpochMetrics]:
    """The epochs a checkpoint has trained, oldest first."""
    return [EpochMetrics.from_dict(entry) for entry in checkpoint["history"]]


@dataclass(frozen=True)
class Process:
    """This process's place in the run: its device, and its rank among `world` processes (1 without DDP)."""

    device: torch.device
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        """Rank 0 validates, reports and writes the checkpoints."""
        return self.rank == 0


@dataclass
class Run:
    """What a training process holds: the model, its optimizer, its data and how far it has come."""

    model: SymbolNet
    network: torch.nn.Module  # the model, or the model wrapped for DDP
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    drawings: AugmentedDrawings
    sampler: DistributedSampler[tuple[torch.Tensor, int]]
    loader: DataLoader[tuple[torch.Tensor, int]]
    start_epoch: int = 0
    best_top5: float = -1.0
    history: list[EpochMetrics] = field(default_factory=list)


def train(
    dataset: Dataset,
    train_indices: np.ndarray,
    val_indices: np.ndarray,
    out_dir: str | Path,
    config: TrainConfig = TrainConfig(),
    resume: bool = False,
    data_source: str = "",
) -> EpochMetrics | None:
    """Train, writing `last.pt` every epoch and `best.pt` (by validation top-5) to `out_dir`.

    Under torchrun (WORLD_SIZE > 1) each process trains on its shard; rank 0 validates and writes.
    Returns the last epoch's metrics (None in the other processes).
    """
    out_dir = Path(out_dir)
    _check_data(dataset, train_indices, config)
    if config.fit_on == "train+val":
        train_indices = np.concatenate([train_indices, val_indices])
    process = _start_process(config.device)
    try:
        run = _setup(dataset, np.asarray(train_indices), config, process)
        if resume:
            _resume(run, out_dir / "last.pt", config)
        val_images, val_labels = _validation_set(dataset, val_indices, config.raster, process)
        data = {
            "symbols": dataset.symbols.to_list(),
            "data_source": data_source,
            "samples": {"train": len(train_indices), "val": len(val_indices)},
        }
        out_dir.mkdir(parents=True, exist_ok=True)
        for epoch in range(run.start_epoch, config.epochs):
            started = time.perf_counter()
            train_metrics = _train_epoch(run, epoch, config, process)
            seconds = round(time.perf_counter() - started, 1)
            if not process.main:
                continue
            val = validate(run.model, val_images, val_labels) if len(val_labels) else None
            entry = EpochMetrics(epoch + 1, seconds, train_metrics, val)
            run.history.append(entry)
            tqdm.write(entry.summary())
            # Trained on val (or without one), val cannot judge: then the best model is the last one.
            improved = True
            if val is not None and config.fit_on == "train":
                improved = val.top5 > run.best_top5
                run.best_top5 = max(run.best_top5, val.top5)
            _save(_checkpoint(run, epoch, config, data), out_dir, improved)
        return run.history[-1] if process.main else None
    finally:
        if process.world > 1:
            dist.destroy_process_group()


def _check_data(dataset: Dataset, train_indices: np.ndarray, config: TrainConfig) -> None:
    if len(dataset.symbols) != config.model.num_classes:
        raise TrainingError(
            f"the dataset has {len(dataset.symbols)} symbols, the model config {config.model.num_classes}"
        )
    if config.raster.channels != config.model.in_channels:
        raise TrainingError("the raster config's channels and the model's in_channels differ")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if len(train_indices) < world * 2:
        raise TrainingError(f"only {len(train_indices)} training samples: too few to train")


def _start_process(device_name: str) -> Process:
    """This process's device; under torchrun (WORLD_SIZE > 1) also joins the process group."""
    device = pick_device(device_name)
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Process(device)
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Process(device, dist.get_rank(), dist.get_world_size())


def _setup(dataset: Dataset, train_indices: np.ndarray, config: TrainConfig, process: Process) -> Run:
    """A fresh model, optimizer and learning-rate schedule, and this process's shard of the data."""
    seed_everything(config.seed)
    if process.device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    model = SymbolNet(config.model).to(process.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    drawings = AugmentedDrawings(dataset, train_indices, config)
    sampler: DistributedSampler[tuple[torch.Tensor, int]] = DistributedSampler(
        drawings, num_replicas=process.world, rank=process.rank, shuffle=True, seed=config.seed
    )
    loader = DataLoader(
        drawings, batch_size=config.batch_size, sampler=sampler, num_workers=config.workers, drop_last=True
    )
    if len(loader) == 0:
        raise TrainingError(
            f"batch size {config.batch_size} is larger than the {len(drawings)} training samples"
        )
    steps = partial(
        learning_rate_factor, warmup=config.warmup_epochs * len(loader), total=config.epochs * len(loader)
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, steps)
    network = DistributedDataParallel(model) if process.world > 1 else model
    return Run(model, network, optimizer, scheduler, drawings, sampler, loader)


def _resume(run: Run, path: Path, config: TrainConfig) -> None:
    """Continue `run` from the checkpoint at `path`, which must have learned with the same settings."""
    checkpoint = load_checkpoint(path)
    if _what_it_learns(checkpoint["train_config"]) != _what_it_learns(asdict(config)):
        raise TrainingError(
            f"{path} was trained with other settings; resume with the same options "
            "(only --epochs, --device and --workers may change)"
        )
    done = checkpoint["epoch"] + 1
    if done >= config.epochs:
        raise TrainingError(
            f"{path} has trained {done} epoch(s) already and --epochs {config.epochs} asks for no more: "
            "pass a larger --epochs to go on"
        )
    run.model.load_state_dict(checkpoint["model"])
    run.optimizer.load_state_dict(checkpoint["optimizer"])
    run.scheduler.load_state_dict(checkpoint["scheduler"])
    run.start_epoch = checkpoint["epoch"] + 1
    run.best_top5 = checkpoint["best_top5"]
    run.history = checkpoint_history(checkpoint)


def _validation_set(
    dataset: Dataset, indices: np.ndarray, raster: RasterConfig, process: Process
) -> tuple[torch.Tensor, torch.Tensor]:
    """The validation drawings rendered once, with their labels, on rank 0 (empty on the others)."""
    if not process.main:
        indices = indices[:0]
    images = render_drawings([dataset.drawing(int(i)) for i in indices], raster)  # (N, C, S, S)
    labels = dataset.labels[indices].astype(np.int64)
    return torch.from_numpy(images).to(process.device), torch.from_numpy(labels).to(process.device)


def _train_epoch(run: Run, epoch: int, config: TrainConfig, process: Process) -> SplitMetrics:
    """One pass over this process's shard of the training data, re-augmented for this epoch."""
    # Dropout and shuffling depend only on (seed, epoch), so a resumed run repeats an uninterrupted one.
    torch.manual_seed(config.seed * 1000 + epoch)
    run.sampler.set_epoch(epoch)
    run.drawings.epoch = epoch
    run.network.train()
    seen, loss_sum, hits = 0, 0.0, np.zeros(len(KS))
    bar = tqdm(run.loader, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not process.main, leave=False)
    for images, labels in bar:
        images, labels = images.to(process.device), labels.to(process.device)
        logits = run.network(images)  # (B, num_classes)
        loss = F.cross_entropy(logits, labels, label_smoothing=config.label_smoothing)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        run.scheduler.step()
        seen += len(labels)
        loss_sum += float(loss.detach()) * len(labels)
        hits += topk_hits(logits.detach(), labels)
        bar.set_postfix(
            loss=f"{loss_sum / seen:.3f}", top1=f"{hits[0] / seen:.3f}", top5=f"{hits[1] / seen:.3f}"
        )
    return _split_metrics(loss_sum, hits, seen, samples=seen)


def _checkpoint(run: Run, epoch: int, config: TrainConfig, data: dict[str, Any]) -> dict[str, Any]:
    """Everything needed to resume or export, as tensors and plain data (no pickled classes)."""
    return {
        "version": CHECKPOINT_VERSION,
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "epoch": epoch,
        "best_top5": run.best_top5,
        "history": [entry.to_dict() for entry in run.history],
        "train_config": asdict(config),
        **data,  # symbols, data_source, samples
    }


def _save(checkpoint: dict[str, Any], out_dir: Path, improved: bool) -> None:
    """Write last.pt, history.json and, if the epoch improved, best.pt (without the optimizer's state)."""
    torch.save(checkpoint, out_dir / "last.pt")
    if improved:
        best = {k: v for k, v in checkpoint.items() if k not in ("optimizer", "scheduler")}
        torch.save(best, out_dir / "best.pt")
    (out_dir / "history.json").write_text(json.dumps(checkpoint["history"], indent=2))


def checkpoint_parts(checkpoint: dict[str, Any]) -> tuple[ModelConfig, RasterConfig, SymbolTable]:
    """The model config, raster config and symbol table a checkpoint was trained with."""
    config = checkpoint["train_config"]
    return (
        ModelConfig.from_dict(config["model"]),
        RasterConfig(**config["raster"]),
        SymbolTable.from_list(checkpoint["symbols"]),
    )
