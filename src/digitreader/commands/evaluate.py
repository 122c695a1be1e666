"""Evaluate a model on the official MNIST test set (10,000 images).

MODEL is a bundled model name (default), an .onnx file (run by ONNX Runtime, no torch
needed) or a PyTorch checkpoint (model.pt / last.pt, needs the [train] extra). Writes
metrics.json, confusion.png and misclassified.png to --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from digitreader.commands.common import add_data_dir, fail, out, print_table, require_torch, say
from digitreader.training.scoring import model_probs

HELP = "evaluate a model on the MNIST test set: metrics, confusion matrix, mistakes"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", nargs="?", default="default", help="bundled model name, .onnx file, or .pt checkpoint")
    add_data_dir(p)
    p.add_argument("--out", default=None, help="report folder (default: runs/eval-MODEL)")
    p.add_argument("--limit", type=int, help="evaluate on the first N test images only")
    p.add_argument("--min-accuracy", type=float, help="exit with status 1 when accuracy is below this (0-1)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    import json

    from digitreader.data import DataError, load_mnist
    from digitreader.errors import ModelError
    from digitreader.training.metrics import Evaluation, write_report

    try:
        images, labels = load_mnist("test", args.data_dir)
    except DataError as exc:
        return fail(str(exc))
    if args.limit:
        images, labels = images[: args.limit], labels[: args.limit]
    if args.model.endswith((".pt", ".pth")):
        require_torch()
    try:
        probs = model_probs(args.model, images)
    except ModelError as exc:
        return fail(str(exc))
    ev = Evaluation(labels.astype(np.int64), probs)
    name = Path(args.model).stem
    folder = Path(args.out or f"runs/eval-{name}")
    paths = write_report(images, ev, folder, model_name=name)
    if args.json:
        out.print_json(json.dumps({k: v for k, v in ev.to_dict().items() if k != "misclassified"}))
    else:
        rows = [
            [str(r["digit"]), f"{r['precision']:.4f}", f"{r['recall']:.4f}", f"{r['f1']:.4f}", str(r["support"])]
            for r in ev.per_class()
        ]
        print_table(["digit", "precision", "recall", "F1", "support"], rows, title=f"{name} on MNIST test")
        say(f"accuracy {ev.accuracy:.4%} ({len(ev.errors)} errors in {len(labels):,} images)")
    say("report: " + ", ".join(str(p) for p in paths.values()), stderr=True)
    if args.min_accuracy is not None and ev.accuracy < args.min_accuracy:
        return fail(f"accuracy {ev.accuracy:.4%} is below the required {args.min_accuracy:.2%}", code=1)
    return 0
