"""CPU inference time per image of the bundled ONNX models through ONNX Runtime.

Batch of one (a person drawing) and batches of 64 (a folder of scans), with one and two
intra-op threads; the median over many calls after warm-up. A packed model is timed twice: its whole graph
(what ``predict`` runs: the digit model and the "not a digit" networks) and its digit network alone (what
``read`` runs on its candidate pieces). Everything is measured in one
run, so the rows compare with each other even on a shared machine.

    python benchmarks/model_latency.py [--models default] [--runs 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import date

import onnxruntime as ort

from digitreader.engine import bundled_models_dir
from digitreader.training.latency import onnx_latency_ms


def params(card: dict) -> str:
    """The parameters of each network in the graph: the digit model's, then those packed beside it."""
    nets = [card["params"]]
    for key in ("reject_model", "gate_model"):
        packed = card.get(key, {})
        nets += [m["params"] for m in packed.get("average_of", [packed]) if "params" in m]
    return " + ".join(f"{n:,}" for n in nets)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cards = sorted(m.stem for m in bundled_models_dir().glob("*.json"))  # the logits-only cut has no card of its own
    p.add_argument("--models", default=",".join(cards))
    p.add_argument("--runs", type=int, default=2000)
    args = p.parse_args()
    print(
        f"{date.today()}  {platform.processor() or platform.machine()}  {os.cpu_count()} CPUs  "
        f"onnxruntime {ort.__version__}"
    )
    print("| model | outputs | params | batch | threads | ms per image |")
    print("|---|---|---|---|---|---|")
    for name in args.models.split(","):
        card = json.loads((bundled_models_dir() / f"{name}.json").read_text())
        path = bundled_models_dir() / f"{name}.onnx"
        packed = "logits_model" in card
        rows = [
            (path, True, "all (predict)", params(card)),
            (path, False, "logits (read's pieces)", f"{card['params']:,}"),
        ]
        if not packed:
            rows = [(path, False, "logits", f"{card['params']:,}")]
        elif "scores_model" in card:  # what a tiny image runs of the packed graph, beside the model of tiny images
            nets = params(card).split(" + ", 1)[1]
            rows.append((bundled_models_dir() / card["scores_model"]["model"], True, "scores (tiny images)", nets))
        for onnx_path, whole, outputs, nets in rows:
            for batch in (1, 64):
                for threads in (1, 2):
                    runs = args.runs if batch == 1 else max(50, args.runs // 20)
                    ms = onnx_latency_ms(onnx_path, batch=batch, runs=runs, threads=threads, whole=whole)
                    print(f"| {name} | {outputs} | {nets} | {batch} | {threads} | {ms:.3f} |", flush=True)


if __name__ == "__main__":
    main()
