"""Export a trained PyTorch model (model.pt or last.pt) to ONNX with a model card.

Checks parity against PyTorch on real MNIST test images (max abs logit difference < 1e-4).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from digitreader.commands.common import add_data_dir, fail, out, require_torch

HELP = "export a trained PyTorch model to ONNX with its model card"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="model.pt or last.pt written by 'digitreader train'")
    p.add_argument("--out", required=True, help="the .onnx file to write (the card goes beside it as .json)")
    p.add_argument("--name", help="model name in the card (default: the file's stem)")
    add_data_dir(p)


def run(args: argparse.Namespace) -> int:
    require_torch()
    from digitreader.data import DataError
    from digitreader.training import checkpoint, export
    from digitreader.training.metrics import Evaluation
    from digitreader.training.pipeline import PARITY_TOLERANCE, test_set
    from digitreader.training.train import load_trained

    src, dst = Path(args.checkpoint), Path(args.out)
    if not src.is_file():
        return fail(f"{src} does not exist")
    if dst.suffix != ".onnx":
        return fail(f"--out must end in .onnx, got {dst}")
    try:
        model = load_trained(src)
        state = checkpoint.load(src)
        images, labels = test_set(args.data_dir)
    except DataError as exc:
        return fail(str(exc))
    export.to_onnx(model, dst)
    x = images.astype("float32") / 255
    diff = export.parity(model, dst, x[:512])
    if diff >= PARITY_TOLERANCE:
        return fail(f"ONNX logits differ from PyTorch by {diff:.2e} (tolerance {PARITY_TOLERANCE})", 1)
    import onnxruntime as ort

    sess = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"])
    logits = sess.run(["logits"], {"image": x[:, None]})[0]
    ev = Evaluation(labels.astype(int), logits)
    cfg = state.get("config", {})
    card_extra = {"onnx_parity_max_abs_diff": diff, "recipe": cfg, "epochs": len(state.get("history", []))}
    export.write_card(
        dst,
        model,
        name=args.name or dst.stem,
        architecture=cfg.get("model", "?"),
        test_accuracy=ev.accuracy,
        train_command=state.get("command") or "(not recorded)",
        seed=cfg.get("seed", 0),
        extra=card_extra,
    )
    out.print(f"wrote {dst} ({ev.accuracy:.4%} on {len(labels):,} test images, parity {diff:.1e})")
    return 0
