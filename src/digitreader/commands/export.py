"""Export a trained PyTorch model (model.pt or last.pt) to ONNX with its model card.

The logits are divided by a temperature fitted on augmented training images (honest
confidences, same predictions); parity with PyTorch is checked on real MNIST test images
(max abs logit difference < 1e-4) and the card records the accuracy ONNX Runtime gets on
the 10,000 official test images.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from digitreader.commands.common import add_data_dir, fail, require_torch, say

HELP = "export a trained PyTorch model to ONNX with its model card"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="model.pt or last.pt written by 'digitreader train'")
    p.add_argument("--out", required=True, help="the .onnx file to write (the card goes beside it as .json)")
    p.add_argument("--name", help="model name in the card (default: the file's stem)")
    add_data_dir(p)


def run(args: argparse.Namespace) -> int:
    require_torch()
    from dataclasses import replace

    from digitreader.data import DataError
    from digitreader.training import checkpoint
    from digitreader.training.pipeline import export_model, test_set, train_tensors
    from digitreader.training.train import TrainConfig, load_trained

    src, dst = Path(args.checkpoint), Path(args.out)
    if not src.is_file():
        return fail(f"{src} does not exist")
    if dst.suffix != ".onnx":
        return fail(f"--out must end in .onnx, got {dst}")
    state = checkpoint.load(src)
    cfg = replace(TrainConfig.from_dict(state["config"]), data_dir=args.data_dir)
    history = state.get("history", [])
    try:
        model = load_trained(src)
        train, test = train_tensors(cfg), test_set(args.data_dir, cfg.limit_test)
    except DataError as exc:
        return fail(str(exc))
    extra = {"epochs": len(history), "train_images": len(train[0])}
    if history:
        extra["train_seconds"] = round(history[-1]["train_seconds"], 1)
    summary = export_model(
        model,
        cfg,
        dst,
        name=args.name or dst.stem,
        command=state.get("command") or "",
        train=train,
        test=test,
        extra=extra,
    )
    say(
        f"wrote {dst}: {summary['accuracy']:.4%} on {len(test[1]):,} test images, parity "
        f"{summary['parity']:.1e}, temperature {summary['temperature']:.3f}"
    )
    return 0
