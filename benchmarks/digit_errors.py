"""Where the per-digit errors on the evaluation set come from: the pen, the photo, or the digit model.

  DIGITREADER_DATA=../shared/data/mnist python benchmarks/digit_errors.py [--count 1000] [--seed 123]
      [--jobs 2] [--model X.onnx ...]

For each part of the evaluation set (``digits`` 4a, ``numbers`` 4b, ``photos`` 4c) the images are read
by ``Recognizer.read`` / ``predict`` as users read them. Where the reading found as many digits as the
number has, each digit's 28x28 input (what the digit model saw) is kept with its true label and its
MNIST test index, and the errors on those inputs are counted, per kind (apart / close / touching):

  pristine      the bundled model on the same MNIST test digits, as MNIST stores them
  pipeline      the bundled model on the inputs the pipeline made of them
  + line        with the CTC line reader's second opinion on every doubted digit (as predict does)
  other models  each --model alone, and averaged with the bundled model (log-probabilities)
  line agrees   pipeline errors where the line reader, reading the input alone, picks the same wrong digit

A separate table rewrites MNIST test digits with a fine pen, a pen as wide as MNIST's strokes and a
marker (``data.render.digit_strokes``), with no paper, light or camera, prepares them with
``vision.preprocess.mnist_style`` and counts the bundled model's errors on them: what the pen alone costs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import cv2
import numpy as np

PARTS = ("digits", "numbers", "photos")
KINDS = ("apart", "close", "touching")
PENS = {"fine pen (0.6x MNIST's stroke)": 0.6, "MNIST-wide pen (1x)": 1.0, "marker (1.6x)": 1.6}


def _collect(job: tuple[str, int, int, int, str | None]) -> tuple[str, list, list, list, list]:
    """Read one chunk of a part; keep the inputs of readings with the right number of digits."""
    part, start, count, seed, data_dir = job
    cv2.setNumThreads(1)
    from digitreader import Recognizer
    from digitreader.data import load_mnist
    from digitreader.data.synthetic import samples
    from digitreader.errors import NoDigitError

    recognizer = Recognizer(threads=1)
    mnist = load_mnist("test", data_dir, download=False)
    inputs, labels, kinds, sources = [], [], [], []
    for s in samples(part, count, seed, mnist=mnist, start=start):
        if part == "digits":
            try:
                found = [recognizer.predict(s.image).input]
            except NoDigitError:
                continue
        else:
            found = [d.input for d in recognizer.read(s.image).digits]
        if len(found) != len(s.label):
            continue  # a segmentation error: not a matter of the digit model
        inputs += found
        labels += [int(c) for c in s.label]
        kinds += [s.kind] * len(found)
        sources += list(s.sources)
    return part, inputs, labels, kinds, sources


def _log_probs(recognizer, x: np.ndarray) -> np.ndarray:
    return np.log(np.clip(recognizer.classify(x), 1e-12, 1.0))


def _line_log_probs(recognizer, x: np.ndarray) -> list[np.ndarray]:
    """The line reader's CTC log-probabilities of each input, read as a strip (as predict does)."""
    from digitreader.vision.strip import group_strip

    found: list[np.ndarray] = []
    for i in range(0, len(x), 256):
        found += recognizer.line_reader.log_probs([group_strip(a) for a in x[i : i + 256]])
    return found


def _pen_table(images: np.ndarray, labels: np.ndarray, recognizer, pristine_right: np.ndarray) -> list[str]:
    from digitreader.data.render import digit_strokes
    from digitreader.vision.preprocess import mnist_style

    lines = ["| pen (no paper, light or camera) | errors | of them read right as MNIST stores them |"]
    lines.append("|---|---:|---:|")
    for name, width in PENS.items():
        rng = np.random.default_rng(0)
        x = np.stack([mnist_style(digit_strokes(img, 80, rng, width)) for img in images])
        wrong = recognizer.classify(x).argmax(1) != labels
        lines.append(f"| {name} | {int(wrong.sum())} | {int((wrong & pristine_right).sum())} |")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=1000, help="images per part")
    ap.add_argument("--seed", type=int, default=123, help="evaluation-set seed (123: the development set)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--model", action="append", default=[], help="another digit model (.onnx) to compare")
    ap.add_argument("--pen-count", type=int, default=3000, help="MNIST test digits rewritten per pen")
    args = ap.parse_args()

    from digitreader import Recognizer
    from digitreader.data import load_mnist
    from digitreader.vision.line_reader import DIGITS, SECOND_OPINION, scores, second_opinion

    t0 = time.perf_counter()
    jobs = [(p, s, min(50, args.count - s), args.seed, args.data_dir) for p in PARTS for s in range(0, args.count, 50)]
    got: dict[str, list[list]] = {p: [[], [], [], []] for p in PARTS}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for i, (part, *cols) in enumerate(pool.map(_collect, jobs), 1):
            for acc, col in zip(got[part], cols, strict=True):
                acc += col
            print(f"\r{i}/{len(jobs)} chunks", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    images, truth = load_mnist("test", args.data_dir, download=False)
    base = Recognizer()
    others = [(os.path.basename(os.path.dirname(m)) or m, Recognizer(m, line_model=None)) for m in args.model]
    pristine = base.classify(images.astype(np.float32) / 255).argmax(1)
    head = ["pristine", "pipeline", f"+ line ({SECOND_OPINION})", "line agrees"]
    for name, _ in others:
        head += [name, f"default + {name}"]
    print(f"evaluation set seed {args.seed}, {args.count} images per part; digits read with the right count only\n")
    print("| part / kind | digits | " + " | ".join(head) + " |")
    print("|---|---:|" + "---:|" * len(head))
    for part in PARTS:
        x = np.asarray(got[part][0], np.float32)
        y, kinds, src = (np.asarray(c) for c in got[part][1:])
        lp = _log_probs(base, x)
        line = _line_log_probs(base, x)
        pipeline = lp.argmax(1)
        own = np.array([scores(a, DIGITS).argmax() for a in line])
        with_line = np.array([second_opinion(p, a).argmax() for p, a in zip(np.exp(lp), line, strict=True)])
        extra = []
        for _, r in others:
            olp = _log_probs(r, x)
            extra += [olp.argmax(1), (lp + olp).argmax(1)]
        groups = [("single", kinds == "single")] if part == "digits" else [(k, kinds == k) for k in KINDS]
        for kind, sel in groups:
            wrong = [pristine[src[sel]] != y[sel], pipeline[sel] != y[sel], with_line[sel] != y[sel]]
            wrong.append((pipeline[sel] != y[sel]) & (own[sel] == pipeline[sel]))
            wrong += [e[sel] != y[sel] for e in extra]
            cells = " | ".join(f"{int(w.sum())} ({w.mean():.2%})" for w in wrong)
            print(f"| {part} / {kind} | {int(sel.sum())} | {cells} |")

    n = min(args.pen_count, len(images))
    print(f"\nThe pen alone: the first {n:,} MNIST test digits rewritten 80 px tall, prepared and read\n")
    print("\n".join(_pen_table(images[:n], truth[:n], Recognizer(line_model=None), pristine[:n] == truth[:n])))
    wrong = int((pristine[:n] != truth[:n]).sum())
    print(f"\n(pristine errors on those {n:,}: {wrong}); {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
