"""Time to read one line of 10 digits (``read``), with and without the field reader, in one run.

    DIGITREADER_DATA=../shared/data/mnist python benchmarks/line_speed.py [--count 100] [--threads 2]

The lines are generated rows of 10 MNIST *test* digits (``data.fields``, kind ``row``, seed 2028: ruled or
squared paper, touching digits, scraps of the rows above and below). Each is read from its PNG bytes, as a
user's file; the median and 90th percentile of the wall time per line, after one warm-up read.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import cv2
import numpy as np


def lines(count: int, data_dir: str | None) -> list[tuple[bytes, str]]:
    from digitreader.data import load_mnist
    from digitreader.data.fields import Digits, field_sample

    x, y = load_mnist("test", data_dir, download=False)
    digits = Digits(x, y)
    out = []
    i = 0
    while len(out) < count:
        rng = np.random.default_rng([2028, i])
        i += 1
        image, text, _ = field_sample(digits, rng, "row")
        if len(text) == 10:
            out.append((cv2.imencode(".png", image)[1].tobytes(), text))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data-dir", default=os.environ.get("DIGITREADER_DATA"))
    args = p.parse_args()
    from digitreader import Recognizer

    items = lines(args.count, args.data_dir)
    print(f"# {platform.node()}, {time.strftime('%Y-%m-%d %H:%M')}, {len(items)} lines of 10 digits")
    print("| reader | median ms | p90 ms | exact |")
    print("|---|---:|---:|---:|")
    for name, field in (("digit reader + field reader (default)", "default"), ("digit reader alone", None)):
        r = Recognizer(threads=args.threads, field_model=field)
        r.read(items[0][0])
        times, right = [], 0
        for data, text in items:
            t0 = time.perf_counter()
            got = r.read(data).text
            times.append(1000 * (time.perf_counter() - t0))
            right += got == text
        print(f"| {name} | {np.median(times):.1f} | {np.percentile(times, 90):.1f} | {100 * right / len(items):.0f}% |")


if __name__ == "__main__":
    main()
