"""Run every benchmark of BENCHMARKS.md, one after the other, and keep each one's output.

    python benchmarks/run_all.py [--quick] [--only NAME ...] [--out bench-output]

Benchmarks run in sequence (never side by side: on a shared 2-core machine they would slow
each other down). Each one's output goes to the terminal and to ``OUT/NAME.txt``. ``--quick``
runs smaller versions that finish in a few minutes (figures for BENCHMARKS.md come from the
full runs). The MNIST files are found as everywhere else: ``$DIGITREADER_DATA``, then the cache.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name: (full arguments, quick arguments)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "model_latency": ([], ["--runs", "200"]),
    "preprocess_speed": ([], ["--repeat", "5"]),
    "vision_accuracy": ([], ["--count", "100", "--tesseract-count", "30"]),
    "digit_errors": ([], ["--count", "100", "--pen-count", "300"]),
    "tight_crops": ([], ["--count", "10"]),
    "page_clutter": ([], ["--count", "5"]),
    "second_opinion": ([], ["--timing-calls", "100"]),
    "load": ([], ["--clients", "1", "16", "--seconds", "2"]),
    "video_fps": ([], ["--seconds", "5", "--repeat", "1"]),
    "train_speed": (["--seeds", "3"], ["--seeds", "1"]),
    "ray_scaling": ([], ["--images", "200", "--rounds", "1"]),
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller runs that finish in minutes")
    p.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    p.add_argument("--out", type=Path, default=Path("bench-output"), help="folder for each benchmark's output")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in args.only or BENCHMARKS:
        full, quick = BENCHMARKS[name]
        command = [sys.executable, str(HERE / f"{name}.py"), *(quick if args.quick else full)]
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        print(f"\n=== {name}  ({stamp})\n$ {' '.join(command)}", flush=True)
        t0 = time.perf_counter()
        with open(args.out / f"{name}.txt", "w") as log:
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            assert proc.stdout is not None
            for line in proc.stdout:
                sys.stdout.write(line)
                log.write(line)
            code = proc.wait()
        print(f"=== {name}: exit {code} after {time.perf_counter() - t0:.0f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
