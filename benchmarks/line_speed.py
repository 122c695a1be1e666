"""Time to read one line of 10 digits (``read``), with and without the field reader, in one run.

    DIGITREADER_DATA=../shared/data/mnist python benchmarks/line_speed.py [--count 100] [--baseline-src DIR]

The lines are generated rows of 10 MNIST *test* digits (``data.fields``, kind ``row``, seed 2028: ruled or
squared paper, touching digits, scraps of the rows above and below). Each is read from its PNG bytes, as a
user's file; the median and 90th percentile of the wall time per line, after one warm-up read, on 2 threads.
``--baseline-src`` (another checkout's ``src``) measures the same lines with that code, in a subprocess.
"""

from __future__ import annotations

import platform
import time

import cv2
import numpy as np
from baseline import compare

THREADS = 2


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


def measure(data_dir: str | None, count: int) -> dict:
    """Median and 90th percentile ms a line, and the share read exactly, for each reader."""
    from digitreader import Recognizer

    items = lines(count, data_dir)
    out = {}
    for name, field in (("digit reader + field reader (default)", "default"), ("digit reader alone", None)):
        r = Recognizer(threads=THREADS, field_model=field)
        r.read(items[0][0])
        times, right = [], 0
        for data, text in items:
            t0 = time.perf_counter()
            got = r.read(data).text
            times.append(1000 * (time.perf_counter() - t0))
            right += got == text
        out[name] = {"median": np.median(times), "p90": np.percentile(times, 90), "exact": right / len(items)}
    return out


def main() -> None:
    run = compare(__doc__, __file__, measure, 100)
    if run is None:
        return
    now, before, count = run
    print(f"# {platform.node()}, {time.strftime('%Y-%m-%d %H:%M')}, {count} lines of 10 digits, {THREADS} threads")
    print("| reader | median ms | p90 ms | exact |" + (" before: median ms | p90 ms | exact |" if before else ""))
    print("|---|---:|---:|---:|" + ("---:|---:|---:|" if before else ""))
    for name, m in now.items():
        row = f"| {name} | {m['median']:.1f} | {m['p90']:.1f} | {100 * m['exact']:.0f}% |"
        if before:
            b = before[name]
            row += f" {b['median']:.1f} | {b['p90']:.1f} | {100 * b['exact']:.0f}% |"
        print(row)


if __name__ == "__main__":
    main()
