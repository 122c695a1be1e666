"""Export a trained model to ONNX (DESIGN.md contract), with a model card and a parity check."""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from digitreader.models import count_params
from digitreader.redact import redact_card

OPSET = 17


def to_onnx(model: nn.Module, path: Path) -> Path:
    """Write model as ONNX: input ``image`` [N,1,28,28] float32, output ``logits`` [N,10]."""
    model = model.eval().to("cpu", memory_format=torch.contiguous_format)
    dummy = torch.zeros(1, 1, 28, 28)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (dummy,),
            buf,
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}},
            opset_version=OPSET,
            dynamo=False,
        )
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".onnx.tmp")
    onnx.save(proto, tmp)
    tmp.replace(path)
    return path


def parity(model: nn.Module, onnx_path: Path, images: np.ndarray) -> float:
    """Max abs difference of logits between PyTorch and ONNX Runtime on images [N,28,28] in [0,1]."""
    return parity_report(model, onnx_path, images)[0]


def parity_report(model: nn.Module, onnx_path: Path, images: np.ndarray) -> tuple[float, float]:
    """(max abs difference of logits between PyTorch and ONNX Runtime, largest abs logit) on ``images``."""
    x = np.ascontiguousarray(images[:, None], dtype=np.float32)
    with torch.no_grad():
        ref = model.eval().to("cpu")(torch.from_numpy(x)).numpy()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run(["logits"], {"image": x})[0]
    return float(np.abs(ref - got).max()), float(np.abs(ref).max())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def started_from(init: Path) -> dict[str, Any]:
    """What a fine-tuned model started from: the file's sha256 and, when it sits beside it, its card."""
    found: dict[str, Any] = {"init_sha256": sha256(init)}
    card = init.with_suffix(".json")
    if card.is_file():
        found["init_card"] = json.loads(card.read_text())
    return found


def write_card(
    onnx_path: Path,
    model: nn.Module,
    *,
    name: str,
    architecture: str,
    test_accuracy: float,
    train_command: str,
    seed: int,
    extra: dict[str, Any] | None = None,
) -> Path:
    """The model card JSON beside the .onnx (fields in DESIGN.md, plus extras), absolute paths redacted."""
    card = {
        "name": name,
        "architecture": architecture,
        "params": count_params(model),
        "test_accuracy": round(float(test_accuracy), 6),
        "train_command": train_command,
        "seed": seed,
        "sha256": sha256(onnx_path),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "input": {
            "name": "image",
            "shape": ["N", 1, 28, 28],
            "dtype": "float32",
            "range": [0, 1],
            "convention": "white ink on black, MNIST-style (centred by mass in 20x20)",
        },
        "output": {"name": "logits", "shape": ["N", 10], "dtype": "float32"},
        **(extra or {}),
    }
    path = onnx_path.with_suffix(".json")
    path.write_text(json.dumps(redact_card(card), indent=2) + "\n")  # no build machine's absolute paths
    return path
