"""Corrections -> training samples, prepared by the reader's own code (no torch).

A ``predict`` correction is one digit: ``preprocess`` gives the 28x28 the digit model saw.
A ``read`` correction is a number: ``Recognizer.read`` finds its digits, and when it finds as
many as the label holds, each digit's 28x28 ``input`` is paired with the label's digit (the
reader's own alignment); otherwise the correction gives no digit sample and is counted as
skipped. Each line whose digit count matches also gives a line sample (a strip for the line
reader, ``vision.strip``) with the line's text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from digitreader.corrections.store import Correction
from digitreader.errors import DigitReaderError, NoDigitError


@dataclass
class Samples:
    """Digit samples (float32 [N,28,28] in [0,1], int64 labels), line samples, and what was skipped."""

    images: np.ndarray = field(default_factory=lambda: np.zeros((0, 28, 28), np.float32))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    lines: list[tuple[np.ndarray, str]] = field(default_factory=list)  # (strip [28, W], text)
    counts: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, index: np.ndarray) -> Samples:
        """The digit samples at ``index`` (lines and counts stay with the original)."""
        return Samples(self.images[index], self.labels[index], [], dict(self.counts))


COUNTS = ("predict", "read", "read_digits", "read_skipped", "lines", "unreadable")


def correction_samples(corrections: Iterable[Correction], recognizer: Any = None) -> Samples:
    """Every correction's samples; ``recognizer`` (a ``Recognizer``, default the bundled one) reads numbers."""
    images: list[np.ndarray] = []
    labels: list[int] = []
    lines: list[tuple[np.ndarray, str]] = []
    counts = dict.fromkeys(COUNTS, 0)
    for c in corrections:
        counts[c.mode] += 1
        try:
            if c.mode == "predict":
                images.append(_preprocess(c.image))
                labels.append(int(c.label))
                continue
            recognizer = recognizer or _bundled()
            pairs, strips = read_samples(recognizer, c.image, c.label)
        except (DigitReaderError, ValueError):  # an image the reader cannot open, or with no ink
            counts["unreadable"] += 1
            continue
        if pairs is None:
            counts["read_skipped"] += 1
        else:
            counts["read_digits"] += len(pairs)
            images += [p for p, _ in pairs]
            labels += [d for _, d in pairs]
        lines += strips
    counts["lines"] = len(lines)
    x = np.stack(images).astype(np.float32) if images else np.zeros((0, 28, 28), np.float32)
    return Samples(x, np.array(labels, np.int64), lines, counts)


def read_samples(
    recognizer: Any, image: Any, label: str
) -> tuple[list[tuple[np.ndarray, int]] | None, list[tuple[np.ndarray, str]]]:
    """(digit samples, or None when the count of digits read differs from the label's; line samples)."""
    try:
        reading = recognizer.read(image)
    except NoDigitError:
        return None, []
    wanted = label.replace("\n", "")
    if len(reading.digits) != len(wanted):
        return None, []
    pairs = [(np.asarray(d.input, np.float32), int(k)) for d, k in zip(reading.digits, wanted, strict=True)]
    return pairs, _line_strips(image, reading, label)


def _line_strips(image: Any, reading: Any, label: str) -> list[tuple[np.ndarray, str]]:
    """A strip per line of ``label`` whose digits the reading found on one line (same count)."""
    from digitreader.vision.io import load_image
    from digitreader.vision.strip import group_strip

    found, want = reading.text.split("\n"), label.split("\n")
    if [len(t) for t in found] != [len(t) for t in want]:
        return []
    ink = _ink(load_image(image))
    strips, start = [], 0
    for text in want:
        boxes = [d.box for d in reading.digits[start : start + len(text)]]
        start += len(text)
        x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
        try:
            strips.append((group_strip(ink[y0:y1, x0:x1]), text))
        except NoDigitError:
            continue
    return strips


def _ink(pixels: np.ndarray) -> np.ndarray:
    """float ink map in [0, 1] (0 = paper) of a uint8 image, dark on light or light on dark."""
    from digitreader.vision.ink import to_grey

    grey = to_grey(pixels).astype(np.float32) / 255
    return 1 - grey if float(np.median(grey)) > 0.5 else grey


def _preprocess(image: Any) -> np.ndarray:
    from digitreader.vision.preprocess import preprocess

    return preprocess(image)


def _bundled() -> Any:
    from digitreader import Recognizer

    return Recognizer()
