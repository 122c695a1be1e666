"""How well digit models read the pieces of touching digits cut apart as ``read`` cuts them.

Held-out pairs of MNIST *training* digits (``data.groups.piece_sample``, seed 99 by default: not
the seed 1 that ``digitreader train --pipeline-pieces`` uses), written, photographed, found
and cut; only the pieces of the right cut count here (labels 0-9). Each model reads all of them.

    DIGITREADER_DATA=../shared/data/mnist python benchmarks/piece_accuracy.py default runs/X/model.onnx
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from digitreader import Recognizer
from digitreader.data import load_mnist
from digitreader.data.groups import piece_sample


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", help="'default' (bundled) or .onnx files")
    p.add_argument("--pairs", type=int, default=3000)
    p.add_argument("--seed", type=int, default=99)
    p.add_argument("--data-dir", default=os.environ.get("DIGITREADER_DATA"))
    args = p.parse_args()
    images, labels = load_mnist("train", args.data_dir, download=False)
    pieces = [p for i in range(args.pairs) for p in piece_sample(images, labels, np.random.default_rng([args.seed, i]))]
    pieces = [(piece, k) for piece, k in pieces if k >= 0]  # the right cut's two pieces, not what is no digit
    # Stored as uint8, as the training data is.
    x = np.stack([np.round(piece * 255) for piece, _ in pieces]).astype(np.float32) / 255
    y = np.array([k for _, k in pieces])
    print(f"{len(y)} pieces of {args.pairs} touching pairs (seed {args.seed})")
    for m in args.models:
        wrong = int((Recognizer(m, line_model=None).classify(x).argmax(1) != y).sum())
        print(f"{m:40s} {100 * (1 - wrong / len(y)):.2f}%  ({wrong} errors)")


if __name__ == "__main__":
    main()
