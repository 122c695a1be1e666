"""Fine-tune the digit model on users' corrections, with MNIST replay; export only what keeps MNIST.

``train --init bundled --corrections DB``: the corrections (``corrections.samples``) less a
held-out share train the model together with MNIST training digits, each batch ``share``
corrections (drawn with replacement, augmented) and the rest MNIST (replay, so nothing is
forgotten). The result is calibrated, exported, re-packed with the init model's "not a digit"
network (``pack.repack``), and scored on MNIST test beside the init model on the same images:
a drop of more than ``max_drop`` refuses the export (``FinetuneRefused``) unless ``force``.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from digitreader.corrections.samples import Samples
from digitreader.engine import REJECT_OUTPUT, Recognizer, resolve_model
from digitreader.errors import DigitReaderError
from digitreader.models import create_model
from digitreader.training import export
from digitreader.training.augment import AugmentConfig, augment
from digitreader.training.onnx_weights import load_onnx_weights, train_mode
from digitreader.training.recipes import STRONG
from digitreader.training.train import _loss, as_tensor, load_trained, pick_device


class FinetuneRefused(DigitReaderError):
    """The fine-tuned model lost more than the allowed share of MNIST test: nothing was exported."""


@dataclass(frozen=True)
class FinetuneConfig:
    """Every knob of a fine-tuning on corrections (the defaults are the ones benchmarks/adaptation.py chose)."""

    init: str = "bundled"  # "bundled", an exported .onnx, or a run's model.pt
    model: str = "sharp"  # the architecture, when the init's card does not name it
    out_dir: str = "runs/corrections"
    steps: int = 200
    batch_size: int = 512
    share: float = 0.1  # of each batch drawn from the corrections; the rest is MNIST replay
    lr: float = 0.03  # peak of the OneCycle schedule (SGD, Nesterov)
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    augment: AugmentConfig = field(default_factory=lambda: STRONG)
    tune_last: int = 1  # train only the last N layers with weights (0: all)
    views: int = 16  # with tune_last: augmented copies of each correction
    replay_pool: int = 20_000  # with tune_last: MNIST training digits whose features are replayed
    replay_augment: bool = True  # with tune_last: augment them (once) first
    holdout: float = 0.2  # share of the corrections kept back for validation
    max_drop: float = 0.0005  # of MNIST test accuracy (0.05 points) before the export is refused
    force: bool = False  # export even so
    seed: int = 0
    data_dir: str | None = None
    limit_train: int | None = None  # MNIST replay pool: the first N training digits
    limit_test: int | None = None  # MNIST test images of the check (None: all 10,000)
    calibration_images: int = 2000
    threads: int | None = None
    device: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FinetuneResult:
    onnx_path: Path  # a refused model raises FinetuneRefused instead
    card: dict[str, Any]


def split(samples: Samples, holdout: float, seed: int) -> tuple[Samples, Samples]:
    """(training, held-out) samples: a seeded ``holdout`` share kept back (none with fewer than 5)."""
    n = len(samples)
    keep = round(n * holdout) if n >= 5 else 0
    order = np.random.default_rng(seed).permutation(n)
    return samples.take(np.sort(order[keep:])), samples.take(np.sort(order[:keep]))


def init_path(init: str) -> Path:
    return resolve_model("default") if init == "bundled" else Path(init)


def load_init(cfg: FinetuneConfig) -> tuple[nn.Module, bool, dict[str, Any]]:
    """(the init network, whether its norms stay frozen, its card or {})."""
    path = init_path(cfg.init)
    card_path = path.with_suffix(".json")
    card = json.loads(card_path.read_text()) if card_path.is_file() else {}
    if path.suffix != ".onnx":
        return load_trained(path), False, card
    model = create_model(card.get("architecture", cfg.model))
    load_onnx_weights(model, path, prefix="model.")  # the exporter's temperature wrapper
    return model, True, card


def tune(cfg: FinetuneConfig, train: Samples, log: Any = None) -> nn.Module:
    """The init model after ``cfg.steps`` steps on batches of corrections and MNIST replay.

    With ``tune_last`` the frozen layers below run once, on ``views`` augmented copies of each
    correction and on an augmented MNIST pool (kept for the next call with the same init):
    a step is then a few milliseconds, so a benchmark can tune a model per writer.
    """
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model, frozen, _ = load_init(cfg)
    model = model.to(device, memory_format=torch.channels_last)
    params = trainable(model, cfg.tune_last)
    stem, head = split_frozen(model) if cfg.tune_last else (None, model)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    (x_m, y_m), (x_f, y_f) = _pools(cfg, stem, train, gen, device)
    k = round(cfg.batch_size * cfg.share) if len(train) else 0
    decay = [p for p in params if p.ndim > 1]
    rest = [p for p in params if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    opt = torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(1, cfg.steps), pct_start=0.25)
    train_mode(head, frozen)
    for step in range(cfg.steps):
        i = torch.randint(len(y_m), (cfg.batch_size - k,), generator=gen, device=device)
        xb, yb = x_m[i], y_m[i]
        if k:
            j = torch.randint(len(y_f), (k,), generator=gen, device=device)
            xb, yb = torch.cat([xb, x_f[j]]), torch.cat([yb, y_f[j]])
        if stem is None:
            xb = augment(xb, cfg.augment, gen)
        loss = _loss(head(xb), yb, cfg.label_smoothing, 0.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if log is not None and (step % 50 == 0 or step == cfg.steps - 1):
            log(f"step {step + 1}/{cfg.steps}  loss {float(loss.detach()):.4f}")
    return model.eval().to("cpu")


def split_frozen(model: nn.Module) -> tuple[nn.Module, nn.Module]:
    """(the layers below the first trainable one, the rest): a Sequential network cut in two."""
    layers = _flat(model)
    cut = next(i for i, m in enumerate(layers) if any(p.requires_grad for p in m.parameters(recurse=False)))
    return nn.Sequential(*layers[:cut]).eval(), nn.Sequential(*layers[cut:])


def _flat(model: nn.Module) -> list[nn.Module]:
    if isinstance(model, nn.Sequential):
        return [m for child in model for m in _flat(child)]
    if any(True for _ in model.children()) and any(p.requires_grad for p in model.parameters()):
        raise ValueError(f"--tune-last needs a network of plain layers in sequence, not {type(model).__name__}")
    return [model]


Pool = tuple[torch.Tensor, torch.Tensor]


def _pools(cfg: FinetuneConfig, stem: nn.Module | None, train: Samples, gen: torch.Generator, device: Any):  # type: ignore[no-untyped-def]
    """(MNIST replay, corrections): images, or the frozen stem's features of augmented copies."""
    images, labels = mnist("train", cfg.data_dir)
    n = len(labels) if cfg.limit_train is None else min(cfg.limit_train, len(labels))
    x_fix = torch.from_numpy(train.images).to(device).unsqueeze(1).contiguous(memory_format=torch.channels_last)
    y_fix = torch.from_numpy(train.labels).to(device)
    if stem is None:
        return (as_tensor(images[:n], device), torch.from_numpy(labels[:n].astype(np.int64)).to(device)), (x_fix, y_fix)
    n = min(n, cfg.replay_pool)
    key = (export.sha256(init_path(cfg.init)), cfg.tune_last, cfg.data_dir, n, cfg.seed, cfg.replay_augment)
    if _REPLAY.get("key") != key:
        x = as_tensor(images[:n], device)
        if cfg.replay_augment:
            x = augment(x, cfg.augment, torch.Generator(device=device).manual_seed(cfg.seed + 1))
        y = torch.from_numpy(labels[:n].astype(np.int64)).to(device)
        _REPLAY.update(key=key, pool=(_features(stem, x), y))
    views = x_fix.repeat(cfg.views, 1, 1, 1)
    fix = (_features(stem, augment(views, cfg.augment, gen)), y_fix.repeat(cfg.views)) if len(train) else (x_fix, y_fix)
    return _REPLAY["pool"], fix


