"""Decoding large JPEGs at the size the reader works at (libjpeg's 1/2, 1/4, 1/8 scaled decode).

  python benchmarks/decode_speed.py [--repeat 20] [--count 100] [--seed 123]

1. Time: a 12-megapixel (4032x3024) phone-sized JPEG, decoded in full (``load_image``, what
   reading did before) and as reading decodes it now (``load_scaled(..., work_side=WORK_SIDE)``),
   median of --repeat runs after a warm-up; and ``Recognizer.read`` of each.
2. Same readings: --count photos of the evaluation set (numbers, photographed, and single
   digits), enlarged to camera sizes and saved as JPEG, read from the fully decoded pixels and
   from the bytes (scaled decode): the texts and boxes must be identical.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from preprocess_speed import median_ms

SIZES = ((4032, 3024), (3024, 4032), (4000, 3000), (6000, 4000), (2048, 1536), (4100, 3000))


def jpeg(image: np.ndarray, size: tuple[int, int], quality: int = 90) -> bytes:
    big = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    buf = io.BytesIO()
    Image.fromarray(big).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--count", type=int, default=100, help="evaluation photos per part compared")
    ap.add_argument("--seed", type=int, default=123)
    args = ap.parse_args()
    cv2.setNumThreads(1)

    from digitreader import Recognizer
    from digitreader.data import load_mnist
    from digitreader.data.synthetic import samples
    from digitreader.vision.ink import WORK_SIDE
    from digitreader.vision.io import load_image, load_scaled

    recognizer = Recognizer(threads=1)
    mnist = load_mnist("test", os.environ.get("DIGITREADER_DATA"))
    photo = next(samples("photos", 1, args.seed, mnist=mnist)).image
    data = jpeg(photo, (4032, 3024))
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, Python {sys.version.split()[0]}")
    print(f"12-MP JPEG (4032x3024, {len(data) / 1e6:.1f} MB), median of {args.repeat}, 1 thread:")
    full = median_ms(lambda: load_image(data), args.repeat)
    scaled = median_ms(lambda: load_scaled(data, work_side=WORK_SIDE), args.repeat)
    print(f"  decode  full {full:7.1f} ms   scaled {scaled:7.1f} ms")
    read_full = median_ms(lambda: recognizer.read(load_image(data)), max(3, args.repeat // 4))
    read_scaled = median_ms(lambda: recognizer.read(data), max(3, args.repeat // 4))
    print(f"  read    full {read_full:7.1f} ms   scaled {read_scaled:7.1f} ms")

    same_text = same_boxes = total = 0
    worst = 0
    for part in ("photos", "digits"):
        for s in samples(part, args.count, args.seed, mnist=mnist):
            data = jpeg(s.image, SIZES[s.index % len(SIZES)])
            a, b = recognizer.read(load_image(data)), recognizer.read(data)
            total += 1
            same_text += a.text == b.text
            boxes = [d.box for d in a.digits], [d.box for d in b.digits]
            same_boxes += boxes[0] == boxes[1]
            if a.text != b.text:
                print(f"  differs: {part}/{s.index} {SIZES[s.index % len(SIZES)]}: {a.text!r} -> {b.text!r}")
            elif boxes[0] != boxes[1]:
                pairs = zip(np.ravel(boxes[0]), np.ravel(boxes[1]), strict=True)
                worst = max(worst, *(abs(int(p) - int(q)) for p, q in pairs))
    print(f"full vs scaled decode: same text {same_text} of {total}, same boxes {same_boxes} of {total}", end="")
    print(f" (the others within {worst} px of the full-size image)")


if __name__ == "__main__":
    main()
