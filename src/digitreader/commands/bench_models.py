"""Train and evaluate the model zoo side by side on MNIST, in one table.

For each model: train with its recipe (training/recipes.py), export to ONNX, evaluate on
the 10,000 official test images, and time CPU inference per image through ONNX Runtime
(batch of one, median). Classic baselines (k-NN, SVM) come from scikit-learn. The bundled
default model is listed with the figures from its model card. Results: a table, plus
results.json and results.md in --out.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from digitreader.commands.common import add_data_dir, fail, print_table, require_torch, say

HELP = "train and evaluate the model zoo side by side"
DEFAULT_MODELS = "mlp,lenet5,cnn2,cnn3,swift,knn,svm,default"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--models",
        default=DEFAULT_MODELS,
        help="comma-separated: zoo names (trained), knn/svm baselines, 'default' (the bundled model)",
    )
    p.add_argument("--list", action="store_true", help="list the registered architectures and exit")
    p.add_argument("--epochs", type=int, help="override every recipe's number of epochs")
    p.add_argument("--tiny", action="store_true", help="a quick check: 2,000 train / 1,000 test images, 1 epoch")
    p.add_argument("--reuse", action="store_true", help="reuse a model already trained in --out with the same recipe")
    p.add_argument("--out", default="runs/bench", help="folder for the runs and the results")
    p.add_argument("--threads", type=int, help="CPU threads for training")
    add_data_dir(p)


def _list() -> int:
    from digitreader.models import count_params, create_model, list_models

    rows = [
        [spec.name, f"{count_params(create_model(spec.name)):,}", spec.origin, spec.description]
        for spec in list_models()
    ]
    print_table(["name", "params", "origin", "description"], rows)
    return 0


def _row_from_card(name: str, card: dict, onnx_path: Path, acc: float) -> dict:
    from digitreader.training.latency import onnx_latency_ms

    return {
        "model": name,
        "params": card.get("params"),
        "test_accuracy": acc,
        "train_seconds": card.get("train_seconds"),
        "epochs": card.get("epochs"),
        "ms_per_image": onnx_latency_ms(onnx_path),
        "origin": card.get("architecture", ""),
    }


def _zoo_row(name: str, args: argparse.Namespace, images, labels) -> dict:  # type: ignore[no-untyped-def]
    from digitreader.training.metrics import Evaluation
    from digitreader.training.pipeline import train_and_export
    from digitreader.training.recipes import recipe_for
    from digitreader.training.scoring import model_probs

    cfg = replace(recipe_for(name), data_dir=args.data_dir, out_dir=str(Path(args.out) / name), threads=args.threads)
    if args.epochs:
        cfg = replace(cfg, epochs=args.epochs)
    if args.tiny:
        cfg = replace(cfg, limit_train=2000, limit_test=1000, epochs=1)
    onnx_path = Path(cfg.out_dir) / "model.onnx"
    card_path = onnx_path.with_suffix(".json")
    reusable = args.reuse and card_path.is_file() and json.loads(card_path.read_text()).get("recipe") == cfg.to_dict()
    if not reusable:
        say(f"{name}: training {cfg.epochs} epochs", stderr=True)
        train_and_export(cfg, command=f"digitreader train --model {name} --epochs {cfg.epochs}", show_progress=True)
    card = json.loads(card_path.read_text())
    acc = Evaluation(labels, model_probs(str(onnx_path), images)).accuracy
    return _row_from_card(name, card, onnx_path, acc)


def run(args: argparse.Namespace) -> int:
    if args.list:
        require_torch()
        return _list()
    import numpy as np

    from digitreader.data import DataError, load_mnist
    from digitreader.engine import resolve_model
    from digitreader.training.baselines import BASELINES

    names = [n.strip() for n in args.models.split(",") if n.strip()]
    try:
        x_train, y_train = load_mnist("train", args.data_dir)
        images, labels = load_mnist("test", args.data_dir)
    except DataError as exc:
        return fail(str(exc))
    if args.tiny:
        x_train, y_train, images, labels = x_train[:2000], y_train[:2000], images[:1000], labels[:1000]
    labels = labels.astype(np.int64)
    rows = []
    for name in names:
        if name in BASELINES:
            say(f"{name}: fitting", stderr=True)
            r = BASELINES[name](x_train, y_train, images, labels)
            rows.append(
                {
                    "model": r.name,
                    "params": r.params,
                    "test_accuracy": r.accuracy,
                    "train_seconds": r.train_seconds,
                    "epochs": None,
                    "ms_per_image": r.ms_per_image,
                    "origin": r.description,
                }
            )
        elif name == "default":
            from digitreader.training.metrics import Evaluation
            from digitreader.training.scoring import model_probs

            path = resolve_model("default")
            card = json.loads(path.with_suffix(".json").read_text())
            acc = Evaluation(labels, model_probs(str(path), images)).accuracy
            rows.append(_row_from_card("default (bundled)", card, path, acc))
        else:
            require_torch()
            rows.append(_zoo_row(name, args, images, labels))
    cells = [
        [
            r["model"],
            f"{r['params']:,}" if r["params"] else "-",
            f"{r['test_accuracy']:.2%}",
            f"{r['train_seconds']:.0f} s" if r["train_seconds"] is not None else "-",
            f"{r['ms_per_image']:.3f}",
            str(r["origin"]),
        ]
        for r in rows
    ]
    columns = ["model", "params", "test accuracy", "train time", "CPU ms/image", "notes"]
    print_table(columns, cells, title=f"MNIST test ({len(labels):,} images)")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    (Path(args.out) / "results.md").write_text(_markdown(rows))
    say(f"results: {Path(args.out) / 'results.md'}", stderr=True)
    return 0


def _markdown(rows: list[dict]) -> str:
    lines = ["| model | params | test accuracy | training time | CPU ms/image | notes |", "|---|---|---|---|---|---|"]
    for r in rows:
        secs = f"{r['train_seconds']:.0f} s" if r["train_seconds"] is not None else "-"
        params = f"{r['params']:,}" if r["params"] else "-"
        lines.append(
            f"| {r['model']} | {params} | {r['test_accuracy']:.2%} | {secs} | {r['ms_per_image']:.3f} | {r['origin']} |"
        )
    return "\n".join(lines) + "\n"
