"""CPU inference time per image of the bundled ONNX models through ONNX Runtime.

Batch of one (a person drawing) and batches of 64 (a folder of scans), with one and two
intra-op threads; the median over many calls after warm-up. Everything is measured in one
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(sorted(m.stem for m in bundled_models_dir().glob("*.onnx"))))
    p.add_argument("--runs", type=int, default=2000)
    args = p.parse_args()
    print(
        f"{date.today()}  {platform.processor() or platform.machine()}  {os.cpu_count()} CPUs  "
        f"onnxruntime {ort.__version__}"
    )
    print("| model | params | batch | threads | ms per image |")
    print("|---|---|---|---|---|")
    for name in args.models.split(","):
        card = json.loads((bundled_models_dir() / f"{name}.json").read_text())
        for batch in (1, 64):
            for threads in (1, 2):
                runs = args.runs if batch == 1 else max(50, args.runs // 20)
                ms = onnx_latency_ms(bundled_models_dir() / f"{name}.onnx", batch=batch, runs=runs, threads=threads)
                print(f"| {name} | {card['params']:,} | {batch} | {threads} | {ms:.3f} |", flush=True)


if __name__ == "__main__":
    main()
