"""Trained model -> calibrated ONNX file + model card, checked against PyTorch and scored by ONNX Runtime."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from digitreader.data import load_mnist
from digitreader.training import calibrate, export
from digitreader.training.augment import AugmentConfig, augment
from digitreader.training.metrics import Evaluation
from digitreader.training.train import TrainConfig, Trainer, TrainResult, as_tensor, predict_logits

PARITY_TOLERANCE = 1e-4
CALIBRATION_IMAGES = 20_000


@dataclass
class ExportedRun(TrainResult):
    onnx_path: Path = Path()
    parity: float = 0.0


def calibrated(
    model: nn.Module,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    aug: AugmentConfig,
    seed: int = 0,
    n: int = CALIBRATION_IMAGES,
) -> tuple[nn.Module, dict[str, Any]]:
    """Wrap model with the temperature fitted on freshly augmented training images.

    Augmented training images are harder than the test set (the model was never scored on
    them), so the fitted temperature errs on the modest side; the test set stays untouched.
    """
    n = min(n, len(x_train))
    gen = torch.Generator(device=x_train.device).manual_seed(10_007 + seed)
    x = augment(x_train[:n], aug, gen)
    logits = predict_logits(model, x).double().cpu().numpy()
    labels = y_train[:n].cpu().numpy()
    temperature = calibrate.fit_temperature(logits, labels)
    info = {
        "temperature": round(temperature, 4),
        "fitted_on": f"{n:,} augmented MNIST training images (negative log-likelihood)",
    }
    return calibrate.TemperatureScaled(model, temperature).eval(), info


def export_model(
    model: nn.Module,
    cfg: TrainConfig,
    onnx_path: Path,
    *,
    name: str,
    command: str,
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[np.ndarray, np.ndarray],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Calibrate, export, check parity, score the ONNX file on the test images, write the card."""
    model = model.eval().to("cpu")
    x_train, y_train = (t.cpu() for t in train)
    scaled, calibration = calibrated(model, x_train, y_train, cfg.augment, cfg.seed)
    export.to_onnx(scaled, onnx_path)
    images, labels = test
    x = images.astype(np.float32) / 255
    diff, largest = export.parity_report(scaled, onnx_path, x[:512])
    # float32 sums in a different order differ in the last bits: the tolerance is absolute for
    # logits of ordinary size and relative for the huge logits of an overfitted model (an MLP
    # trained to 100% training accuracy reaches |logit| ~ 1e3).
    tolerance = PARITY_TOLERANCE * max(1.0, largest / 10)
    if diff >= tolerance:
        raise RuntimeError(
            f"ONNX export differs from PyTorch by {diff:.2e} (tolerance {tolerance:.1e}; largest |logit| {largest:.1f})"
        )
    from digitreader.training.scoring import model_probs

    probs = model_probs(str(onnx_path), images)
    ev = Evaluation(labels.astype(np.int64), probs)
    with torch.no_grad():
        raw = torch.softmax(model(torch.from_numpy(x[:, None])).double(), 1).numpy()
    calibration["test_ece_before"] = round(calibrate.expected_calibration_error(raw, ev.labels), 5)
    calibration["test_ece_after"] = round(calibrate.expected_calibration_error(probs, ev.labels), 5)
    card = {
        "test_images": len(labels),
        "onnx_parity_max_abs_diff": diff,
        "onnx_parity_largest_abs_logit": round(largest, 3),
        "calibration": calibration,
        "recipe": cfg.to_dict(),
        **(extra or {}),
    }
    export.write_card(
        onnx_path,
        model,
        name=name,
        architecture=cfg.model,
        test_accuracy=ev.accuracy,
        train_command=command,
        seed=cfg.seed,
        extra=card,
    )
    return {"accuracy": ev.accuracy, "parity": diff, **calibration}


def train_and_export(
    cfg: TrainConfig,
    resume: bool = False,
    command: str = "",
    show_progress: bool = True,
    name: str | None = None,
    workers: int = 1,
    address: str | None = None,
) -> ExportedRun:
    """Train ``cfg`` (in this process, or data-parallel on ``workers`` Ray Train workers when
    ``workers > 1`` or an ``address`` is given), then calibrate, export and write the card."""
    if workers > 1 or address:
        from digitreader.training.distributed import train_distributed

        result = train_distributed(cfg, workers, address, resume=resume, command=command, show_progress=show_progress)
        trainer = Trainer(cfg, resume=True, show_progress=False, command=command)  # the finished run, to export
    else:
        trainer = Trainer(cfg, resume=resume, show_progress=show_progress, command=command)
        result = trainer.run()
    onnx_path = Path(cfg.out_dir) / "model.onnx"
    test = (trainer.x_test[:, 0].mul(255).round().byte().cpu().numpy(), trainer.y_test.cpu().numpy())
    summary = export_model(
        trainer.eval_model,
        cfg,
        onnx_path,
        name=name or cfg.model,
        command=command,
        train=(trainer.x_train, trainer.y_train),
        test=test,
        extra={
            "train_seconds": round(result.train_seconds, 1),
            "epochs": len(result.history),
            "train_images": len(trainer.x_train),
            "device": str(trainer.device),
            "workers": workers,
            **(export.started_from(init) if (init := trainer.init_path()) is not None else {}),
        },
    )
    return ExportedRun(**vars(result), onnx_path=onnx_path, parity=summary["parity"])


def train_tensors(cfg: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = load_mnist("train", cfg.data_dir)
    if cfg.limit_train:
        images, labels = images[: cfg.limit_train], labels[: cfg.limit_train]
    return as_tensor(images, torch.device("cpu")), torch.from_numpy(labels.astype(np.int64))


def test_set(data_dir: str | None = None, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_mnist("test", data_dir)
    return (images[:limit], labels[:limit]) if limit else (images, labels)
