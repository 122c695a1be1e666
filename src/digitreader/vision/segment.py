"""An image holding a number -> one MNIST-style input per digit, in reading order.

``segment`` finds the digits (``vision.blobs``), cuts groups of touching digits apart
(``vision.split``) and prepares each digit as ``preprocess`` would. ``read_number`` adds
the recognizer: every candidate (a group read as one digit, or cut into two or three) goes
into ONE batch, and for each group the reading with the best total log-probability wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from digitreader.engine import Digit, Reading
from digitreader.errors import NoDigitError
from digitreader.vision.blobs import Blob, components, drop_border_lines, drop_edges, merge_strokes, reading_order
from digitreader.vision.ink import InkMap, extract_ink
from digitreader.vision.io import load_image
from digitreader.vision.preprocess import digit_ink, mnist_style
from digitreader.vision.split import cut_paths, piece_masks

Classify = Callable[[np.ndarray], np.ndarray]  # [N,28,28] float32 -> probabilities [N,10]

# Log-priors of the readings of a group, added to the sum of the digits' log-probabilities.
# Chosen on the development set (seed 123, numbers and photos): see BENCHMARKS.md.
SPLIT_ASPECT = 0.8  # a group wider than this x its height may be two touching digits
THREE_ASPECT = 1.7  # ... and wider than this, three
WIDE, WIDE_PENALTY = 0.7, 0.5  # one digit: -0.5 per unit of aspect (width / height) above 0.7
CUT_PENALTY = 0.25  # each cut
BAD_PIECE_PENALTY = 2.0  # each piece that is a sliver or much shorter than its group
SURE = 0.999  # a group read as one digit with this confidence is not cut
CUTS = 10  # candidate cuts tried per group (and per number of pieces)


@dataclass(frozen=True)
class Segment:
    """One digit found in an image: its box (x, y, w, h) in the image's pixels, its 28x28 input, its line."""

    box: tuple[int, int, int, int]
    input: np.ndarray = field(repr=False, compare=False)
    line: int = 0


@dataclass
class _Option:
    """One way to read a group: as one digit, or cut into pieces."""

    boxes: list[tuple[int, int, int, int]]  # working-resolution boxes, left to right
    inputs: list[np.ndarray]
    prior: float


@dataclass
class _Slot:
    group: Blob
    options: list[_Option]


def segment(image: Any, classify: Classify | None = None, cuts: int = CUTS) -> list[Segment]:
    """The digits of ``image`` in reading order (left to right, lines top to bottom).

    Without ``classify`` touching digits are cut by their width alone; with it (e.g.
    ``Recognizer.classify``) each group is cut the way the recognizer is most sure of.
    Raises ``ImageError`` for unreadable input; an image without ink gives ``[]``.
    """
    ink, slots = _plan(image, cuts)
    if not slots:
        return []
    chosen = _choose(slots, classify)
    return [
        Segment(ink.to_original(box), inp, slot.group.line)
        for slot, option in zip(slots, chosen, strict=True)
        for box, inp in zip(option.boxes, option.inputs, strict=True)
    ]


def read_number(image: Any, classify: Classify, cuts: int = CUTS) -> Reading:
    """Read every digit of ``image`` with ``classify`` (called once, all candidates in one batch).

    Lines are joined with a newline in ``Reading.text``; no digit gives ``Reading("", [])``.
    """
    ink, slots = _plan(image, cuts)
    if not slots:
        return Reading("", [])
    inputs = [inp for s in slots for o in s.options for inp in o.inputs]
    probs = np.asarray(classify(np.stack(inputs).astype(np.float32)), dtype=np.float64)
    chosen = _pick(slots, probs)
    digits: list[Digit] = []
    lines: dict[int, str] = {}
    for slot, (option, p) in zip(slots, chosen, strict=True):
        for box, inp, row in zip(option.boxes, option.inputs, p, strict=True):
            k = int(row.argmax())
            digits.append(Digit(k, float(row[k]), ink.to_original(box), [float(v) for v in row], inp))
            lines[slot.group.line] = lines.get(slot.group.line, "") + str(k)
    return Reading("\n".join(lines[k] for k in sorted(lines)), digits)


