"""Which tiny images should the model of tiny images read? Both models on development data, by image size.

Every image is prepared once (``vision.preprocess.locate``); the digit model and the model of tiny images
(``assets/models/tiny.onnx``) classify it; each column T routes the images that the tiny-image path read and
whose longest side is at most T px to the tiny model. Development data only: every third real-dev CVL digit,
the first 3,000 MNIST test digits at 8, 12 and 16 px, stretched to fill 16x16, as 28x28 scans (black on white),
and scikit-learn's 8x8 digits. Without the "not a digit" threshold or the line reader's second opinion.

    DIGITREADER_DATA=../shared/data/mnist python benchmarks/tiny_routing.py
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np

from digitreader import Recognizer
from digitreader.data import load_mnist
from digitreader.engine import bundled_models_dir
from digitreader.errors import NoDigitError
from digitreader.runtime import open_session
from digitreader.vision.preprocess import locate

sys.path.insert(0, os.path.dirname(__file__))
from real_accuracy import CVL, fill

SIDES = (12, 16, 20, 28, 32)


def dev_sets(data_dir: str | None) -> dict[str, tuple[list[np.ndarray], np.ndarray]]:
    sets = {}
    files = sorted(Path(os.environ.get("DIGITREADER_REAL_DEV", CVL.parent), "cvl-digits").glob("*/*.png"))[::3]
    if files:
        sets["cvl (1 in 3)"] = ([cv2.imread(str(f), 0) for f in files], np.array([int(f.name[0]) for f in files]))
    x, y = load_mnist("test", data_dir, download=False)
    x, y = x[:3000], y[:3000]
    for side in (8, 12, 16):
        sets[f"mnist-{side}"] = ([cv2.resize(a, (side, side), interpolation=cv2.INTER_AREA) for a in x], y)
    sets["fill-16"] = ([fill(a, 16) for a in x], y)
    sets["mnist-28 scans"] = ([255 - a for a in x], y)
    try:
        from sklearn.datasets import load_digits

        d = load_digits()
        sets["sklearn-8"] = ([np.rint(a * 255 / 16).astype(np.uint8) for a in d.images], d.target)
    except ImportError:
        print("sklearn-8: skipped (scikit-learn is not installed)")
    return sets


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("DIGITREADER_DATA"))
    p.add_argument("--tiny-model", default=str(bundled_models_dir() / "tiny.onnx"))
    args = p.parse_args()
    digits = Recognizer("default", line_model=None, field_model=None)
    tiny = open_session(Path(args.tiny_model), None)
    print("| set | n | digit model | tiny model | " + " | ".join(f"tiny up to {t} px" for t in SIDES) + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(SIDES))
    for name, (images, labels) in dev_sets(args.data_dir).items():
        arrays, sides = [], []
        for a in images:
            try:
                found = locate(a)
                arrays.append(found.array)
                sides.append(found.tiny_side or 10**6)
            except NoDigitError:
                arrays.append(np.zeros((28, 28), np.float32))
                sides.append(10**6)
        x = np.stack(arrays).astype(np.float32)[:, None]
        by_digits = digits.logits(x).argmax(1)
        by_tiny = tiny.run(["logits"], {"image": x})[0].argmax(1)
        cells = [np.mean(np.where(np.array(sides) <= t, by_tiny, by_digits) == labels) for t in SIDES]
        row = [
            str(len(labels)),
            *(f"{100 * v:.2f}%" for v in (np.mean(by_digits == labels), np.mean(by_tiny == labels), *cells)),
        ]
        print(f"| {name} | " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
