"""MNIST test accuracy and latency of a single digit: the digit model alone, and with the line reader's opinion.

``Recognizer.predict_array`` with the line reader on (the default) multiplies the digit model's
probabilities by the CTC line reader's, raised to ``SECOND_OPINION``; ``line_model=None`` is
the digit model alone. Both on the 10,000 official MNIST test digits, in one run, and the median
time of one call (the canvas path of the web app).

    DIGITREADER_DATA=../shared/data/mnist python benchmarks/second_opinion.py [--model X.onnx] [--line-model L.onnx]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from digitreader import Recognizer
from digitreader.data import load_mnist
from digitreader.vision.line_reader import SECOND_OPINION


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("DIGITREADER_DATA"))
    p.add_argument("--timing-calls", type=int, default=500)
    p.add_argument("--model", default="default", help="digit model: 'default' (bundled) or an .onnx file")
    p.add_argument("--line-model", default="default", help="line reader: 'default' (bundled) or an .onnx file")
    args = p.parse_args()
    images, labels = load_mnist("test", args.data_dir, download=False)
    x = images.astype(np.float32) / 255
    print(f"model {args.model}; weight {SECOND_OPINION}; {len(x)} MNIST test digits")
    alone, both = Recognizer(args.model, line_model=None), Recognizer(args.model, line_model=args.line_model)
    for name, r in (("digit model alone", alone), ("with the line reader", both)):
        digits = np.array([r.predict_array(a).digit for a in x])
        wrong = int((digits != labels).sum())
        times = []
        for a in x[: args.timing_calls]:
            t = time.perf_counter()
            r.predict_array(a)
            times.append(time.perf_counter() - t)
        ms = 1000 * float(np.median(times))
        print(f"{name:22s} {100 * (1 - wrong / len(x)):.2f}%  ({wrong} mistakes)  {ms:.2f} ms per call")


if __name__ == "__main__":
    main()
