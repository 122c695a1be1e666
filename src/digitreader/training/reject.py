"""Choose a model's "not a digit" score and threshold on held-out data and record them on the model card.

A model trained with non-digits towards no answer (``train --non-digits``) keeps its logits low
for what is no digit, so its free energy is low; a packed gate (``training.gate``) gives the
log-odds that the input is a digit. With a gate, the two are fused by a logistic regression
fitted here (``Recognizer.fused``). ``predict`` answers "no digit" below a threshold on that
score chosen here, never on an evaluation set: on MNIST *training* digits
the run held out (``--limit-train``), as they are and restyled as other writers give them
(``data.styles``), and photographed as ``predict`` sees a photo (``data.groups`` and the evaluation
set's renderer ``data.synthetic``, fed these training digits); the threshold is the highest that
rejects at most 0.1% of the plain and the photographed digits the digit model reads right, and
0.5% of the restyled ones. A digit it misreads costs nothing when rejected ("no digit" in place of
a wrong digit), so those do not count: a photographed crop that came out broken would otherwise
set the threshold. Non-digits drawn from those digits with a seed of its own (the regression's
negatives) show what it catches. Tiny images are classified by a model of their own, so the tiny-image
path gets a threshold of its own (``tiny_below``, ``choose_tiny``) by the same rule: at most 0.1% of the
held-out digits shrunk as they are to 8-20 px and 0.5% of those restyled and shrunk to tiny scans that the
model of tiny images reads right rejected.

    python -m digitreader.training.reject runs/sharp-any/model.onnx --holdout-from 55000
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from digitreader.data import load_mnist
from digitreader.data.groups import digit_sample
from digitreader.data.styles import nondigit_canvas, prepared, style_sample
from digitreader.engine import Recognizer
from digitreader.errors import NoDigitError
from digitreader.vision.preprocess import preprocess

SEED = 7_031  # the held-out non-digits' seed (the evaluation benchmark uses another)
MAX_DIGIT_REJECT = 0.001  # of the held-out digits as they are and photographed (the bar: 0.1% of MNIST test)
MAX_RESTYLED_REJECT = 0.005  # of the held-out digits restyled (the bar: 0.5% of other writers' digits)


def _present(arrays: list[np.ndarray | None]) -> tuple[list[int], np.ndarray | None]:
    """The indices of the arrays that are there (None: no ink was found) and those arrays stacked."""
    found = [i for i, a in enumerate(arrays) if a is not None]
    return found, np.stack([arrays[i] for i in found]) if found else None


def features(r: Recognizer, arrays: list[np.ndarray | None]) -> dict[str, np.ndarray]:
    """``Recognizer.score_features`` of MNIST-style arrays (-inf for a missing one: no ink found)."""
    found, batch = _present(arrays)
    got = r.score_features(batch) if batch is not None else {}
    out = {}
    for name, values in got.items():
        out[name] = np.full(len(arrays), -np.inf)
        out[name][found] = values
    return out


def fit_fuse(digits: dict[str, np.ndarray], others: dict[str, np.ndarray], l2: float = 1e-3) -> dict[str, float]:
    """A logistic regression (Newton's method, both classes weighted equally) of "a digit" on the scores:
    {"bias": b, name: weight, ...} for ``Recognizer.fused``."""
    names = sorted(digits)
    pos = np.stack([digits[k] for k in names], 1)
    neg = np.stack([others[k] for k in names], 1)
    pos, neg = pos[np.isfinite(pos).all(1)], neg[np.isfinite(neg).all(1)]
    x = np.concatenate([pos, neg])
    mu, sd = x.mean(0), x.std(0) + 1e-9
    a = np.column_stack([np.ones(len(x)), (x - mu) / sd])
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    w8 = np.where(y > 0, 0.5 / len(pos), 0.5 / len(neg))
    beta = np.zeros(a.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-(a @ beta)))
        grad = a.T @ (w8 * (p - y)) + l2 * beta
        hess = (a * (w8 * p * (1 - p))[:, None]).T @ a + l2 * np.eye(len(beta))
        beta -= np.linalg.solve(hess, grad)
    weights = beta[1:] / sd
    return {"bias": float(beta[0] - weights @ mu), **{k: float(w) for k, w in zip(names, weights, strict=True)}}


def non_digits(x: np.ndarray, y: np.ndarray, n: int, tiny: bool = False) -> list[np.ndarray | None]:
    """``n`` non-digits drawn dark on paper (``tiny``: shrunk to 7-20 px scans, ``data.styles``) and prepared by
    ``preprocess`` (None: it found no ink)."""
    out: list[np.ndarray | None] = []
    for i in range(n):
        rng = np.random.default_rng([SEED, 3, i] if tiny else [SEED, i])
        canvas, _ = nondigit_canvas(x, y, rng)
        try:
            if tiny:
                out.append(prepared(canvas, rng, tiny=1.0))
            else:
                out.append(preprocess(np.clip(235 - 200 * np.pad(canvas, 16), 0, 255).astype(np.uint8)))
        except NoDigitError:
            out.append(None)
    return out


def _highest(*shares: tuple[np.ndarray, np.ndarray, float]) -> float:
    """The highest threshold that rejects, of each (scores, read right, share), at most that share of the scores
    read right ("lower": what scores below it is never more than the share)."""
    return float(min(np.quantile(score[right], share, method="lower") for score, right, share in shares))


def _photographed(x: np.ndarray, y: np.ndarray, count: int) -> tuple[list[np.ndarray | None], list[int]]:
    """Held-out digits photographed on paper by the evaluation set's own renderer (``data.synthetic``, seed SEED),
    prepared by ``preprocess`` (None: it found no ink), and their labels."""
    from digitreader.data.synthetic import samples

    out: list[np.ndarray | None] = []
    labels = []
    for s in samples("digits", count, SEED, mnist=(x, y)):
        labels.append(int(s.label))
        try:
            out.append(preprocess(s.image))
        except NoDigitError:
            out.append(None)
    return out, labels


def _shrunk(x: np.ndarray, count: int) -> list[np.ndarray | None]:
    """Held-out digits shrunk as they are to 8-20 px (INTER_AREA), half of them dark on light, prepared by
    ``preprocess`` (None: it found no ink): the tiny-image path's plain digits."""
    out: list[np.ndarray | None] = []
    for i, a in enumerate(x[:count]):
        rng = np.random.default_rng([SEED, 4, i])
        side = int(rng.integers(8, 21))
        small = cv2.resize(a, (side, side), interpolation=cv2.INTER_AREA)
        try:
            out.append(preprocess(255 - small if rng.random() < 0.5 else small))
        except NoDigitError:
            out.append(None)
    return out


def _tiny_scans(x: np.ndarray, y: np.ndarray, count: int) -> tuple[list[np.ndarray | None], np.ndarray]:
    """Held-out digits restyled and shrunk to tiny scans (7-20 px, ``data.styles``) and prepared by ``preprocess``,
    and their labels."""
    styled = [style_sample(x, y, np.random.default_rng([SEED, 2, i]), tiny=1.0) for i in range(count)]
    return [a for a, _ in styled], np.array([label for _, label in styled])


def choose_tiny(r: Recognizer, x: np.ndarray, y: np.ndarray, count: int) -> dict:
    """The tiny-image path's threshold (``r.fuse`` set): the highest that rejects at most 0.1% of the held-out digits
    shrunk as they are and 0.5% of those restyled and shrunk to tiny scans that the model of tiny images reads right
    (the main threshold's rule, on the tiny path's own model and inputs); a dict for the card's ``reject``."""
    shrunk = _shrunk(x, count)
    scans, scan_labels = _tiny_scans(x, y, count)
    plain_right = read_right(r, shrunk, y[:count], tiny=True)
    scans_right = read_right(r, scans, scan_labels, tiny=True)
    plain, scanned = r.fused(features(r, shrunk)), r.fused(features(r, scans))
    read = r.fused(features(r, non_digits(x, y, count, tiny=True)))
    below = _highest((plain, plain_right, MAX_DIGIT_REJECT), (scanned, scans_right, MAX_RESTYLED_REJECT))
    return {
        "tiny_below": round(below, 4),
        "tiny_chosen_on": (
            f"the same held-out digits shrunk as they are to 8-20 px (INTER_AREA, both polarities) and restyled and "
            f"shrunk to 7-20 px scans (data.styles, tiny=1.0), {count:,} each, and {count:,} non-digits shrunk alike; "
            f"at most {MAX_DIGIT_REJECT:.2%} and {MAX_RESTYLED_REJECT:.1%} of the digits that the model of tiny images "
            f"reads right rejected"
        ),
        "held_out_tiny_right_rejected": {
            "shrunk": round(float((plain < below)[plain_right].mean()), 5),
            "scans": round(float((scanned < below)[scans_right].mean()), 5),
        },
        "held_out_tiny_non_digits_read": float((read >= below).mean()),
    }


def read_right(r: Recognizer, arrays: list[np.ndarray | None], labels: np.ndarray, tiny: bool = False) -> np.ndarray:
    """bool [N]: the digit model (``tiny``: the model of tiny images) reads the MNIST-style array as its label
    (False where no ink was found)."""
    found, batch = _present(arrays)
    out = np.zeros(len(arrays), bool)
    if batch is not None:
        logits = r.tiny_logits(batch) if tiny else r.logits(batch)
        out[found] = logits.argmax(1) == np.asarray(labels)[found]
    return out


def choose(model: Path, holdout_from: int, data_dir: str | None, count: int) -> dict:
    """The threshold and what it does on the held-out sets (a dict for the model card)."""
    x, y = load_mnist("train", data_dir, download=False)
    hx, hy = x[holdout_from:][:count], y[holdout_from:][:count]
    r = Recognizer(model, line_model=None, field_model=None)
    drawn = [digit_sample(hx, hy, np.random.default_rng([SEED, 1, i])) for i in range(count)]
    photographed, photographed_labels = _photographed(hx, hy, count)
    styled = [style_sample(hx, hy, np.random.default_rng([SEED, i])) for i in range(count)]
    sets = {
        "plain": [a.astype(np.float32) / 255 for a in hx],
        "photos": [a for a, _ in drawn] + photographed,
        "styled": [a for a, _ in styled],
        "others": non_digits(hx, hy, count),
    }
    labels = {
        "plain": hy.astype(int),
        "photos": np.array([label for _, label in drawn] + photographed_labels),
        "styled": np.array([label for _, label in styled]),
    }
    right = {name: read_right(r, sets[name], labels[name]) for name in labels}
    found = {name: features(r, arrays) for name, arrays in sets.items()}
    fuse: dict[str, float] = {}
    if "gate" in found["plain"]:
        digits = {k: np.concatenate([found[s][k] for s in ("plain", "photos", "styled")]) for k in found["plain"]}
        fuse = fit_fuse(digits, found["others"])
    r.fuse = fuse
    plain, photos, styled, others = (r.fused(found[name]) for name in sets)
    threshold = _highest(
        (plain, right["plain"], MAX_DIGIT_REJECT),
        (photos, right["photos"], MAX_DIGIT_REJECT),
        (styled, right["styled"], MAX_RESTYLED_REJECT),
    )
    # The tiny-image path classifies with its own model: a threshold of its own.
    tiny_entry = choose_tiny(r, hx, hy, count) if r.tiny_max_side else {}
    return {
        "score": (
            "a logistic regression of the energy (logsumexp of the reject network's logits times the temperature) "
            "and the gate's logit: bias + a weight per score (Recognizer.fused)"
            if fuse
            else "energy: logsumexp of the logits times the temperature (Recognizer.fused)"
        ),
        "below": round(threshold, 4),
        "temperature": r.score_temperature,
        **({"fuse": {k: round(v, 6) for k, v in fuse.items()}} if fuse else {}),
        "chosen_on": (
            f"MNIST training digits {holdout_from:,}-{holdout_from + len(hy) - 1:,} (held out of training) as they "
            f"are, photographed (data.groups, data.synthetic) and restyled (data.styles), and {count:,} non-digits "
            f"drawn from them (seed {SEED}); at most {MAX_DIGIT_REJECT:.2%} of the plain and the photographed "
            f"digits that the digit model reads right and {MAX_RESTYLED_REJECT:.1%} of the restyled ones rejected"
        ),
        "held_out_digits_rejected": float((plain < threshold).mean()),
        "held_out_photographed_rejected": float((photos < threshold).mean()),
        "held_out_restyled_rejected": float((styled < threshold).mean()),
        "held_out_right_rejected": {
            name: round(float((score < threshold)[right[name]].mean()), 5)
            for name, score in (("plain", plain), ("photos", photos), ("styled", styled))
        },
        "held_out_non_digits_read": float((others >= threshold).mean()),
        **tiny_entry,
        "command": f"python -m digitreader.training.reject MODEL.onnx --holdout-from {holdout_from} --count {count}",
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", type=Path, help="the .onnx model; its .json card gets a 'reject' entry")
    p.add_argument("--holdout-from", type=int, required=True, help="the run's --limit-train: digits from here on")
    p.add_argument("--count", type=int, default=4000, help="held-out digits (and non-digits) to look at")
    p.add_argument("--data-dir")
    args = p.parse_args()
    entry = choose(args.model, args.holdout_from, args.data_dir, args.count)
    card_path = args.model.with_suffix(".json")
    card = json.loads(card_path.read_text())
    card["reject"] = entry
    card["output"]["not_a_digit"] = "no extra class: predict rejects what scores below reject.below"
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(entry, indent=2))


if __name__ == "__main__":
    main()
