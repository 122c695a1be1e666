"""How ``vision.document``'s constants were chosen: every rereading rule on the development data, in one run.

    DIGITREADER_DATA=../shared/data/mnist python benchmarks/field_rules.py [--registers 300] [--fields 150]
        [--numbers 200] [--field-model X.onnx]

Development data only (never the evaluation seeds 0 and 2027): real-dev register rows (1 in 3 from the second,
the first ``--registers``), fields of MNIST *test* digits of seed 555 (``data.fields``, cheques and rows) and the
evaluation set's seed 123 (numbers from index 1000). Each image is read once by the digit reader and the field
reader is run on every crop ``reread`` could look at (around each line, the whole field, every band); the rules
are then replayed from those scores, as ``reread`` applies them, without running a network again
(``replay`` mirrors ``reread``'s choice of a reading, ``_one_number`` and ``_best`` included, though not its
rules for marks and scraps: change both together).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REGISTERS = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-dev" / "register-rows" / "validation"


@dataclass
class Seen:
    stage: int  # 0: the whole picture of several lines; 1: around the line or the whole field; 2: a band
    text: str
    own: float  # log P(text)
    mine: float  # log P(the digit reader's text of the line)
    crop: tuple[int, int, int, int]


def features(recognizer, image) -> tuple[int, list[tuple[str, float, list[Seen]]]]:
    """(pixels, [(the line's text, the digit reader's confidence, what the field reader saw)])."""
    from digitreader.vision import document
    from digitreader.vision.ink import WORK_SIDE, to_grey
    from digitreader.vision.io import load_scaled
    from digitreader.vision.line_reader import scores
    from digitreader.vision.segment import read_number

    scaled = load_scaled(image, work_side=WORK_SIDE)
    reading = read_number(scaled, recognizer.classify, line=recognizer.line_reader.log_probs)
    grey = to_grey(scaled.pixels)
    lines = document._lines(reading, scaled, grey.shape)
    out = []
    whole = [(0, (0, 0, grey.shape[1], grey.shape[0]))] if len(lines) > 1 else []  # document._one_number's
    for line in lines:
        mine = "".join(str(d.digit) for d in line.digits)
        conf = float(np.prod([d.confidence for d in line.digits])) if line.digits else 0.0
        seen = []
        crops = (
            [(1, c) for c in line.crops]
            + ([(2, c) for c in document.bands(*grey.shape)] if len(lines) == 1 else [])
            + whole
        )
        for (stage, crop), r in zip(
            crops, document._reads(recognizer.field_reader, grey, [c for _, c in crops]), strict=True
        ):
            s = scores(r.logp, [r.text, mine])
            seen.append(Seen(stage, r.text, float(s[0]), float(s[1]), crop))
        out.append((mine, conf, seen))
    return scaled.shape[0] * scaled.shape[1], out


def replay(pixels: int, lines, margin: float, sure_margin: float, min_band: int, confirm: float | None) -> str:
    """``reread``'s decision from the recorded scores."""
    from digitreader.vision import document

    if pixels > document.FIELD_PIXELS:
        return "\n".join(mine for mine, _, _ in lines if mine)

    def sure(r: Seen) -> float:
        return math.exp(r.own) if r.text else 0.0

    if len(lines) > 1:  # document._one_number
        whole = next(r for r in lines[0][2] if r.stage == 0)
        alone = sum(sure(next(r for r in seen if r.stage == 1)) >= document.ALONE for _, _, seen in lines)
        if sure(whole) >= document.ONE_FIELD and alone < 2:
            return whole.text
    out = []
    for mine, conf, seen in lines:
        first = [r for r in seen if r.stage == 1]
        reads = first
        if len(lines) == 1 and max(sure(r) for r in first) < document.SCAN_BELOW:
            scan = [r for r in seen if r.stage == 2 and r.crop[3] - r.crop[1] >= min_band]
            if confirm is not None:
                scan = [b for b in scan if _confirmed(b, scan + first, confirm)]
            reads = first + scan
        best = max(reads, key=sure)  # document._best
        longer = [
            r
            for r in reads
            if sure(r) >= document.ONE_FIELD and best.text and best.text in r.text and r.text != best.text
        ]
        best = max(longer, key=sure, default=best)
        need = sure_margin if conf >= document.SURE else margin
        out.append(best.text if best.text != mine and best.own - best.mine > need else mine)
    return "\n".join(t for t in out if t)


def _confirmed(b: Seen, others: list[Seen], confirm: float) -> bool:
    h, mid = b.crop[3] - b.crop[1], (b.crop[1] + b.crop[3]) / 2
    return any(
        r.text == b.text and h < r.crop[3] - r.crop[1] <= confirm * h and r.crop[1] <= mid <= r.crop[3] for r in others
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--registers", type=int, default=300)
    p.add_argument("--fields", type=int, default=150)
    p.add_argument("--numbers", type=int, default=200)
    p.add_argument("--numbers-start", type=int, default=1000, help="index of the first number of seed 123")
    p.add_argument("--field-model", default="default")
    p.add_argument("--data-dir", default=os.environ.get("DIGITREADER_DATA"))
    args = p.parse_args()
    import cv2

    from digitreader import Recognizer
    from digitreader.data import load_mnist
    from digitreader.data.fields import Digits, field_sample
    from digitreader.data.synthetic import samples

    recognizer = Recognizer(threads=1, field_model=args.field_model)
    mnist = load_mnist("test", args.data_dir)
    sets: dict[str, list] = {}
    if REGISTERS.is_dir() and args.registers:
        with open(REGISTERS / "labels.csv", newline="") as f:
            rows = [r for r in list(csv.reader(f))[1:] if r[1].isdigit()][1::3]
        sets["register rows"] = [(REGISTERS / f, label) for f, label in rows[: args.registers]]
    else:
        print(f"real-dev register rows not found at {REGISTERS}: skipped")
    digits = Digits(*mnist)
    for kind in ("cheque", "row") if args.fields else ():
        made = [field_sample(digits, np.random.default_rng([555, i]), kind) for i in range(args.fields)]
        sets[f"{kind}s (seed 555)"] = [(cv2.imencode(".png", im)[1].tobytes(), t) for im, t, _ in made]
    sets["numbers (seed 123)"] = [
        (s.image, s.label) for s in samples("numbers", args.numbers, 123, mnist=mnist, start=args.numbers_start)
    ]
    seen = {name: [(features(recognizer, image), label) for image, label in items] for name, items in sets.items()}
    print("| MARGIN | SURE_MARGIN | MIN_BAND | CONFIRM | " + " | ".join(seen) + " |")
    print("|---:|---:|---:|---:|" + "---:|" * len(seen))
    rules = [(4.5, math.inf, 10**9, None)]  # rereading only doubted lines, no bands: as the previous release
    rules += list(itertools.product([3.0, 4.5], [4.5, 6.0, 8.0, math.inf], [0, 32], [None, 2.5]))
    for margin, sure_margin, min_band, confirm in rules:
        acc = [
            np.mean([replay(*f, margin, sure_margin, min_band, confirm) == label for f, label in rows])
            for rows in seen.values()
        ]
        print(
            f"| {margin} | {sure_margin} | {min_band if min_band < 10**9 else 'no bands'} | {confirm or '-'} | "
            + " | ".join(f"{a:.1%}" for a in acc)
            + " |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
