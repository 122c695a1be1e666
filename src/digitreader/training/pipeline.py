"""Train -> evaluate -> export ONNX -> parity check -> model card, as one call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitreader.data import load_mnist
from digitreader.training import export
from digitreader.training.train import TrainConfig, Trainer, TrainResult

PARITY_TOLERANCE = 1e-4


@dataclass
class ExportedRun(TrainResult):
    onnx_path: Path = Path()
    parity: float = 0.0


def train_and_export(
    cfg: TrainConfig, resume: bool = False, command: str = "", show_progress: bool = True, name: str | None = None
) -> ExportedRun:
    trainer = Trainer(cfg, resume=resume, show_progress=show_progress, command=command)
    result = trainer.run()
    model = trainer.eval_model.to("cpu")
    onnx_path = export.to_onnx(model, Path(cfg.out_dir) / "model.onnx")
    images = trainer.x_test[:512, 0].cpu().numpy()
    diff = export.parity(model, onnx_path, images)
    if diff >= PARITY_TOLERANCE:
        raise RuntimeError(f"ONNX export differs from PyTorch by {diff:.2e} (tolerance {PARITY_TOLERANCE})")
    export.write_card(
        onnx_path,
        model,
        name=name or cfg.model,
        architecture=cfg.model,
        test_accuracy=result.test_accuracy,
        train_command=command,
        seed=cfg.seed,
        extra={
            "train_seconds": round(result.train_seconds, 1),
            "epochs": len(result.history),
            "test_images": len(trainer.x_test),
            "train_images": len(trainer.x_train),
            "device": str(trainer.device),
            "onnx_parity_max_abs_diff": diff,
            "recipe": cfg.to_dict(),
        },
    )
    return ExportedRun(**vars(result), onnx_path=onnx_path, parity=diff)


def test_set(data_dir: str | None = None, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_mnist("test", data_dir)
    return (images[:limit], labels[:limit]) if limit else (images, labels)
