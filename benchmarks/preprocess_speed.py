"""Speed of reading real images: preprocessing a 12-megapixel photo, and segmenting a 640x480 camera frame.

  python benchmarks/preprocess_speed.py [--repeat 20] [--threads 2]

Times are the median of --repeat runs after a warm-up, on decoded pixels (decoding is timed
on its own line: a phone JPEG costs more to decode than to preprocess). OpenCV may use
--threads threads. The machine is shared, so compare the rows of one run with each other.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import cv2
import numpy as np


def median_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


def photo_12mp(digit28: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 4000x3000 phone photo of one handwritten digit (paper texture, light, shadow, noise, JPEG)."""
    from digitreader.data.render import digit_strokes, finish, ink_style, lay_ink, lighting, paper

    page = paper(3000, 4000, rng)
    lay_ink(page, digit_strokes(digit28, 900, rng, 1.0), 1700, 1000, ink_style(rng), rng)
    page *= lighting(3000, 4000, rng)[..., None]
    return finish(page, rng, blur=3.0, noise=0.02, quality=90)


def frame_640(digits: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    from digitreader.data.render import digit_strokes, finish, ink_style, lay_ink, lighting, paper

    page = paper(480, 640, rng)
    style = ink_style(rng)
    for i, d in enumerate(digits):
        lay_ink(page, digit_strokes(d, 90, rng, 1.0), 110 + 110 * i, 190, style, rng)
    page *= lighting(480, 640, rng)[..., None]
    return finish(page, rng, blur=1.0, noise=0.015, quality=85)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2, help="OpenCV threads (the bar is for 2 cores)")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--also-line-model", metavar="ONNX", help="also time Recognizer.read with this line reader")
    args = ap.parse_args()
    cv2.setNumThreads(args.threads)

    from digitreader import Recognizer
    from digitreader.data import load_mnist
    from digitreader.vision.ink import extract_ink, reduce, to_grey
    from digitreader.vision.io import load_image
    from digitreader.vision.preprocess import preprocess
    from digitreader.vision.segment import read_number, segment

    sys.path.insert(0, os.path.dirname(__file__))
    from vision_accuracy import resize_only

    images, labels = load_mnist("test", args.data_dir)
    rng = np.random.default_rng(0)
    recognizer = Recognizer()
    other = Recognizer(line_model=args.also_line_model) if args.also_line_model else None
    photo = photo_12mp(images[0], rng)
    jpeg = cv2.imencode(".jpg", cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    frame = frame_640([images[i] for i in (1, 2, 3, 4)], rng)
    single = frame_640([images[5]], rng)
    canvas = np.zeros((280, 280, 4), np.uint8)
    cv2.putText(canvas, "7", (70, 230), cv2.FONT_HERSHEY_SIMPLEX, 7, (0, 0, 0, 255), 28, cv2.LINE_AA)

    checks = [
        f"12-MP photo of a {labels[0]} read as {recognizer.predict(photo).digit}",
        f"640x480 frame of {''.join(map(str, labels[1:5]))} read as {read_number(frame, recognizer.classify).text}",
    ]
    rows = [
        (
            "12-MP photo (4000x3000 RGB)",
            "decode the JPEG (load_image, Pillow)",
            median_ms(lambda: load_image(jpeg), args.repeat),
        ),
        ("", "grey + reduce to 1000x750", median_ms(lambda: reduce(to_grey(photo)), args.repeat)),
        ("", "ink map (extract_ink)", median_ms(lambda: extract_ink(photo), args.repeat)),
        ("", "**preprocess (digitreader)**", median_ms(lambda: preprocess(photo), args.repeat)),
        ("", "resize-only (the seeds)", median_ms(lambda: resize_only(photo), args.repeat)),
        ("640x480 frame, 4 digits", "segment (no recognizer)", median_ms(lambda: segment(frame), args.repeat)),
        (
            "",
            "read_number (segment + 1 batched inference)",
            median_ms(lambda: read_number(frame, recognizer.classify), args.repeat),
        ),
        ("", "Recognizer.read (+ the CTC line reader)", median_ms(lambda: recognizer.read(frame), args.repeat)),
        *(
            [("", f"Recognizer.read with {args.also_line_model}", median_ms(lambda: other.read(frame), args.repeat))]
            if other is not None
            else []
        ),
        ("640x480 frame, 1 digit", "preprocess", median_ms(lambda: preprocess(single), args.repeat)),
        ("280x280 RGBA canvas", "preprocess", median_ms(lambda: preprocess(canvas), args.repeat)),
    ]
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible, "
        f"OpenCV threads {cv2.getNumThreads()}, {time.strftime('%Y-%m-%d')}"
    )
    for c in checks:
        print("check:", c)
    print("\n| input | step | median ms |\n|---|---|---:|")
    for what, step, ms in rows:
        print(f"| {what} | {step} | {ms:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
