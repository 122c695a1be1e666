"""Reading real images: digitreader against the seeds' resize-only approach and Tesseract, in one run.

  python benchmarks/vision_accuracy.py [--count 1000] [--seed 0] [--tesseract-count 300] [--jobs 2] [--model X.onnx]
  python benchmarks/vision_accuracy.py --seed 123 --start 1000 --parts photos,numbers --line-model X.onnx --no-sklearn
      (a block of the development set, read with another line reader: how BENCHMARKS.md compares two readers)

Parts (made from MNIST *test* digits only, see ``digitreader.data.synthetic``):
  digits   4a  one digit photographed on paper              accuracy
  numbers  4b  numbers of 2-8 digits, scanned               exact-string accuracy (apart / close / touching)
  photos   4c  the same numbers photographed                exact-string accuracy
  sklearn      scikit-learn's 1,797 8x8 digits (other writers), upscaled to 64x64, white on black

Methods, all with the same digit model (the bundled one unless --model):
  digitreader  Recognizer.predict / Recognizer.read (vision.preprocess / vision.segment)
  no-line      Recognizer.read without the CTC line reader and the field reader (cuts judged by the digit model alone)
  resize-only  the seeds' way: the whole image to grey, inverted when the background is light,
               resized to 28x28 (no crop, no centring); single digits only
  tesseract    Tesseract 5 (Debian's tesseract-ocr through pytesseract), digits whitelist,
               --psm 10 (one character) for single digits, --psm 7 (one line) for numbers
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor

import cv2
import numpy as np

PARTS = ("digits", "numbers", "photos")


def resize_only(image: np.ndarray) -> np.ndarray:
    """The seeds' preprocessing: grey, invert a light background, squash to 28x28."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2GRAY)
    if grey.mean() > 127:
        grey = 255 - grey
    return cv2.resize(grey, (28, 28), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def tesseract(image: np.ndarray, single: bool) -> str:
    import pytesseract

    grey = image if image.ndim == 2 else cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2GRAY)
    psm = 10 if single else 7
    try:
        text = pytesseract.image_to_string(
            grey, config=f"--psm {psm} -c tessedit_char_whitelist=0123456789", timeout=30
        )
    except (RuntimeError, pytesseract.TesseractError):  # it crashes on a few images: count as unread
        return "?"
    return "".join(ch for ch in text if ch.isdigit())


def _work(job: tuple[str, int, int, int, int, str | None, str, str, str]) -> list[dict]:
    """Generate and read one chunk of a part (runs in a worker process)."""
    part, start, count, seed, tess_limit, data_dir, model, line_model, field_model = job
    cv2.setNumThreads(1)
    from digitreader import Recognizer
    from digitreader.data import load_mnist
    from digitreader.data.synthetic import samples
    from digitreader.errors import NoDigitError

    recognizer = Recognizer(
        model,
        threads=1,
        line_model=None if line_model == "none" else line_model,
        field_model=None if field_model == "none" else field_model,
    )
    alone = Recognizer(model, threads=1, line_model=None, field_model=None)
    mnist = load_mnist("test", data_dir)
    rows = []
    for s in samples(part, count, seed, mnist=mnist, start=start):
        row = {"part": part, "index": s.index, "kind": s.kind, "label": s.label}
        t = time.perf_counter()
        if part == "digits":
            try:
                row["digitreader"] = str(recognizer.predict(s.image).digit)
            except NoDigitError:
                row["digitreader"] = ""
            row["seconds"] = time.perf_counter() - t
            row["resize-only"] = str(alone.predict_array(resize_only(s.image), reject=False).digit)  # the seeds
        else:
            row["digitreader"] = recognizer.read(s.image).text
            row["seconds"] = time.perf_counter() - t
            row["no-line"] = alone.read(s.image).text
        if s.index < tess_limit:
            row["tesseract"] = tesseract(s.image, single=part == "digits")
        rows.append(row)
    return rows


