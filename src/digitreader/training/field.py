"""Train the field reader (``models.field``) with CTC on generated document fields (``data.fields``).

``train_field(cfg)`` builds (or loads) the fields (``training.field_data``), trains with AdamW
and OneCycle, reports exact-string accuracy on held-out fields after every epoch, and exports
``field.onnx``: input ``field`` [N, 1, 64, W], output ``log_probs`` [N, W / 2, 11].
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from digitreader.models.field import FieldNet
from digitreader.training.export import sha256
from digitreader.training.line import buckets, export_ctc, held_out_of
from digitreader.training.onnx_weights import load_onnx_weights, train_mode
from digitreader.vision.field_reader import HEIGHT, INPUT, STRIDE, decode
from digitreader.vision.line_reader import BLANK

TASK = "CTC reading of a whole field (a number with what is around it); blank = class 10"


@dataclass
class FieldConfig:
    fields: int = 64_000
    held_out: int = 2_000
    seed: int = 1
    epochs: int = 4
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    data_dir: str | None = None
    out_dir: str = "runs/field"
    jobs: int = 2
    threads: int | None = None
    kind: str | None = None  # generate fields of this kind only (data.fields.KINDS); None: the mix
    init: str | None = None  # start from this run's field.pt, or an exported field.onnx (the bundled one)
    more: list[str] = field(default_factory=list)  # other runs' field caches (.npz) to train on too ...
    more_count: int | None = None  # ... at most this many of their fields (a random subset); None: all

    def cache_name(self) -> str:
        return f"fields-{self.fields}-{self.seed}" + (f"-{self.kind}" if self.kind else "") + ".npz"


class Fields:
    """The cached fields: columns [HEIGHT, total], offsets, texts."""

    def __init__(self, columns: np.ndarray, offsets: np.ndarray, texts: list[str]) -> None:
        self.columns, self.offsets, self.texts = columns, offsets, texts
        self.widths = np.diff(offsets)

    def image(self, i: int) -> np.ndarray:
        return self.columns[:, self.offsets[i] : self.offsets[i + 1]].astype(np.float32) / 255


def _augment(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Squeeze or stretch sideways, shift up or down, dim or brighten."""
    w = max(STRIDE * 4, round(a.shape[1] * rng.uniform(0.8, 1.25)))
    out = cv2.resize(a, (w, HEIGHT), interpolation=cv2.INTER_LINEAR)
    out = np.roll(out, int(rng.integers(-4, 5)), axis=0)
    return np.clip(out * rng.uniform(0.7, 1.2), 0, 1)


