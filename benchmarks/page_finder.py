"""The page finder alone: how often it finds the sheet on a desk (IoU with the truth > 0.9), how often it finds a
"sheet" in a picture that is all paper, and what it costs per frame; this checkout and another, in one run.

    DIGITREADER_DATA=../shared/data/mnist python benchmarks/page_finder.py --count 300 --seed 0 \
        [--baseline-src /tmp/base/src]

The pictures are ``data.desk``'s (MNIST **test** digits): each sheet on a desk (640x480 to 1280x960) and the same
sheet alone. Both checkouts' ``vision.page.find_sheet`` see the same uint8 RGB arrays, one thread each.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

FOUND_IOU = 0.9


def measure(folder: Path) -> dict:
    """Per picture of ``folder`` (as written by ``write_desk_set``): the corners found (or None) and the seconds."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    cv2.setNumThreads(1)
    from digitreader.vision.page import find_sheet

    out: dict[str, dict] = {}
    for path in sorted(folder.glob("*/*.png")):
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        find_sheet(rgb)  # the first call opens what it needs
        start = time.perf_counter()
        corners = find_sheet(rgb)
        seconds = time.perf_counter() - start
        name = f"{path.parent.name}/{path.name}"
        out[name] = {"corners": None if corners is None else corners.tolist(), "seconds": seconds}
    return out


def _iou(a: np.ndarray, b: np.ndarray, shape: tuple[int, int]) -> float:
    ma, mb = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    cv2.fillPoly(ma, [np.round(a).astype(np.int32)], 1)
    cv2.fillPoly(mb, [np.round(b).astype(np.int32)], 1)
    return float((ma & mb).sum() / max((ma | mb).sum(), 1))


def score(folder: Path, found: dict) -> dict[str, str]:
    """Sheets found on a desk (all and per desk), sheets 'found' in sheets alone, and the median time."""
    import csv

    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    with open(folder / "labels.csv") as fh:
        for row in csv.DictReader(fh):
            truth = np.array([float(v) for v in row["corners"].split()], np.float32).reshape(4, 2)
            shape = cv2.imread(str(folder / row["file"]), cv2.IMREAD_GRAYSCALE).shape
            got = found[row["file"]]["corners"]
            hit = got is not None and _iou(np.array(got), truth, shape) > FOUND_IOU
            for key in ("sheet found on a desk", f"  desk: {row['desk'].split()[0]}"):
                tally[key][0] += hit
                tally[key][1] += 1
            tally["a sheet 'found' in the sheet alone"][0] += found[row["sheet"]]["corners"] is not None
            tally["a sheet 'found' in the sheet alone"][1] += 1
    rows = {k: f"{a / b:.1%} ({a}/{b})" for k, (a, b) in sorted(tally.items(), key=lambda kv: kv[0].startswith(" "))}
    desk = [v["seconds"] for k, v in found.items() if k.startswith("desk/")]
    rows["ms per desk picture (median)"] = f"{1000 * float(np.median(desk)):.1f}"
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("DIGITREADER_DATA"))
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--baseline-src", help="another checkout's src folder, measured on the same pictures")
    p.add_argument("--measure-dir", help=argparse.SUPPRESS)  # the baseline's subprocess: measure, print JSON
    args = p.parse_args()
    if args.measure_dir:
        print(json.dumps(measure(Path(args.measure_dir))))
        return
    from digitreader.data.desk import write_desk_set
    from digitreader.data.synthetic import _mnist_test

    images, labels = _mnist_test(args.data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_desk_set(folder, images, labels, args.count, args.seed)
        runs = {"now": score(folder, measure(folder))}
        if args.baseline_src:
            env = {**os.environ, "PYTHONPATH": args.baseline_src}
            cmd = [sys.executable, __file__, "--measure-dir", str(folder)]
            done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
            runs["before"] = score(folder, json.loads(done.stdout))
    print(f"seed {args.seed}, {args.count} sheets on desks and alone")
    print("| page finder | " + " | ".join(runs) + " |")
    print("|---|" + "---:|" * len(runs))
    for key in runs["now"]:
        print(f"| {key} | " + " | ".join(r[key] for r in runs.values()) + " |")


if __name__ == "__main__":
    main()