def sklearn_rows(tess: bool, model: str = "default") -> list[dict]:
    from sklearn.datasets import load_digits

    from digitreader import Recognizer
    from digitreader.errors import NoDigitError

    recognizer = Recognizer(model)
    alone = Recognizer(model, line_model=None, field_model=None)  # the seeds' way: the model alone
    data = load_digits()
    rows = []
    for img, label in zip(data.images, data.target, strict=True):
        big = cv2.resize((img * 255 / 16).astype(np.uint8), (64, 64), interpolation=cv2.INTER_CUBIC)
        row = {"part": "sklearn", "kind": "single", "label": str(int(label))}
        try:
            row["digitreader"] = str(recognizer.predict(big).digit)
        except NoDigitError:
            row["digitreader"] = ""
        row["resize-only"] = str(alone.predict_array(resize_only(big)).digit)
        if tess:
            row["tesseract"] = tesseract(255 - big, single=True)
        rows.append(row)
    return rows


def summarise(rows: list[dict]) -> dict:
    table: dict = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for r in rows:
        for method in ("digitreader", "no-line", "resize-only", "tesseract"):
            if method in r:
                for key in (r["part"], f"{r['part']}/{r['kind']}"):
                    cell = table[key][method]
                    cell[0] += r[method] == r["label"]
                    cell[1] += 1
    return {k: {m: {"accuracy": c[0] / c[1], "n": c[1]} for m, c in v.items()} for k, v in table.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=1000, help="images per part")
    ap.add_argument("--start", type=int, default=0, help="index of the first image of each part")
    ap.add_argument("--parts", default=",".join(PARTS), help="comma-separated parts to read")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tesseract-count", type=int, default=300, help="images per part also read by Tesseract")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--no-sklearn", action="store_true")
    ap.add_argument("--out", default="runs/vision_accuracy.json")
    ap.add_argument("--model", default="default", help="digit model: 'default' (bundled) or an .onnx file")
    ap.add_argument("--line-model", default="default", help="line reader: 'default' (bundled), an .onnx file or 'none'")
    ap.add_argument(
        "--field-model", default="default", help="field reader: 'default' (bundled), an .onnx file or 'none'"
    )
    args = ap.parse_args()
    tess = shutil.which("tesseract") is not None
    if not tess:
        print("tesseract not found (apt-get install tesseract-ocr): Tesseract column skipped", file=sys.stderr)
    limit = args.start + args.tesseract_count if tess else 0
    parts = [p for p in PARTS if p in args.parts.split(",")]
    end = args.start + args.count
    chunk = 50
    jobs = [
        (p, s, min(chunk, end - s), args.seed, limit, args.data_dir, args.model, args.line_model, args.field_model)
        for p in parts
        for s in range(args.start, end, chunk)
    ]
    t0 = time.perf_counter()
    rows: list[dict] = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for i, part_rows in enumerate(pool.map(_work, jobs), 1):
            rows += part_rows
            print(f"\r{i}/{len(jobs)} chunks", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    if not args.no_sklearn:
        rows += sklearn_rows(tess, args.model)
    seconds = time.perf_counter() - t0
    summary = summarise(rows)
    per_image = {p: float(np.median([r["seconds"] for r in rows if r["part"] == p])) for p in parts}
    report = {
        "command": " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "count": args.count,
        "seed": args.seed,
        "start": args.start,
        "line_model": args.line_model,
        "field_model": args.field_model,
        "seconds": seconds,
        "median_seconds_per_image": per_image,
        "results": summary,
        "mistakes": [r for r in rows if r.get("digitreader") != r["label"]][:200],
    }
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(report, fh, indent=1)
    print("| set | n | digitreader | without line reader | resize-only (seeds) | Tesseract (n) |")
    print("|---|---:|---:|---:|---:|---:|")
    order = ["digits", "numbers", "numbers/apart", "numbers/close", "numbers/touching"]
    order += ["photos", "photos/apart", "photos/close", "photos/touching", "sklearn"]
    for key in order:
        if key not in summary:
            continue
        v = summary[key]
        res, te, alone = v.get("resize-only"), v.get("tesseract"), v.get("no-line")
        res_text = f"{res['accuracy']:.2%}" if res else "n/a"
        alone_text = f"{alone['accuracy']:.2%}" if alone else "n/a"
        te_text = f"{te['accuracy']:.2%} ({te['n']})" if te else "n/a"
        n, acc = v["digitreader"]["n"], v["digitreader"]["accuracy"]
        print(f"| {key} | {n} | {acc:.2%} | {alone_text} | {res_text} | {te_text} |")
    timing = ", ".join(f"{p} {1000 * s:.0f} ms" for p, s in per_image.items())
    print(f"\nmedian time per image (digitreader, 1 thread): {timing}")
    print(f"total {seconds:.0f} s; details in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
