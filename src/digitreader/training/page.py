"""Train the page finder (``models.page``) on generated scenes and export it as ONNX.

Scenes (``data.page_scenes``) are sheets written with MNIST **training** digits, lying on desks
or filling the frame, rendered by seed and cached in the run folder. The loss is binary
cross-entropy per pixel at the network's half resolution.

    python -m digitreader.training.page --out runs/page
    cp runs/page/model.onnx src/digitreader/assets/page/default.onnx   # and model.json -> default.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from torch import nn

from digitreader.data import load_mnist
from digitreader.data.page_scenes import THUMB, page_scene
from digitreader.models.page import PageNet
from digitreader.models.registry import count_params
from digitreader.redact import redact_card
from digitreader.training.export import OPSET, sha256
from digitreader.vision.page import padded

SCENE_VERSION = 2  # bump when data.page_scenes changes what it draws


@dataclass
class PageConfig:
    out: Path
    scenes: int = 16_000
    epochs: int = 8
    batch_size: int = 32
    lr: float = 3e-3  # AdamW, one-cycle
    width: int = 16
    seed: int = 11
    data_dir: str | None = None
    threads: int = 2
    jobs: int = 2


def _scenes(args: tuple[str | None, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    data_dir, seed, start, stop = args
    images, labels = load_mnist("train", data_dir, download=False)
    made = [page_scene(images, labels, seed, i) for i in range(start, stop)]
    return np.stack([padded(_landscape(t)) for t, _ in made]), np.stack([padded(_landscape(m)) for _, m in made])


def _landscape(a: np.ndarray) -> np.ndarray:
    """Portrait scenes are stored turned a quarter (the network is trained on both ways up by flips of the batch)."""
    return np.ascontiguousarray(np.swapaxes(a, 0, 1)) if a.shape[0] > a.shape[1] else a


def cached_scenes(cfg: PageConfig) -> tuple[np.ndarray, np.ndarray]:
    """uint8 thumbnails [n, 128, 160, 3] and masks [n, 128, 160], made once and kept in the run folder."""
    path = cfg.out / f"scenes-{cfg.scenes}-{cfg.seed}-v{SCENE_VERSION}.npz"
    if path.is_file():
        z = np.load(path)
        return z["x"], z["y"]
    step = 500
    parts = [(cfg.data_dir, cfg.seed, s, min(s + step, cfg.scenes)) for s in range(0, cfg.scenes, step)]
    with ProcessPoolExecutor(cfg.jobs) as pool:
        made = list(pool.map(_scenes, parts))
    x, y = np.concatenate([m[0] for m in made]), np.concatenate([m[1] for m in made])
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, x=x, y=y)
    tmp.replace(path)
    return x, y


def _batch(x: np.ndarray, y: np.ndarray, idx: np.ndarray, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Images [B,3,H,W] in [0,1] and half-resolution soft targets [B,1,H/2,W/2], flipped, turned, greyed and
    relit at random."""
    xb = torch.from_numpy(x[idx]).permute(0, 3, 1, 2).float().div_(255)
    yb = torch.from_numpy(y[idx]).float().unsqueeze(1)
    if torch.rand(1, generator=gen) < 0.5:
        xb, yb = xb.flip(3), yb.flip(3)
    if torch.rand(1, generator=gen) < 0.5:
        xb, yb = xb.flip(2), yb.flip(2)
    if torch.rand(1, generator=gen) < 0.3:  # portrait: the batch a quarter turn
        xb, yb = xb.transpose(2, 3), yb.transpose(2, 3)
    if torch.rand(1, generator=gen) < 0.25:  # a grey frame (as ``watch`` gives it)
        xb = (xb * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True).expand(-1, 3, -1, -1)
    gain = 0.75 + 0.5 * torch.rand(len(idx), 1, 1, 1, generator=gen)
    xb = (xb * gain + 0.1 * (torch.rand(len(idx), 1, 1, 1, generator=gen) - 0.5)).clamp_(0, 1)
    return xb, F.avg_pool2d(yb, 2)


