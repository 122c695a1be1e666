"""A sheet on a desk against the same sheet cropped: ``read`` exact numbers, now and (optionally) before.

    DIGITREADER_DATA=../shared/data/mnist python benchmarks/desk_accuracy.py --count 300 --seed 0 \
        [--baseline-src /tmp/base/src]

The set (``digitreader.data.desk``, MNIST **test** digits) is written once to a temporary folder
by this checkout's code; then this checkout and, with ``--baseline-src``, another checkout's
``src`` (in a subprocess) read the same files. Thresholds were chosen on seed 123; report seed 0.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path


def read_all(folder: Path) -> dict[str, str]:
    """file -> text read, for every image listed in ``folder/labels.csv`` (desk and sheet)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from digitreader.engine import Recognizer

    recognizer = Recognizer("default", threads=1)
    out: dict[str, str] = {}
    with open(folder / "labels.csv") as fh:
        for row in csv.DictReader(fh):
            for name in (row["file"], row["sheet"]):
                try:
                    out[name] = recognizer.read(folder / name).text
                except Exception as exc:  # an error is a miss, shown by its message
                    out[name] = f"error: {exc}"
    return out


def score(folder: Path, texts: dict[str, str]) -> dict[str, tuple[int, int]]:
    """(right, total) for the sheets alone, on desks, and per desk kind."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    with open(folder / "labels.csv") as fh:
        for row in csv.DictReader(fh):
            for key, name in (("sheet alone", row["sheet"]), ("on a desk", row["file"])):
                keys = [key] + ([f"  desk: {row['desk']}"] if key == "on a desk" else [])
                for k in keys:
                    tally[k][0] += texts[name] == row["label"]
                    tally[k][1] += 1
    return {k: (v[0], v[1]) for k, v in sorted(tally.items(), key=lambda kv: (not kv[0][0].isalpha(), kv[0]))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("DIGITREADER_DATA"))
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--baseline-src", help="another checkout's src folder, reading the same files")
    p.add_argument("--read-dir", help=argparse.SUPPRESS)  # the baseline's subprocess: read this set, print JSON
    p.add_argument("--keep", metavar="DIR", help="write the set here and keep it (default: a temporary folder)")
    args = p.parse_args()
    if args.read_dir:
        print(json.dumps(read_all(Path(args.read_dir))))
        return
    from digitreader.data.desk import write_desk_set
    from digitreader.data.synthetic import _mnist_test

    images, labels = _mnist_test(args.data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        write_desk_set(folder, images, labels, args.count, args.seed)
        start = time.perf_counter()
        now = read_all(folder)
        seconds = time.perf_counter() - start
        before = None
        if args.baseline_src:
            env = {**os.environ, "PYTHONPATH": args.baseline_src}
            cmd = [sys.executable, __file__, "--read-dir", str(folder)]
            before = json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)
        rows_now = score(folder, now)
        rows_before = score(folder, before) if before else None
    print(f"seed {args.seed}, {args.count} sheets; {1000 * seconds / (2 * args.count):.0f} ms per image now")
    print(f"| set | n | now |{' before |' if rows_before else ''}")
    print(f"|---|---:|---:|{'---:|' if rows_before else ''}")
    for key, (right, total) in rows_now.items():
        cells = [key, str(total), f"{right / total:.2%}"]
        if rows_before:
            cells.append(f"{rows_before[key][0] / total:.2%}")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
