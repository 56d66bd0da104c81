"""The training loop: one process on CPU/GPU, or one process per device under `torchrun` (DDP)."""

from __future__ import annotations

import json
import math
import os
import random
import time
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
    device: Literal["auto", "cpu", "cuda"] = "auto"
    fit_on: Literal["train", "train+val"] = "train"  # train+val: the shipped model; keeps the last epoch
    workers: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    raster: RasterConfig = field(default_factory=RasterConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)


class AugmentedDrawings(torch.utils.data.Dataset):
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


def topk_hits(logits: torch.Tensor, labels: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> list[int]:
    """How many rows have their label among the k highest logits, for each k."""
    ranked = logits.topk(max(ks), dim=1).indices  # (B, max k)
    hit = ranked == labels[:, None]
    return [int(hit[:, :k].any(dim=1).sum()) for k in ks]


@torch.inference_mode()
def validate(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int = 512) -> dict:
    """Top-1/top-5 accuracy and mean loss of `model` on pre-rendered images."""
    model.eval()
    hits, loss = np.zeros(2), 0.0
    for start in range(0, len(images), batch):
        logits = model(images[start : start + batch])
        target = labels[start : start + batch]
        loss += float(F.cross_entropy(logits, target, reduction="sum"))
        hits += topk_hits(logits, target)
    n = max(len(images), 1)
    return {"loss": loss / n, "top1": float(hits[0]) / n, "top5": float(hits[1]) / n}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _config_dict(config: TrainConfig) -> dict[str, Any]:
    return {
        **{k: v for k, v in asdict(config).items() if k not in ("model", "raster", "augment")},
        "model": config.model.to_dict(),
        "raster": config.raster.to_dict(),
        "augment": config.augment.to_dict(),
    }


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
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise TrainingError(f"{path}: no such checkpoint") from None
    except Exception as error:
        raise TrainingError(f"{path}: not a readable checkpoint ({error})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("version") != CHECKPOINT_VERSION:
        raise TrainingError(f"{path}: not an extexify checkpoint of version {CHECKPOINT_VERSION}")
    return checkpoint


def train(
    dataset: Dataset,
    train_indices: np.ndarray,
    val_indices: np.ndarray,
    out_dir: str | Path,
    config: TrainConfig = TrainConfig(),
    resume: bool = False,
    data_source: str = "",
) -> dict[str, Any]:
    """Train, writing `last.pt` every epoch and `best.pt` (by validation top-5) to `out_dir`.

    Under torchrun (WORLD_SIZE > 1) each process trains on its shard; rank 0 validates and writes.
    Returns the final history entry.
    """
    out_dir = Path(out_dir)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    device = pick_device(config.device)
    if distributed:
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    try:
        return _train(
            dataset, train_indices, val_indices, out_dir, config, resume, data_source, device, rank, world
        )
    finally:
        if distributed:
            dist.destroy_process_group()


def _train(
    dataset: Dataset,
    train_indices: np.ndarray,
    val_indices: np.ndarray,
    out_dir: Path,
    config: TrainConfig,
    resume: bool,
    data_source: str,
    device: torch.device,
    rank: int,
    world: int,
) -> dict[str, Any]:
    if len(dataset.symbols) != config.model.num_classes:
        raise TrainingError(
            f"the dataset has {len(dataset.symbols)} symbols, the model config {config.model.num_classes}"
        )
    if config.raster.channels != config.model.in_channels:
        raise TrainingError("the raster config's channels and the model's in_channels differ")
    if len(train_indices) < world * 2:
        raise TrainingError(f"only {len(train_indices)} training samples: too few to train")
    seed_everything(config.seed)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    if config.fit_on == "train+val":
        train_indices = np.concatenate([train_indices, val_indices])
    model = SymbolNet(config.model).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    drawings = AugmentedDrawings(dataset, np.asarray(train_indices), config)
    sampler = DistributedSampler(drawings, num_replicas=world, rank=rank, shuffle=True, seed=config.seed)
    loader = DataLoader(
        drawings, batch_size=config.batch_size, sampler=sampler, num_workers=config.workers, drop_last=True
    )
    if len(loader) == 0:
        raise TrainingError(
            f"batch size {config.batch_size} is larger than the {len(drawings)} training samples"
        )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        partial(
            learning_rate_factor, warmup=config.warmup_epochs * len(loader), total=config.epochs * len(loader)
        ),
    )
    start_epoch, best_top5, history = 0, -1.0, []
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    if resume:
        checkpoint = load_checkpoint(last_path)
        if _what_it_learns(checkpoint["train_config"]) != _what_it_learns(_config_dict(config)):
            raise TrainingError(
                f"{last_path} was trained with other settings; resume with the same options "
                "(only --epochs, --device and --workers may change)"
            )
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        start_epoch, best_top5, history = (
            checkpoint["epoch"] + 1,
            checkpoint["best_top5"],
            checkpoint["history"],
        )
    if world > 1:
        model = DistributedDataParallel(model)
    net = model.module if world > 1 else model
    val_labels = torch.from_numpy(dataset.labels[val_indices].astype(np.int64))
    val_images = (
        torch.from_numpy(render_drawings([dataset.drawing(int(i)) for i in val_indices], config.raster))
        if rank == 0
        else None
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for epoch in range(start_epoch, config.epochs):
        # Dropout and shuffling depend only on (seed, epoch), so a resumed run repeats an uninterrupted one.
        torch.manual_seed(config.seed * 1000 + epoch)
        sampler.set_epoch(epoch)
        drawings.epoch = epoch
        model.train()
        started = time.perf_counter()
        seen, loss_sum, hits = 0, 0.0, np.zeros(2)
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", disable=rank != 0, leave=False)
        for images, labels in bar:
            images, labels = images.to(device), labels.to(device)
            logits = model(images)  # (B, num_classes)
            loss = F.cross_entropy(logits, labels, label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            seen += len(labels)
            loss_sum += float(loss.detach()) * len(labels)
            hits += topk_hits(logits.detach(), labels)
            bar.set_postfix(
                loss=f"{loss_sum / seen:.3f}", top1=f"{hits[0] / seen:.3f}", top5=f"{hits[1] / seen:.3f}"
            )
        if rank != 0:
            continue
        entry = {
            "epoch": epoch + 1,
            "seconds": round(time.perf_counter() - started, 1),
            # This process's share; under DDP each process trains on 1/world of the data.
            "train": {
                "loss": loss_sum / seen,
                "top1": float(hits[0]) / seen,
                "top5": float(hits[1]) / seen,
                "samples": seen,
            },
            "val": validate(net, val_images.to(device), val_labels.to(device)) if len(val_indices) else None,
        }
        history.append(entry)
        val = entry["val"]
        tqdm.write(
            f"epoch {epoch + 1}: train loss {entry['train']['loss']:.3f} top1 {entry['train']['top1']:.3f}"
            + (f" | val top1 {val['top1']:.3f} top5 {val['top5']:.3f}" if val else "")
            + f" ({entry['seconds']}s)"
        )
        # Trained on val (or without one), val cannot judge: then the best model is the last one.
        judged = val is not None and config.fit_on == "train"
        improved = not judged or val["top5"] > best_top5
        if judged:
            best_top5 = max(best_top5, val["top5"])
        checkpoint = {
            "version": CHECKPOINT_VERSION,
            "model": net.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "epoch": epoch,
            "best_top5": best_top5,
            "history": history,
            "train_config": _config_dict(config),
            "symbols": dataset.symbols.to_list(),
            "data_source": data_source,
            "samples": {"train": len(train_indices), "val": len(val_indices)},
        }
        torch.save(checkpoint, last_path)
        if improved:
            torch.save(
                {k: v for k, v in checkpoint.items() if k not in ("optimizer", "scheduler")}, best_path
            )
        (out_dir / "history.json").write_text(json.dumps(history, indent=2))
    return history[-1] if history else {}


def checkpoint_parts(checkpoint: dict[str, Any]) -> tuple[ModelConfig, RasterConfig, SymbolTable]:
    """The model config, raster config and symbol table a checkpoint was trained with."""
    config = checkpoint["train_config"]
    return (
        ModelConfig.from_dict(config["model"]),
        RasterConfig(**config["raster"]),
        SymbolTable.from_list(checkpoint["symbols"]),
    )