def train(cfg: PageConfig, log: bool = True) -> tuple[nn.Module, dict]:
    """The trained network and what its training did (for the card)."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    x, y = cached_scenes(cfg)
    held = max(1, len(x) // 50)  # the last 2% are scored, not trained on
    model = PageNet(cfg.width)
    per_epoch = (len(x) - held) // cfg.batch_size
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.epochs * per_epoch)
    gen = torch.Generator().manual_seed(cfg.seed)
    t0, losses, ious = time.perf_counter(), [], []
    for epoch in range(cfg.epochs):
        model.train()
        order, total = torch.randperm(len(x) - held, generator=gen).numpy(), 0.0
        for s in range(per_epoch):
            xb, yb = _batch(x, y, np.sort(order[s * cfg.batch_size : (s + 1) * cfg.batch_size]), gen)
            loss = F.binary_cross_entropy_with_logits(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
            total += float(loss.detach())
        losses.append(round(total / per_epoch, 5))
        ious.append(round(held_out_iou(model, x[-held:], y[-held:]), 4))
        if log:
            seconds = time.perf_counter() - t0
            print(f"epoch {epoch + 1}/{cfg.epochs}: loss {losses[-1]:.4f}, IoU {ious[-1]:.4f} ({seconds:.0f} s)")
    model.eval()
    return model, {
        "scenes": len(x) - held,
        "held_out_scenes": held,
        "train_seconds": round(time.perf_counter() - t0, 1),
        "epoch_losses": losses,
        "held_out_iou": ious,
    }


@torch.no_grad()
def held_out_iou(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Mean IoU of the sheet's mask (logit > 0, half resolution) on held-out scenes."""
    model.eval()
    out = []
    for s in range(0, len(x), 64):
        logits = model(torch.from_numpy(x[s : s + 64]).permute(0, 3, 1, 2).float().div_(255))
        want = F.avg_pool2d(torch.from_numpy(y[s : s + 64]).float().unsqueeze(1), 2) > 0.5
        got = logits > 0
        union = (got | want).sum(dim=(1, 2, 3)).float()
        out.append(torch.where(union > 0, (got & want).sum(dim=(1, 2, 3)) / union.clamp(min=1), 1.0))
    return float(torch.cat(out).mean())


def export(model: nn.Module, cfg: PageConfig, figures: dict, command: str) -> Path:
    """Write ``model.onnx`` (image [N,3,H,W] -> logits [N,1,H/2,W/2]) and its card in the run folder."""
    path = cfg.out / "model.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.eval(),
            (torch.zeros(1, 3, 128, 160),),
            str(path),
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={"image": {0: "N", 2: "H", 3: "W"}, "logits": {0: "N", 2: "H/2", 3: "W/2"}},
            opset_version=OPSET,
            dynamo=False,
        )
    onnx.checker.check_model(onnx.load(str(path)))
    card = {
        "name": "page",
        "architecture": f"PageNet (models.page, width {cfg.width})",
        "params": count_params(model),
        "train_command": command,
        "seed": cfg.seed,
        "sha256": sha256(path),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "input": {"name": "image", "shape": ["N", 3, "H", "W"], "meaning": f"RGB in [0, 1], longest side {THUMB}"},
        "output": {"name": "logits", "shape": ["N", 1, "H/2", "W/2"], "meaning": "log-odds that a pixel is the sheet"},
        "recipe": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        **figures,
    }
    path.with_suffix(".json").write_text(json.dumps(redact_card(card), indent=2) + "\n")
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="the run folder (scenes, model.pt, model.onnx)")
    defaults = PageConfig(out=Path("."))
    for name in ("scenes", "epochs", "batch_size", "width", "seed", "threads", "jobs"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name))
    p.add_argument("--lr", type=float, default=defaults.lr)
    p.add_argument("--data-dir")
    cfg = PageConfig(**vars(p.parse_args()))
    cfg.out.mkdir(parents=True, exist_ok=True)
    model, figures = train(cfg)
    torch.save(model.state_dict(), cfg.out / "model.pt")
    command = "python -m digitreader.training.page " + shlex.join(sys.argv[1:])
    print(export(model, cfg, figures, command))


if __name__ == "__main__":
    main()
