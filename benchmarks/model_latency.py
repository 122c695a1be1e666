"""CPU inference time per image of the bundled ONNX models through ONNX Runtime.

Batch of one (a person drawing) and batches of 64 (a folder of scans), with one and two
intra-op threads; the median over many calls after warm-up. A packed model is timed twice: its whole graph
(what ``predict`` runs: the digit model and the "not a digit" networks) and its digit network alone (what
``read`` runs on its candidate pieces). Everything is measured in one
run, so the rows compare with each other even on a shared machine.

    python benchmarks/model_latency.py [--models default] [--runs 2000] [--baseline-dir OTHER/assets/models]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import date
from pathlib import Path

import onnxruntime as ort

from digitreader.engine import bundled_models_dir
from digitreader.training.latency import onnx_latency_ms


def packed_params(card: dict) -> list[int]:
    """The parameters of each "not a digit" network packed beside the digit model (each gate of an average)."""
    nets = []
    for key in ("reject_model", "gate_model"):
        packed = card.get(key, {})
        nets += [m["params"] for m in packed.get("average_of", [packed]) if "params" in m]
    return nets


def listed(nets: list[int]) -> str:
    """Parameter counts as a sum: '1,000 + 2,000'."""
    return " + ".join(f"{n:,}" for n in nets)


def rows(folder: Path, name: str) -> list[tuple[Path, bool, str, str]]:
    """(model file, whole graph?, what it is, its networks' parameters) to time for the model ``name``."""
    card = json.loads((folder / f"{name}.json").read_text())
    path = folder / f"{name}.onnx"
    if "logits_model" not in card:
        return [(path, False, "logits", listed([card["params"]]))]
    nets = packed_params(card)
    out = [
        (path, True, "all (predict)", listed([card["params"], *nets])),
        (path, False, "logits (read's pieces)", listed([card["params"]])),
    ]
    if "scores_model" in card:  # what a tiny image runs of the packed graph, beside the model of tiny images
        out.append((folder / card["scores_model"]["model"], True, "scores (tiny images)", listed(nets)))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cards = sorted(m.stem for m in bundled_models_dir().glob("*.json"))  # the logits-only cut has no card of its own
    p.add_argument("--models", default=",".join(cards))
    p.add_argument("--runs", type=int, default=2000)
    p.add_argument("--baseline-dir", type=Path, help="another checkout's assets/models: its models timed alongside")
    args = p.parse_args()
    print(
        f"{date.today()}  {platform.processor() or platform.machine()}  {os.cpu_count()} CPUs  "
        f"onnxruntime {ort.__version__}"
    )
    print("| models | model | outputs | params | batch | threads | ms per image |")
    print("|---|---|---|---|---|---|---|")
    folders = {"bundled": bundled_models_dir(), **({"baseline": args.baseline_dir} if args.baseline_dir else {})}
    for name in args.models.split(","):
        for which, folder in folders.items():
            for onnx_path, whole, outputs, nets in rows(folder, name):
                for batch in (1, 64):
                    for threads in (1, 2):
                        runs = args.runs if batch == 1 else max(50, args.runs // 20)
                        ms = onnx_latency_ms(onnx_path, batch=batch, runs=runs, threads=threads, whole=whole)
                        print(f"| {which} | {name} | {outputs} | {nets} | {batch} | {threads} | {ms:.3f} |", flush=True)


if __name__ == "__main__":
    main()