def _plan(image: Any, cuts: int = CUTS) -> tuple[InkMap, list[_Slot]]:
    """Find the digit groups and every way of reading each (whole, or cut in two or three)."""
    ink = extract_ink(load_image(image))
    labels, blobs = components(ink.mask)
    groups = drop_border_lines(reading_order(drop_edges(merge_strokes(blobs), ink.mask.shape)), ink.mask.shape)
    slots: list[_Slot] = []
    for g in groups:
        try:
            whole = _Option([g.box], [mnist_style(digit_ink(ink, labels, g))], _wide_prior(g))
        except NoDigitError:
            continue
        options = [whole]
        aspect = g.w / max(g.h, 1)
        if aspect > SPLIT_ASPECT:
            crop = digit_ink(ink, labels, g)
            options += _cuts(crop, g, 2, cuts)
            if aspect > THREE_ASPECT:
                options += _cuts(crop, g, 3, cuts)
        slots.append(_Slot(g, options))
    return ink, slots


def _wide_prior(g: Blob) -> float:
    return -WIDE_PENALTY * max(0.0, g.w / max(g.h, 1) - WIDE)


def _cuts(crop: np.ndarray, g: Blob, parts: int, cuts: int) -> list[_Option]:
    options = []
    total = float(crop.sum())
    for paths in cut_paths(crop, parts, cuts):
        boxes, inputs, prior = [], [], -CUT_PENALTY * (parts - 1)
        for keep in piece_masks(crop.shape, paths):
            piece = np.where(keep, crop, 0.0)
            if float(piece.sum()) < 0.1 * total:
                break  # a sliver: not a digit
            rows, cols = np.flatnonzero(piece.max(1) > 0.05), np.flatnonzero(piece.max(0) > 0.05)
            x0, x1, y0, y1 = cols[0], cols[-1] + 1, rows[0], rows[-1] + 1
            if (x1 - x0) < 0.15 * g.h or (y1 - y0) < 0.5 * g.h:
                prior -= BAD_PIECE_PENALTY
            boxes.append((g.x + int(x0), g.y + int(y0), int(x1 - x0), int(y1 - y0)))
            inputs.append(mnist_style(piece[y0:y1, x0:x1]))
        else:
            options.append(_Option(boxes, inputs, prior))
    return options


def _choose(slots: list[_Slot], classify: Classify | None) -> list[_Option]:
    if classify is not None:
        inputs = [inp for s in slots for o in s.options for inp in o.inputs]
        probs = np.asarray(classify(np.stack(inputs).astype(np.float32)), dtype=np.float64)
        return [option for option, _ in _pick(slots, probs)]
    chosen = []
    for s in slots:
        aspect = s.group.w / max(s.group.h, 1)
        parts = 1 if aspect <= 1.15 else 2 if aspect <= 1.9 else 3
        fitting = [o for o in s.options if len(o.inputs) == parts] or s.options[:1]
        chosen.append(max(fitting, key=lambda o: o.prior))
    return chosen


def _pick(slots: list[_Slot], probs: np.ndarray) -> list[tuple[_Option, np.ndarray]]:
    """For each slot the option with the best sum of log-probabilities plus its prior.

    A group the recognizer reads as one digit with near certainty is not cut.
    """
    picked = []
    i = 0
    for s in slots:
        best, best_score, best_p = None, -np.inf, None
        sure = False
        for o in s.options:
            p = probs[i : i + len(o.inputs)]
            i += len(o.inputs)
            if len(o.inputs) == 1:
                sure = float(p.max()) >= SURE
            elif sure:
                continue
            score = float(np.log(np.clip(p.max(axis=1), 1e-12, 1.0)).sum()) + o.prior
            if score > best_score:
                best, best_score, best_p = o, score, p
        picked.append((best, best_p))
    return picked  # type: ignore[return-value]
