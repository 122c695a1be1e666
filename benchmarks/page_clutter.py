"""Digits on a page that holds other things too: a pen laid beside them, a stain, a thumb, printed text.

Real photos of a written digit are seldom of the digit alone. Each scene is ``--count`` single
MNIST test digits (``predict``) or 4-digit numbers (``read``), written dark on paper lit
unevenly, 600x800, with sensor noise, and one other thing on the page:

- clean: nothing else;
- pen: a pen (an 18-px dark bar with soft edges) laid below the writing, tilted 5 degrees;
- stain: a soft round stain, 120 px across and 25% darker than the paper, away from the writing;
- thumb: the shadow of a thumb in the corner;
- header: two lines of small printed text at the top;
- blot: a small ink blot (30 px) away from the writing.

Prints the digits (numbers) read right per scene, and the same with ``--baseline-src`` (another
checkout's ``src`` folder) when given.

    DIGITREADER_DATA=../shared/data/mnist python benchmarks/page_clutter.py [--count 30] [--baseline-src DIR]
"""

from __future__ import annotations

import contextlib
import os
import sys

import cv2
import numpy as np

SCENES = ("clean", "pen", "stain", "thumb", "header", "blot")
H, W = 600, 800


def _clutter(page: np.ndarray, scene: str) -> np.ndarray:
    """``page`` (float grey) with the scene's other thing on it."""
    other = np.zeros((H, W), np.float32)
    if scene == "pen":
        cv2.line(other, (100, 520), (600, 560), 1.0, 18)
        return page * (1 - 0.75 * cv2.GaussianBlur(other, (0, 0), 2))
    if scene == "stain":
        cv2.circle(other, (150, 150), 60, 1.0, -1)
        return page * (1 - 0.25 * cv2.GaussianBlur(other, (0, 0), 15))
    if scene == "thumb":
        cv2.ellipse(other, (780, 600), (160, 110), -30, 0, 360, 1.0, -1)
        return page * (1 - 0.6 * cv2.GaussianBlur(other, (0, 0), 8))
    if scene == "header":
        text = np.zeros((H, W), np.uint8)
        for y in (40, 70):
            cv2.putText(text, "Name: ______  Date: 12/01", (30, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 255, 1, cv2.LINE_AA)
        return page * (1 - 0.7 * text / 255)
    if scene == "blot":
        cv2.circle(other, (650, 450), 15, 1.0, -1)
        return page * (1 - 0.7 * cv2.GaussianBlur(other, (0, 0), 2))
    return page


def scene(digits: list[np.ndarray], name: str, rng: np.random.Generator) -> np.ndarray:
    """The digits written 84 px tall in a row from (x 220, y 250), on paper with the scene's clutter (uint8 grey)."""
    ink = np.zeros((H, W), np.float32)
    x = 350 if len(digits) == 1 else 220
    for d in digits:
        big = cv2.resize(d, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
        region = ink[250 : 250 + big.shape[0], x : x + big.shape[1]]
        np.maximum(region, np.clip(big, 0, 1), out=region)
        x += 80
    page = 225 * (1 - 0.8 * ink) * (0.85 + 0.15 * np.mgrid[:H, :W][1] / W)
    return np.clip(_clutter(page, name) + rng.normal(0, 3, (H, W)), 0, 255).astype(np.uint8)


def measure(data_dir: str | None, count: int) -> dict[str, int]:
    from digitreader import Recognizer
    from digitreader.data import load_mnist
    from digitreader.errors import NoDigitError

    images, labels = load_mnist("test", data_dir, download=False)
    r = Recognizer()
    right = {}
    for name in SCENES:
        rng = np.random.default_rng(1)
        single = number = 0
        for k in range(count):
            with contextlib.suppress(NoDigitError):  # nothing found: read wrong
                single += r.predict(scene([images[300 + k]], name, rng)).digit == labels[300 + k]
            idx = range(400 + 4 * k, 404 + 4 * k)
            want = "".join(str(labels[i]) for i in idx)
            number += r.read(scene([images[i] for i in idx], name, rng)).text == want
        right[f"predict/{name}"], right[f"read/{name}"] = int(single), int(number)
    return right


def main() -> None:
    sys.path.insert(0, os.path.dirname(__file__))
    from baseline import compare

    result = compare(__doc__, __file__, measure, count=30)
    if result is None:
        return
    now, before, count = result
    print(f"| scene | single digits, `predict` | 4-digit numbers, `read` |  ({count} of each per scene)")
    print("|---|---:|---:|")
    for name in SCENES:
        cells = [f"{before[k]} -> {now[k]}" if before else str(now[k]) for k in (f"predict/{name}", f"read/{name}")]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