def batch(
    data: Fields, idx: np.ndarray, rng: np.random.Generator | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inputs [B,1,HEIGHT,W], targets, frames per field, target lengths)."""
    items = [data.image(int(i)) for i in idx]
    if rng is not None:
        items = [_augment(a, rng) for a in items]
    width = max(a.shape[1] for a in items)
    width += (-width) % STRIDE
    x = np.zeros((len(items), 1, HEIGHT, width), np.float32)
    for k, a in enumerate(items):
        x[k, 0, :, : a.shape[1]] = a
    frames = torch.tensor([a.shape[1] // STRIDE for a in items], dtype=torch.long)
    targets = torch.tensor([int(c) for i in idx for c in data.texts[i]], dtype=torch.long)
    lengths = torch.tensor([len(data.texts[i]) for i in idx], dtype=torch.long)
    return torch.from_numpy(x), targets, frames, lengths


def evaluate(model: nn.Module, data: Fields, idx: np.ndarray) -> float:
    """Exact-string accuracy of best-path decoding on the fields ``idx``."""
    model.eval()
    right = 0
    with torch.no_grad():
        for b in buckets(data.widths, idx, 128):
            x, _, frames, _ = batch(data, b, None)
            logp = model(x).numpy()
            for k, i in enumerate(b):
                text = "".join(str(d.digit) for d in decode(logp[k, : frames[k]]))
                right += text == data.texts[i]
    return right / max(1, len(idx))


def train_field(cfg: FieldConfig, log=print) -> dict:
    """Train, evaluate on the held-out fields, export ONNX; returns the run's card."""
    from digitreader.training.field_data import cached_fields

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    data = Fields(*cached_fields(out / cfg.cache_name(), cfg.fields, cfg.seed, cfg.data_dir, cfg.jobs, kind=cfg.kind))
    n = len(data.texts)
    held = held_out_of(n, cfg.held_out)
    train_idx, val_idx = np.arange(n - held), np.arange(n - held, n)
    if cfg.more:
        data, train_idx = _with_more(data, train_idx, cfg)
    log(f"{n} fields ready in {time.perf_counter() - t0:.0f} s")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = FieldNet()
    folded = False  # an exported reader's norms are folded into its convolutions: they stay frozen
    if cfg.init:
        folded = _load(model, cfg.init)
        log(f"started from {cfg.init}: held-out exact {evaluate(model, data, val_idx):.2%}")
    steps = cfg.epochs * len(buckets(data.widths, train_idx, cfg.batch_size))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.15)
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    history = []
    for epoch in range(cfg.epochs):
        train_mode(model, frozen_norms=folded)
        t = time.perf_counter()
        losses = []
        for step, b in enumerate(buckets(data.widths, rng.permutation(train_idx), cfg.batch_size)):
            x, targets, frames, lengths = batch(data, b, rng)
            loss = ctc(model(x).transpose(0, 1), targets, frames, lengths)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            if step % 200 == 0:
                mean = np.mean(losses[-200:])
                log(f"  epoch {epoch + 1} step {step}  loss {mean:.4f}  {time.perf_counter() - t:.0f} s")
        torch.save(model.state_dict(), out / "field.pt")
        acc = evaluate(model, data, val_idx)
        history.append(
            {
                "epoch": epoch + 1,
                "loss": float(np.mean(losses)),
                "held_out_accuracy": acc,
                "seconds": time.perf_counter() - t,
            }
        )
        log(
            f"epoch {epoch + 1}/{cfg.epochs}  loss {np.mean(losses):.4f}  held-out exact {acc:.2%}  "
            f"{time.perf_counter() - t:.0f} s"
        )
    export_field(model, out / "field.onnx")
    card = {
        "name": "field",
        "task": TASK,
        "command": f"digitreader train-field --fields {cfg.fields} --epochs {cfg.epochs} --seed {cfg.seed}"
        + (f" --lr {cfg.lr:g}" if cfg.lr != FieldConfig.lr else "")
        + (f" --kind {cfg.kind}" if cfg.kind else "")
        + (f" --init {cfg.init}" if cfg.init else "")
        + "".join(f" --more-fields {m}" for m in cfg.more)
        + (f" --more-count {cfg.more_count}" if cfg.more_count else ""),
        "config": asdict(cfg),
        "params": sum(p.numel() for p in model.parameters()),
        "held_out_accuracy": history[-1]["held_out_accuracy"] if history else None,
        "held_out": f"the last {held} generated fields (exact string, best-path decoding)",
        "history": history,
        "train_seconds": round(time.perf_counter() - t0, 1),
        "sha256": sha256(out / "field.onnx"),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    (out / "field.json").write_text(json.dumps(card, indent=2))
    return card


def _load(model: nn.Module, path: str) -> bool:
    """Weights from a run's ``field.pt`` or from an exported ``field.onnx``; True for the latter (folded norms)."""
    if Path(path).suffix == ".onnx":
        load_onnx_weights(model, path)
        return True
    model.load_state_dict(torch.load(path, map_location="cpu"))
    return False


def _with_more(data: Fields, train_idx: np.ndarray, cfg: FieldConfig) -> tuple[Fields, np.ndarray]:
    """Add other runs' fields to the training part, each less the fields its own run held out
    (``held_out_of``); with ``more_count``, a random subset of them (by ``seed``)."""
    columns, offsets, texts, idx = [data.columns], [data.offsets], list(data.texts), [train_idx]
    base, n = int(data.offsets[-1]), len(data.texts)
    for f in cfg.more:
        z = np.load(f)
        m = len(z["texts"])
        columns.append(z["columns"])
        offsets.append(z["offsets"][1:] + base)
        texts += [str(t) for t in z["texts"]]
        idx.append(n + np.arange(m - held_out_of(m, cfg.held_out)))
        base += int(z["offsets"][-1])
        n += m
    extra = np.concatenate(idx[1:])
    if cfg.more_count is not None and cfg.more_count < len(extra):
        extra = np.sort(np.random.default_rng(cfg.seed).choice(extra, cfg.more_count, replace=False))
    merged = Fields(np.concatenate(columns, axis=1), np.concatenate(offsets), texts)
    return merged, np.concatenate([train_idx, extra])


def export_field(model: nn.Module, path: Path) -> Path:
    """Write the field reader as ONNX with a dynamic batch and width."""
    return export_ctc(model, (1, 1, HEIGHT, 64), INPUT, path)