_REPLAY: dict[str, Any] = {}  # the last MNIST replay pool's features (a benchmark tunes the same init many times)


@torch.no_grad()
def _features(stem: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return torch.cat([stem(x[i : i + 1000]) for i in range(0, len(x), 1000)])


def trainable(model: nn.Module, last: int) -> list[nn.Parameter]:
    """The parameters of the last ``last`` layers that have any (all when 0); the others are frozen."""
    layers = list(dict.fromkeys(name.rsplit(".", 1)[0] for name, _ in model.named_parameters()))
    keep = set(layers[-last:] if last else layers)
    params = []
    for name, p in model.named_parameters():
        p.requires_grad_(name.rsplit(".", 1)[0] in keep)
        if p.requires_grad:
            params.append(p)
    return params


@lru_cache(maxsize=2)
def mnist(split: str, data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    """MNIST ``split`` (read once per process: a benchmark fine-tunes many times)."""
    from digitreader.data import load_mnist

    return load_mnist(split, data_dir)


@lru_cache(maxsize=4)
def mnist_test_accuracy(model_path: str, sha256: str, data_dir: str | None, limit: int | None) -> float:
    """Accuracy of an ONNX model on the first ``limit`` MNIST test images (cached by the file's sha256)."""
    images, labels = mnist("test", data_dir)
    images, labels = images[:limit], labels[:limit]
    return accuracy(Recognizer(model_path, line_model=None), images.astype(np.float32) / 255, labels)


def accuracy(recognizer: Recognizer, x: np.ndarray, labels: np.ndarray) -> float:
    """Share of inputs [N,28,28] in [0,1] whose most probable digit (the digit model alone) is the label."""
    if len(labels) == 0:
        return float("nan")
    pred = np.concatenate([recognizer.logits(x[i : i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return float((pred == labels).mean())


def export_tuned(
    model: nn.Module,
    cfg: FinetuneConfig,
    train: Samples,
    held_out: Samples,
    *,
    corrections: dict[str, Any],
    command: str,
) -> FinetuneResult:
    """Calibrate, export and re-pack into a scratch folder, compare with the init model, then move into place."""
    from digitreader.training.pipeline import calibrated

    out = Path(cfg.out_dir)
    scratch = out / ".candidate"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    init = init_path(cfg.init)
    _, _, init_card = load_init(cfg)
    images, labels = mnist("train", cfg.data_dir)
    n_cal = min(cfg.limit_train or len(labels), cfg.calibration_images)
    x_cal, y_cal = as_tensor(images[:n_cal], torch.device("cpu")), torch.from_numpy(labels[:n_cal].astype(np.int64))
    scaled, calibration = calibrated(model, x_cal, y_cal, cfg.augment, cfg.seed, n=cfg.calibration_images)
    digits = export.to_onnx(scaled, scratch / "digits.onnx")
    diff, largest = export.parity_report(scaled, digits, x_cal[:256, 0].numpy())
    if diff >= 1e-4 * max(1.0, largest / 10):
        raise RuntimeError(f"ONNX export differs from PyTorch by {diff:.2e}")
    candidate = scratch / "model.onnx"
    packed = REJECT_OUTPUT in [o.name for o in onnx.load(str(init)).graph.output]
    if packed:
        from digitreader.training.pack import repack

        repack(digits, init, candidate)
    else:
        digits.replace(candidate)
    figures = before_after(init, candidate, cfg, train, held_out)
    drop = figures["mnist_test"]["before"] - figures["mnist_test"]["after"]
    card = _card(cfg, init, init_card, corrections, figures, calibration, diff, command, packed)
    if drop > cfg.max_drop + 1e-9 and not cfg.force:  # 5 of 10,000 images lost is still 0.05 points
        shutil.rmtree(scratch, ignore_errors=True)
        b, a = figures["mnist_test"]["before"], figures["mnist_test"]["after"]
        raise FinetuneRefused(
            f"refused to export: MNIST test {100 * a:.2f}% after fine-tuning, {100 * drop:.2f} points below the "
            f"{100 * b:.2f}% it started from (the limit is {100 * cfg.max_drop:.2f}); --force exports it anyway"
        )
    onnx_path = out / "model.onnx"
    candidate.replace(onnx_path)
    if packed:
        from digitreader.training.pack import logits_card, scores_card

        card["logits_model"] = logits_card(onnx_path)  # read's candidates skip the "not a digit" networks
        card["scores_model"] = scores_card(onnx_path)  # and tiny images the digit network
    tiny = init_card.get("tiny_images", {}).get("model")
    if tiny and (init.parent / tiny).is_file() and init.parent.resolve() != out.resolve():
        shutil.copyfile(init.parent / tiny, out / tiny)  # tiny images are read as before
    export.write_card(
        onnx_path,
        model,
        name=card.pop("name"),
        architecture=card.pop("architecture"),
        test_accuracy=figures["mnist_test"]["after"],
        train_command=command,
        seed=cfg.seed,
        extra=card,
    )
    shutil.rmtree(scratch, ignore_errors=True)
    return FinetuneResult(onnx_path, json.loads(onnx_path.with_suffix(".json").read_text()))


def before_after(init: Path, tuned: Path, cfg: FinetuneConfig, train: Samples, held_out: Samples) -> dict[str, Any]:
    """Accuracy of the init and the tuned model on MNIST test and on the training / held-out corrections."""
    n_test = cfg.limit_test
    before = Recognizer(init, line_model=None)
    after = Recognizer(tuned, line_model=None)
    figures: dict[str, Any] = {
        "mnist_test": {
            "images": n_test or 10_000,
            "before": mnist_test_accuracy(str(init), export.sha256(init), cfg.data_dir, n_test),
            "after": mnist_test_accuracy(str(tuned), export.sha256(tuned), cfg.data_dir, n_test),
        }
    }
    for name, s in (("corrections_trained", train), ("corrections_held_out", held_out)):
        figures[name] = {
            "samples": len(s),
            "before": _round(accuracy(before, s.images, s.labels)),
            "after": _round(accuracy(after, s.images, s.labels)),
        }
    return figures


def _round(v: float) -> float | None:
    return None if math.isnan(v) else round(v, 6)


def _card(
    cfg: FinetuneConfig,
    init: Path,
    init_card: dict[str, Any],
    corrections: dict[str, Any],
    figures: dict[str, Any],
    calibration: dict[str, Any],
    parity: float,
    command: str,
    packed: bool,
) -> dict[str, Any]:
    """The card's fields (``write_card`` adds the standard ones); a packed init's reject entries are kept."""
    card: dict[str, Any] = {
        "name": f"{init_card.get('name', init.stem)}+corrections",
        "architecture": init_card.get("architecture", cfg.model),
        "corrections": corrections,
        "before_after": figures,
        "calibration": calibration,
        "onnx_parity_max_abs_diff": parity,
        "test_images": figures["mnist_test"]["images"],
        "recipe": {"finetune": cfg.to_dict()},
        **export.started_from(init),
    }
    if packed:
        card["output"] = {**init_card.get("output", {}), "name": "logits", "shape": ["N", 10], "dtype": "float32"}
        card["output"].setdefault("reject", {"name": REJECT_OUTPUT, "shape": ["N", 10], "dtype": "float32"})
        for key in ("reject", "reject_model", "gate_model"):
            if key in init_card:
                card[key] = init_card[key]
        card["pack"] = "the init model's 'not a digit' networks, unchanged (training.pack.repack)"
    if "tiny_images" in init_card:  # the model of tiny images is copied beside the tuned one (export_tuned)
        card["tiny_images"] = init_card["tiny_images"]
    return card


def finetune(cfg: FinetuneConfig, database: str | Path, command: str = "", log: Any = None) -> FinetuneResult:
    """Fine-tune on every correction in the SQLite ``database`` and export (or refuse: ``FinetuneRefused``)."""
    from digitreader.corrections.samples import correction_samples
    from digitreader.corrections.store import CorrectionStore

    store = CorrectionStore(database)
    samples = correction_samples(store, Recognizer(init_path(cfg.init)))
    if len(samples) == 0:
        raise DigitReaderError(f"{database}: no corrections that give a digit sample ({samples.counts})")
    train, held_out = split(samples, cfg.holdout, cfg.seed)
    corrections = {
        "count": len(store),
        "sha256": store.digest(),
        "samples": samples.counts,
        "digit_samples": len(samples),
        "trained": len(train),
        "held_out": len(held_out),
        "line_samples": len(samples.lines),
        "line_samples_use": "counted only: the line reader is not fine-tuned (it is a separate model)",
    }
    if log is not None:
        log(
            f"{len(store)} corrections -> {len(samples)} digit samples ({len(train)} trained, {len(held_out)} held out)"
        )
    model = tune(cfg, train, log)
    return export_tuned(model, cfg, train, held_out, corrections=corrections, command=command)
