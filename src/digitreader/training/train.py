"""The training loop: data held as tensors, batched augmentation, OneCycle, checkpoint/resume.

One ``TrainConfig`` holds every knob. ``train(cfg)`` writes to ``cfg.out_dir``:
``last.pt`` (after every epoch, atomically), ``history.json`` and, at the end,
``model.pt`` (weights, EMA if enabled). ``--resume`` continues from ``last.pt``;
each epoch draws its shuffling and augmentation from a generator seeded by
(seed, epoch), so a resumed run sees the same data as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from digitreader.data import load_mnist
from digitreader.engine import resolve_model
from digitreader.models import count_params, create_model
from digitreader.training import checkpoint
from digitreader.training.augment import AugmentConfig, augment
from digitreader.training.onnx_weights import load_onnx_weights, train_mode
from digitreader.training.progress import EpochProgress


@dataclass
class TrainConfig:
    model: str = "sharp"
    epochs: int = 30
    batch_size: int = 128
    optimizer: str = "sgd"  # "sgd" (Nesterov) or "adamw"
    lr: float = 0.1  # peak of the OneCycle schedule
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    ema_decay: float = 0.0  # 0 disables the weight average used for evaluation and export
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 0
    data_dir: str | None = None
    out_dir: str = "runs/default"
    limit_train: int | None = None  # use the first N training images (tiny runs, tests)
    limit_test: int | None = None
    target_acc: float | None = None  # stop once test accuracy reaches this (speed runs)
    device: str = "auto"
    threads: int | None = None
    init: str | None = None  # start from these weights (model.pt, last.pt, an exported .onnx or "bundled"): fine-tune
    pipeline_digits: int = 0  # add this many training digits photographed and prepared by the pipeline
    pipeline_pieces: int = 0  # ... and this many touching pairs and lone digits cut apart by the pipeline (and miscut)
    pipeline_seed: int = 1
    style_digits: int = 0  # ... and this many training digits as other writers and scanners give them
    tiny_scans: int = 0  # ... and this many of those shrunk to tiny (7-20 px) scans
    thumbnails: int = 0  # ... and this many training digits as written, shrunk whole to 7-12 px
    non_digits: int = 0  # ... and this many things that are no digit (trained towards no answer)
    non_digit_weight: float = 0.5  # of a non-digit's loss (cross-entropy to the uniform distribution)
    energy_weight: float = 0.0  # of the energy margins: digits' logsumexp above ENERGY_IN, non-digits' below ENERGY_OUT
    jobs: int = 2  # processes that make the pipeline digits

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        d = dict(d)
        d["augment"] = AugmentConfig(**d.get("augment", {}))
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})


@dataclass
class TrainResult:
    out_dir: Path
    history: list[dict[str, float]]
    test_accuracy: float
    train_seconds: float
    seconds_to_target: float | None
    params: int


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def as_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 [N,28,28] -> float [N,1,28,28] in [0,1], channels-last on device."""
    x = torch.from_numpy(images).to(device).float().div_(255).unsqueeze(1)
    return x.contiguous(memory_format=torch.channels_last)


@torch.no_grad()
def predict_logits(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def _optimizer(cfg: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    # No weight decay on BN parameters and biases: decaying them only hurts.
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, nesterov=True)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr)
    raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {cfg.optimizer!r}")


ENERGY_IN, ENERGY_OUT = 4.0, 2.5  # logsumexp margins (log 10 = 2.3 is all logits at 0)


def _loss(
    logits: torch.Tensor, labels: torch.Tensor, smoothing: float, non_digit_weight: float, energy_weight: float = 0.0
) -> torch.Tensor:
    """Cross-entropy; for a non-digit (label -1, ``data.groups.NOT_A_DIGIT``) the cross-entropy to the
    uniform distribution, weighted ``non_digit_weight``: it teaches the model to be unsure of it.
    ``energy_weight`` adds squared hinges on the logits' logsumexp (Liu et al. 2020, energy-based
    out-of-distribution detection): above ``ENERGY_IN`` for a digit, below ``ENERGY_OUT`` for a
    non-digit, which is the score ``Recognizer.scores`` rejects on."""
    digit = labels >= 0
    ce = F.cross_entropy(logits, labels.clamp(min=0), label_smoothing=smoothing, reduction="none")
    uniform = -F.log_softmax(logits, dim=1).mean(dim=1)
    loss = torch.where(digit, ce, non_digit_weight * uniform)
    if energy_weight:
        lse = torch.logsumexp(logits, dim=1)
        margin = torch.where(digit, F.relu(ENERGY_IN - lse), F.relu(lse - ENERGY_OUT)) ** 2
        loss = loss + energy_weight * margin
    return loss.mean()


