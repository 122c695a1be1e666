"""Single digits cropped tightly to their ink, under uneven light: pen widths x margins, dark and light ink.

A user who crops a photo to one digit hands over a frame that the digit touches, with little or
no paper around it. With a bold pen the strokes are then as wide as the paper between them,
which is where the polarity cues are weakest. Each cell is ``--count`` MNIST test digits,
enlarged to 240 px, thickened by a disc of the given diameter (0 = MNIST's own stroke, about
21 px here), cropped to the ink plus the margin, lit 15% unevenly from left to right, with a
little sensor noise: dark ink on paper (225, ink 85% darker) or light ink on a dark board.
Prints the digits read right per cell, and the same with ``--baseline-src`` (another checkout's
``src`` folder, read in a subprocess) when given.

    DIGITREADER_DATA=../shared/data/mnist python benchmarks/tight_crops.py [--count 60] [--baseline-src DIR]
"""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np

THICK = (0, 9, 19)
MARGINS = (0, 3, 25)


def crops(images: np.ndarray, count: int, thick: int, margin: int, ink: str, seed: int = 0) -> list[np.ndarray]:
    """The tight crops of one cell (uint8 grey)."""
    rng = np.random.default_rng(seed)
    out = []
    for a in images[100 : 100 + count]:
        big = cv2.resize(a, (240, 240), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
        if thick:
            big = cv2.dilate(big, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (thick, thick)))
        ys, xs = np.nonzero(big > 0.3)
        crop = np.pad(big[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1], margin)
        light = 0.85 + 0.15 * np.linspace(0, 1, crop.shape[1])[None, :]
        page = 225 * (1 - 0.85 * crop) if ink == "dark" else 50 + 170 * crop
        out.append(np.clip(page * light + rng.normal(0, 3, crop.shape), 0, 255).astype(np.uint8))
    return out


def measure(data_dir: str | None, count: int) -> dict[str, int]:
    from digitreader import Recognizer
    from digitreader.data import load_mnist

    images, labels = load_mnist("test", data_dir, download=False)
    r = Recognizer()
    right = {}
    for ink in ("dark", "light"):
        for thick in THICK:
            for margin in MARGINS:
                got = np.array([r.predict(c).digit for c in crops(images, count, thick, margin, ink)])
                right[f"{ink}/{thick}/{margin}"] = int((got == labels[100 : 100 + len(got)]).sum())
    return right


def main() -> None:
    sys.path.insert(0, os.path.dirname(__file__))
    from baseline import compare

    result = compare(__doc__, __file__, measure, count=60)
    if result is None:
        return
    now, before, count = result
    print(f"| ink | pen thickening (px) | margin 0 px | margin 3 px | margin 25 px |  ({count} digits per cell)")
    print("|---|---:|---:|---:|---:|")
    for ink in ("dark", "light"):
        for thick in THICK:
            cells = []
            for margin in MARGINS:
                key = f"{ink}/{thick}/{margin}"
                cells.append(f"{before[key]} -> {now[key]}" if before else str(now[key]))
            print(f"| {ink} | {thick} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
