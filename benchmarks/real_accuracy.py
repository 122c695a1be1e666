"""Single digits by other writers, at any size, what is no digit, and numbers in documents: this checkout, the
previous release and the seeds' resize-only method, on the same images in one run.

    DIGITREADER_DATA=../shared/data/mnist python benchmarks/real_accuracy.py [--count N] [--baseline-src DIR]
        [--parts digits,documents]

Sets (each skipped with a message when its data is absent):
  cvl-train, cvl-valid  ../shared/data/real-dev/cvl-digits (127 writers, 28x28 dark on light): real handwriting,
                        for measuring only (never trained on)
  cvl-x4                both cvl splits upscaled 4x (112x112, bicubic): other writers as a photo or a drawing
                        shows them, read by the digit model (images up to 32 px go to the model of tiny images)
  mnist-28              the official MNIST test set as it is
  mnist-16, mnist-8     MNIST test digits shrunk to 16x16 / 8x8 (INTER_AREA), white on black and black on white
  fill-16, fill-16-bin  MNIST test digits cropped to their ink and stretched to fill a 16x16 frame (dark on
                        light; the second binarised): tight low-resolution scans
  sklearn-8             scikit-learn's 1,797 8x8 digits at their own size (other writers)
  non-digits            dots, dashes, scribbles, letters, shapes, blots and pairs of MNIST *test* digits, drawn
                        dark on paper (``data.styles``, seed 2026): the share read as a digit must be small

Documents (``read``, the exact digit string):
  register-rows         ../shared/data/real-dev/register-rows/validation: 2,697 crops of register margins whose
                        label is digits only (real scans; for measuring only, never trained on)
  cheques               generated cheque amounts from MNIST *test* digits (``data.fields``, kind ``cheque``,
                        seed 2027): security patterns, separators, trailing dashes, printed boxes and currency

For a digit set: the share read right and the share rejected ("no digit"); for non-digits: the share read as a
digit; for a document set: the share read exactly (resize-only reads one digit from the whole image).
Methods: ``digitreader`` (``Recognizer.predict``), ``previous`` (the same through ``--baseline-src``'s
code and bundled model, in a subprocess) and ``resize-only`` (the whole image to 28x28, as the seeds do).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

CVL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real-dev" / "cvl-digits"
NON_DIGIT_SEED = 2026
CHEQUE_SEED = 2027
DOCUMENTS = ("register-rows", "cheques")


def document_sets(data_dir: str | None, count: int | None) -> dict[str, tuple[list[bytes], np.ndarray]]:
    """name -> (encoded image files, digit strings): what ``read`` is given, as a user's files."""
    import csv

    from digitreader.data import load_mnist
    from digitreader.data.fields import Digits, field_sample

    sets: dict[str, tuple[list[bytes], np.ndarray]] = {}
    reg = Path(os.environ.get("DIGITREADER_REAL_DEV", CVL.parent)) / "register-rows" / "validation"
    if (reg / "labels.csv").is_file():
        with (reg / "labels.csv").open() as f:
            rows = [r for r in csv.DictReader(f) if r["label"].isdigit()]
        rows = rows[:: max(1, len(rows) // count)][:count] if count else rows
        sets["register-rows"] = (
            [(reg / r["filename"]).read_bytes() for r in rows],
            np.array([r["label"] for r in rows]),
        )
    else:
        print(f"register-rows: skipped, no {reg} (the real-dev set lives in ../shared/data/real-dev)")
    try:
        x, y = load_mnist("test", data_dir, download=False)
    except Exception as exc:
        print(f"cheques skipped: {exc}")
        return sets
    digits, files, texts = Digits(x, y), [], []
    for i in range(count or 500):
        image, text, _ = field_sample(digits, np.random.default_rng([CHEQUE_SEED, i]), "cheque")
        files.append(cv2.imencode(".png", image)[1].tobytes())
        texts.append(text)
    sets["cheques"] = (files, np.array(texts))
    return sets


def make_sets(data_dir: str | None, count: int | None) -> dict[str, tuple[list[np.ndarray], np.ndarray]]:
    """name -> (uint8 images, labels; -1 for what is no digit)."""
    from digitreader.data import load_mnist

    sets: dict[str, tuple[list[np.ndarray], np.ndarray]] = {}
    cvl = Path(os.environ.get("DIGITREADER_REAL_DEV", CVL.parent)) / "cvl-digits"
    for split in ("train", "valid"):
        files = sorted((cvl / split).glob("*.png"))
        files = files[:: max(1, len(files) // count)][:count] if count else files  # every class and writer
        if not files:
            print(f"cvl-{split}: skipped, no {cvl / split} (the real-dev set lives in ../shared/data/real-dev)")
            continue
        sets[f"cvl-{split}"] = (
            [cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in files],
            np.array([int(f.name.split("-")[0]) for f in files]),
        )
    if "cvl-train" in sets and "cvl-valid" in sets:  # other writers at a size the tiny-image path does not take
        images = [
            cv2.resize(a, (112, 112), interpolation=cv2.INTER_CUBIC)
            for k in ("cvl-train", "cvl-valid")
            for a in sets[k][0]
        ]
        sets["cvl-x4"] = (images, np.concatenate([sets["cvl-train"][1], sets["cvl-valid"][1]]))
    try:
        x, y = load_mnist("test", data_dir, download=False)
    except Exception as exc:
        print(f"MNIST sets skipped: {exc}")
        return sets
    x, y = x[: count or None], y[: count or None]
    sets["mnist-28"] = (list(x), y)
    for side in (16, 8):
        small = [cv2.resize(a, (side, side), interpolation=cv2.INTER_AREA) for a in x]
        sets[f"mnist-{side}"] = (small, y)
        sets[f"mnist-{side}-inv"] = ([255 - a for a in small], y)
    filled = [fill(a, 16) for a in x]
    sets["fill-16"] = (filled, y)
    sets["fill-16-bin"] = ([np.where(a > 127, 255, 0).astype(np.uint8) for a in filled], y)
    try:
        from sklearn.datasets import load_digits

        d = load_digits()
        n = count or len(d.target)
        sets["sklearn-8"] = ([np.rint(a * 255 / 16).astype(np.uint8) for a in d.images[:n]], d.target[:n])
    except ImportError:
        print("sklearn-8: skipped (scikit-learn is not installed)")
    sets["non-digits"] = _non_digits(x, y, count or 2000)
    return sets


def fill(a: np.ndarray, side: int) -> np.ndarray:
    """An MNIST digit cropped to its ink and stretched to fill ``side`` x ``side``, black on white."""
    ys, xs = np.nonzero(a > 30)
    crop = a[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    return 255 - cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)


def _non_digits(x: np.ndarray, y: np.ndarray, n: int) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` non-digits on paper and their labels: -1 - the index of their kind in ``data.styles.MAKERS``."""
    from digitreader.data.styles import MAKERS, nondigit_canvas

    out, labels = [], []
    for i in range(n):
        rng = np.random.default_rng([NON_DIGIT_SEED, i])
        canvas, kind = nondigit_canvas(x, y, rng)
        page = 235 - 200 * np.pad(canvas, 16) + rng.normal(0, 3, (canvas.shape[0] + 32, canvas.shape[1] + 32))
        out.append(np.clip(page, 0, 255).astype(np.uint8))
        labels.append(-1 - list(MAKERS).index(kind))
    return out, np.array(labels)


def measure(
    sets: dict[str, tuple[list[np.ndarray], np.ndarray]], resize_only: bool, model: str = "default"
) -> dict[str, dict]:
    """name -> {right, rejected, n, ms} for ``Recognizer.predict`` (or the resize-only method)."""
    from digitreader import Recognizer
    from digitreader.errors import NoDigitError

    r = Recognizer(model)
    results = {}
    for name, (images, labels) in sets.items():
        right = rejected = 0
        t0 = time.perf_counter()
        if name in DOCUMENTS:
            for image, label in zip(images, labels, strict=True):
                try:
                    text = _resize_only_file(r, image) if resize_only else r.read(image).text.replace("\n", "")
                except NoDigitError:
                    text = ""
                right += int(text == label)
            n = len(labels)
            results[name] = {"right": right, "rejected": 0, "n": n, "ms": 1000 * (time.perf_counter() - t0) / n}
            continue
        read_by_label: dict[str, int] = {}
        for image, label in zip(images, labels, strict=True):
            try:
                digit = _resize_only(r, image) if resize_only else r.predict(image).digit
            except NoDigitError:
                rejected += 1
                continue
            right += int(digit == label)
            read_by_label[str(label)] = read_by_label.get(str(label), 0) + 1
        n = len(labels)
        results[name] = {"right": right, "rejected": rejected, "n": n, "ms": 1000 * (time.perf_counter() - t0) / n}
        if (np.asarray(labels) < 0).all():  # what is no digit: how much of each kind was read as a digit
            results[name]["read_by_label"] = read_by_label
    return results


def _resize_only(r, image: np.ndarray) -> int:  # type: ignore[no-untyped-def]
    grey = 255 - image if image.mean() > 127 else image
    return int(r.classify(cv2.resize(grey, (28, 28), interpolation=cv2.INTER_AREA)[None] / 255.0)[0].argmax())


def _resize_only_file(r, data: bytes) -> str:  # type: ignore[no-untyped-def]
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    return str(_resize_only(r, image))


def _objects(images: list[np.ndarray]) -> np.ndarray:
    """A 1-D object array of images (of any sizes)."""
    out = np.empty(len(images), dtype=object)
    out[:] = images
    return out


def _cell(res: dict | None) -> str:
    if res is None:
        return "-"
    n = res["n"]
    return f"{100 * res['right'] / n:6.2f}% ({100 * res['rejected'] / n:.2f}% rej)"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("DIGITREADER_DATA"))
    p.add_argument("--count", type=int, help="at most N images per set (default: all)")
    p.add_argument("--model", default="default", help="the digit model (a bundled name or an .onnx file)")
    p.add_argument("--baseline-src", help="another checkout's src folder (the previous release), measured the same")
    p.add_argument("--parts", default="digits,documents", help="digits, documents, or both (comma-separated)")
    p.add_argument("--sets", help=argparse.SUPPRESS)  # the baseline's subprocess: read the sets from this .npz
    args = p.parse_args()
    if args.sets:
        z = np.load(args.sets, allow_pickle=True)
        sets = {k: (list(z[k + ".x"]), z[k + ".y"]) for k in json.loads(str(z["names"]))}
        print(json.dumps(measure(sets, resize_only=False)))
        return
    parts = set(args.parts.split(","))
    sets: dict = make_sets(args.data_dir, args.count) if "digits" in parts else {}
    if "documents" in parts:
        sets |= document_sets(args.data_dir, args.count)
    now = measure(sets, resize_only=False, model=args.model)
    floor = measure(sets, resize_only=True, model=args.model)
    before = None
    if args.baseline_src:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "sets.npz"
            arrays = {f"{k}.x": _objects(v[0]) for k, v in sets.items()}
            arrays |= {f"{k}.y": v[1] for k, v in sets.items()}
            np.savez(path, names=json.dumps(list(sets)), **arrays)
            env = {**os.environ, "PYTHONPATH": args.baseline_src}
            cmd = [sys.executable, __file__, "--sets", str(path)]
            before = json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d %H:%M')}")
    print("| set | n | digitreader | previous release | resize-only | ms/image |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in sets:
        show = _as_digit if name == "non-digits" else _exact if name in DOCUMENTS else _cell
        b = before.get(name) if before else None
        cells = [str(now[name]["n"]), show(now[name]), show(b), show(floor[name]), f"{now[name]['ms']:.2f}"]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if "non-digits" in sets:
        print("\nNon-digits read as a digit, by kind (digitreader / previous release):")
        print(_by_kind(sets["non-digits"][1], now["non-digits"], before.get("non-digits") if before else None))


def _by_kind(labels: np.ndarray, now: dict, before: dict | None) -> str:
    from digitreader.data.styles import MAKERS

    cells = []
    for k, kind in enumerate(MAKERS):
        n = int((labels == -1 - k).sum())
        share = [f"{100 * r.get('read_by_label', {}).get(str(-1 - k), 0) / max(1, n):.1f}%" for r in (now, before) if r]
        cells.append(f"{kind} ({n}): " + " / ".join(share))
    return "; ".join(cells)


def _exact(res: dict | None) -> str:
    return "-" if res is None else f"{100 * res['right'] / res['n']:6.2f}% exact"


def _as_digit(res: dict | None) -> str:
    return "-" if res is None else f"{100 * (res['n'] - res['rejected']) / res['n']:.2f}% read as a digit"


if __name__ == "__main__":
    main()
