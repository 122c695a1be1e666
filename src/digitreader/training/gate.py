"""Train the "is it a digit?" gate (``models.gate``) and export it as ONNX.

Digits: the first ``--limit-train`` MNIST training digits (the rest stay held out for
``training.reject``), the same digits photographed and prepared by the pipeline (``data.groups``)
and restyled as other writers and scanners give them (``data.styles``). Not digits: dots,
dashes, scribbles, letters, shapes, blots and pairs of digits (``data.styles``), written on paper
or shrunk to tiny scans and prepared by ``vision.preprocess`` exactly as ``predict`` prepares an
image. Everything is made from training digits by seed and cached in the run folder
(``training.digit_data``). The loss is binary cross-entropy with both classes weighted equally.

    python -m digitreader.training.gate --out runs/gate
    python -m digitreader.training.pack default.onnx runs/gate/model.onnx --output gate_logit --out default.onnx
    python -m digitreader.training.reject default.onnx --holdout-from 55000
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from digitreader.data import load_mnist
from digitreader.models.gate import gate
from digitreader.models.registry import count_params
from digitreader.redact import redact_card
from digitreader.training.augment import AugmentConfig, augment
from digitreader.training.digit_data import cached_digits
from digitreader.training.export import sha256, to_onnx

AUGMENT = AugmentConfig(rotate_deg=12, scale=0.12, shift=0.08, shear_deg=10)


@dataclass
class GateConfig:
    out: Path
    epochs: int = 6
    batch_size: int = 128
    lr: float = 0.1  # the one-cycle schedule's peak (SGD, Nesterov momentum 0.9)
    width: int = 32
    limit_train: int = 55_000  # MNIST training digits from here on are held out (training.reject chooses on them)
    photographed: int = 10_000
    styles: int = 40_000
    non_digits: int = 60_000
    seed: int = 3  # of the generated digits and non-digits
    data_dir: str | None = None
    threads: int = 2
    jobs: int = 2


def training_set(cfg: GateConfig) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images [n, 28, 28] and labels (1: a digit, 0: not a digit)."""
    x, _ = load_mnist("train", cfg.data_dir, download=False)
    digits, others = [x[: cfg.limit_train]], []
    for kind, count in (("digits", cfg.photographed), ("styles", cfg.styles), ("nondigits", cfg.non_digits)):
        if not count:
            continue
        path = cfg.out / f"pipeline-{kind}-{count}-{cfg.seed}.npz"
        made, labels = cached_digits(path, count, cfg.seed, cfg.data_dir, cfg.jobs, kind=kind, limit=cfg.limit_train)
        if kind == "nondigits":
            others.append(made)
        else:
            digits.append(made[labels >= 0])
    pos, neg = np.concatenate(digits), np.concatenate(others) if others else np.zeros((0, 28, 28), np.uint8)
    return np.concatenate([pos, neg]), np.concatenate([np.ones(len(pos)), np.zeros(len(neg))]).astype(np.float32)


def train(cfg: GateConfig, log: bool = True) -> tuple[nn.Module, dict]:
    """The trained gate and what its training did (for the card)."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    images, labels = training_set(cfg)
    x = torch.from_numpy(images).float().div_(255).unsqueeze(1)
    y = torch.from_numpy(labels)
    n_pos = float(y.sum())
    weight = torch.where(y > 0, 1.0, n_pos / max(1.0, len(y) - n_pos))  # both classes count the same
    model = gate(cfg.width)
    steps = cfg.epochs * (len(x) // cfg.batch_size)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=steps)
    gen = torch.Generator().manual_seed(cfg.seed)
    t0, losses = time.perf_counter(), []
    for epoch in range(cfg.epochs):
        model.train()
        order, total = torch.randperm(len(x), generator=gen), 0.0
        for s in range(len(x) // cfg.batch_size):
            idx = order[s * cfg.batch_size : (s + 1) * cfg.batch_size]
            out = model(augment(x[idx], AUGMENT, gen))[:, 0]
            loss = (F.binary_cross_entropy_with_logits(out, y[idx], reduction="none") * weight[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
            total += float(loss.detach())
        losses.append(round(total / max(1, len(x) // cfg.batch_size), 5))
        if log:
            seconds = time.perf_counter() - t0
            print(f"epoch {epoch + 1}/{cfg.epochs}: loss {losses[-1]:.4f} ({seconds:.0f} s)", flush=True)
    model.eval()
    return model, {
        "digits": int(n_pos),
        "non_digits": int(len(y) - n_pos),
        "train_seconds": round(time.perf_counter() - t0, 1),
        "epoch_losses": losses,
    }


def export(model: nn.Module, cfg: GateConfig, figures: dict, command: str) -> Path:
    """Write ``model.onnx`` (image [N,1,28,28] -> logits [N,1]) and its card in the run folder."""
    path = to_onnx(model, cfg.out / "model.onnx")
    card = {
        "name": "gate",
        "architecture": f"gate (models.gate, width {cfg.width})",
        "params": count_params(model),
        "train_command": command,
        "seed": cfg.seed,
        "sha256": sha256(path),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "output": {"name": "logits", "shape": ["N", 1], "meaning": "log-odds that the input is a digit"},
        "recipe": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "augment": asdict(AUGMENT),
        **figures,
    }
    path.with_suffix(".json").write_text(json.dumps(redact_card(card), indent=2) + "\n")
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="the run folder (caches, model.pt, model.onnx)")
    defaults = GateConfig(out=Path("."))
    for name in ("epochs", "batch_size", "width", "limit_train", "photographed", "styles", "non_digits", "seed"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name))
    p.add_argument("--lr", type=float, default=defaults.lr)
    p.add_argument("--threads", type=int, default=defaults.threads)
    p.add_argument("--data-dir")
    args = p.parse_args()
    cfg = GateConfig(**{k: v for k, v in vars(args).items()})
    cfg.out.mkdir(parents=True, exist_ok=True)
    model, figures = train(cfg)
    torch.save(model.state_dict(), cfg.out / "model.pt")
    command = "python -m digitreader.training.gate " + shlex.join(sys.argv[1:])
    print(export(model, cfg, figures, command))


if __name__ == "__main__":
    main()