class Trainer:
    """Holds the model, optimiser, data and history of one run.

    One process by default; ``training.distributed`` runs one per Ray Train worker, overriding the
    few seams below (``_local``, ``_augment_generator``, ``_sum``, ``_agree``, ``_epoch_done``):
    each worker steps on its share of every batch and only rank 0 writes files.
    """

    rank, world = 0, 1

    def __init__(self, cfg: TrainConfig, resume: bool = False, show_progress: bool = True, command: str = "") -> None:
        self.cfg, self.out, self.command = cfg, Path(cfg.out_dir), command
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.device = pick_device(cfg.device)
        torch.manual_seed(cfg.seed)
        self.x_train, self.y_train = self._load("train", cfg.limit_train)
        if any(
            (cfg.pipeline_digits, cfg.pipeline_pieces, cfg.style_digits, cfg.tiny_scans, cfg.thumbnails, cfg.non_digits)
        ):
            self._add_pipeline_digits()
        self.x_test, self.y_test = self._load("test", cfg.limit_test)
        self.model = create_model(cfg.model)
        self.frozen_norms = False
        init = self.init_path()
        if init is not None:
            self._load_init(init)
        self.model = self.model.to(self.device, memory_format=torch.channels_last)
        self.net: nn.Module = self.model  # what a training step runs (a DDP wrapper of model when distributed)
        self.ema = (
            AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True)
            if cfg.ema_decay > 0
            else None
        )
        self.steps_per_epoch = math.ceil(len(self.x_train) / cfg.batch_size)
        self.optimizer = _optimizer(cfg, self.model)
        self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
            self.optimizer, max_lr=cfg.lr, total_steps=cfg.epochs * self.steps_per_epoch, pct_start=0.25
        )
        self.history: list[dict[str, float]] = []
        self.start_epoch, self.train_seconds, self.seconds_to_target = 0, 0.0, None
        self.show_progress = show_progress
        if resume and (found := checkpoint.load_latest(self.out / "last.pt", self.device)) is not None:
            self._restore(found[0])

    def _load(self, split: str, limit: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = load_mnist(split, self.cfg.data_dir)
        if limit:
            images, labels = images[:limit], labels[:limit]
        return as_tensor(images, self.device), torch.from_numpy(labels.astype(np.int64)).to(self.device)

    def init_path(self) -> Path | None:
        """The weights the run starts from (``init``, with "bundled" resolved), or None."""
        init = self.cfg.init
        return None if not init else resolve_model("default") if init == "bundled" else Path(init)

    def _load_init(self, path: Path) -> None:
        """Start from a run's weights, or from an exported model (its norms then stay frozen)."""
        if path.suffix == ".onnx":
            load_onnx_weights(self.model, path, prefix="model.")  # the exporter's temperature wrapper
            self.frozen_norms = True
        else:
            self.model.load_state_dict(load_trained(path).state_dict())

    def _add_pipeline_digits(self) -> None:
        """Append MNIST training digits (and touching pairs' pieces) made by the pipeline, cached in the run folder."""
        from digitreader.training.digit_data import cached_digits

        cfg = self.cfg
        made = {
            "digits": cfg.pipeline_digits,
            "pieces": cfg.pipeline_pieces,
            "styles": cfg.style_digits,
            "tiny": cfg.tiny_scans,
            "thumbnails": cfg.thumbnails,
            "nondigits": cfg.non_digits,
        }
        for kind, count in made.items():
            if count:
                path = self.out / f"pipeline-{kind}-{count}-{cfg.pipeline_seed}.npz"
                x, y = cached_digits(
                    path, count, cfg.pipeline_seed, cfg.data_dir, cfg.jobs, kind=kind, limit=cfg.limit_train
                )
                self.x_train = torch.cat([self.x_train, as_tensor(x, self.device)])
                self.y_train = torch.cat([self.y_train, torch.from_numpy(y).to(self.device)])

    @property
    def eval_model(self) -> nn.Module:
        return self.ema.module if self.ema is not None else self.model

    def _state(self, epoch: int) -> dict[str, Any]:
        return {
            "epoch": epoch,
            "config": self.cfg.to_dict(),
            "command": self.command,
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "history": self.history,
            "train_seconds": self.train_seconds,
            "seconds_to_target": self.seconds_to_target,
        }

    def _restore(self, state: dict[str, Any]) -> None:
        saved = TrainConfig.from_dict(state["config"])
        if (saved.model, saved.epochs, saved.batch_size) != (self.cfg.model, self.cfg.epochs, self.cfg.batch_size):
            raise checkpoint.CheckpointError(
                f"{self.out / 'last.pt'} was written by a different run (model {saved.model}, "
                f"{saved.epochs} epochs, batch {saved.batch_size}); use another --out or drop --resume"
            )
        self.model.load_state_dict(state["model"])
        if self.ema is not None and state["ema"] is not None:
            self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.history = state["history"]
        self.train_seconds = state["train_seconds"]
        self.seconds_to_target = state["seconds_to_target"]
        self.start_epoch = state["epoch"] + 1

    @property
    def is_writer(self) -> bool:
        """Whether this process writes the run's files (the only one, or rank 0)."""
        return self.rank == 0

    def _local(self, batch: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
        """This process's share of a batch of ``order`` (all of it in one process)."""
        return batch

    def _augment_generator(self, gen: torch.Generator, epoch: int) -> torch.Generator:
        return gen

    def _sum(self, value: torch.Tensor) -> torch.Tensor:
        """``value`` summed over the processes of the run."""
        return value

    def _agree(self, value: float) -> float:
        """Rank 0's ``value``, so every process takes the same decision."""
        return value

    def _epoch_done(self, row: dict[str, float]) -> None:
        """Called by every process after each epoch, once the checkpoint is written."""

    def _train_epoch(self, epoch: int, progress: EpochProgress) -> tuple[float, float]:
        cfg, model = self.cfg, self.net
        gen = torch.Generator(device=self.device).manual_seed(cfg.seed * 100_003 + epoch)
        order = torch.randperm(len(self.x_train), generator=gen, device=self.device)
        aug_gen = self._augment_generator(gen, epoch)
        train_mode(model, self.frozen_norms)
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        for step in range(self.steps_per_epoch):
            idx = self._local(order[step * cfg.batch_size : (step + 1) * cfg.batch_size], order)
            xb = augment(self.x_train[idx], cfg.augment, aug_gen)
            yb = self.y_train[idx]
            logits = model(xb)
            loss = _loss(logits, yb, cfg.label_smoothing, cfg.non_digit_weight, cfg.energy_weight)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.scheduler.step()
            if self.ema is not None:
                self.ema.update_parameters(self.model)
            loss_sum += loss.detach() * len(idx)
            correct += (logits.argmax(1) == yb).sum()
            progress.advance(len(idx) * self.world, loss=float(loss.detach()) if step % 20 == 0 else None)
        loss_sum, correct = self._sum(loss_sum), self._sum(correct)
        n = len(self.x_train)
        digits = int((self.y_train >= 0).sum())  # what is no digit (label -1) is never right, and not counted
        return float(loss_sum) / n, float(correct) / max(1, digits)

    def run(self) -> TrainResult:
        cfg = self.cfg
        if self.is_writer:
            self.out.mkdir(parents=True, exist_ok=True)
            checkpoint.clean_stale(self.out)  # what a run killed while saving left behind
            (self.out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
        with EpochProgress(cfg.epochs, len(self.x_train), enabled=self.show_progress) as progress:
            for epoch in range(self.start_epoch, cfg.epochs):
                progress.start_epoch(epoch)
                t0 = time.perf_counter()
                train_loss, train_acc = self._train_epoch(epoch, progress)
                self.train_seconds += time.perf_counter() - t0
                logits = predict_logits(self.eval_model, self.x_test)
                test_acc = self._agree(float((logits.argmax(1) == self.y_test).float().mean()))
                row = {
                    "epoch": epoch + 1,
                    "train_loss": train_loss,
                    "train_acc": train_acc,
                    "test_acc": test_acc,
                    "train_seconds": self.train_seconds,
                    "lr": self.scheduler.get_last_lr()[0],
                }
                self.history.append(row)
                reached = cfg.target_acc is not None and test_acc >= cfg.target_acc
                if reached and self.seconds_to_target is None:
                    self.seconds_to_target = self.train_seconds
                if self.is_writer:
                    checkpoint.save_atomic(self._state(epoch), self.out / "last.pt", keep_previous=True)
                    progress.end_epoch(row)
                self._epoch_done(row)
                if reached:
                    break
        if self.is_writer:
            (self.out / "history.json").write_text(json.dumps(self.history, indent=2))
            self.save_weights(self.out / "model.pt")
        return TrainResult(
            self.out,
            self.history,
            self.history[-1]["test_acc"] if self.history else 0.0,
            self.train_seconds,
            self.seconds_to_target,
            count_params(self.model),
        )

    def save_weights(self, path: Path) -> None:
        """The weights to evaluate and export (the EMA ones when enabled)."""
        weights = {k: v for k, v in self.eval_model.state_dict().items() if k != "n_averaged"}
        checkpoint.save_atomic(
            {
                "model": self.cfg.model,
                "state_dict": weights,
                "config": self.cfg.to_dict(),
                "history": self.history,
                "command": self.command,
            },
            path,
        )


def train(cfg: TrainConfig, resume: bool = False, show_progress: bool = True, command: str = "") -> TrainResult:
    return Trainer(cfg, resume=resume, show_progress=show_progress, command=command).run()


def load_trained(path: Path | str, device: str = "cpu") -> nn.Module:
    """Rebuild a model from ``model.pt`` (or a run's ``last.pt``) in eval mode."""
    state = checkpoint.load(Path(path), device)
    if "state_dict" in state:
        name, weights = state["model"], state["state_dict"]
    else:  # last.pt: prefer EMA weights when the run kept them
        name = state["config"]["model"]
        weights = state["ema"] or state["model"]
        weights = {k.removeprefix("module."): v for k, v in weights.items() if k != "n_averaged"}
    model = create_model(name)
    model.load_state_dict(weights)
    return model.eval()
