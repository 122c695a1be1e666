"""Read each line again with the field reader, which sees the line whole, with what is around it.

The digit-by-digit reading (``vision.segment``) finds the lines and cuts them into digits;
it is easily misled by what surrounds a number in a real document (a book's edge, rules,
ticks, separators, patterns). The field reader (``vision.field_reader``) reads a crop
around each line without cutting, trained to leave all that out. For each line both texts
are scored by the field reader (CTC); where its own reading is more likely by a clear
margin, it replaces the line; a line the digit reader is sure of stands. An image whose one
line is large in it (or that has none) is read as one field, whole: a crop of a register's
margin or a cheque's amount is one field. A photo of a scene (over ``FIELD_PIXELS``) is left
to the digit reader.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitreader.results import Digit, Reading
from digitreader.vision.field_reader import HEIGHT, STRIDE, FieldReader, decode, field_input
from digitreader.vision.ink import to_grey
from digitreader.vision.io import Scaled
from digitreader.vision.line_reader import scores

# Chosen on development data (real-dev register rows, the evaluation set's seed 123, fields of seed 555):
MARGIN = 4.5  # log-likelihood by which the field reader's text must beat the line's to replace it
SURE = 0.99  # a line the digit reader is this sure of (its digits' confidences multiplied) stands
PAD_Y, PAD_X = 0.6, 0.5  # a line's crop reaches this many line heights above/below and to each side
WHOLE_FIELD = 0.2  # an image is one field when its one line is at least this share of its height
# The field reader learnt from crops of fields; on photos of a scene (640x480 and up) it read lines worse than
# the digit reader on the development photos (seed 123: 94.2% -> 91.5%), so those are left to the digit reader.
FIELD_PIXELS = 250_000


@dataclass
class _Line:
    digits: list[Digit]
    crop: tuple[int, int, int, int]  # x0, y0, x1, y1 in the picture's pixels (``Scaled.pixels``)


def reread(scaled: Scaled, reading: Reading, field: FieldReader) -> Reading:
    """``reading`` with each line replaced by the field reader's reading where that is clearly likelier."""
    if scaled.shape[0] * scaled.shape[1] > FIELD_PIXELS:
        return reading
    grey = to_grey(scaled.pixels)
    lines = _lines(reading, scaled, grey.shape)
    todo = [k for k, ln in enumerate(lines) if _doubted(ln.digits)]
    if not todo:
        return reading
    inputs = [field_input(grey[y0:y1, x0:x1]) for x0, y0, x1, y1 in (lines[k].crop for k in todo)]
    out = [ln.digits for ln in lines]
    for k, x, logp in zip(todo, inputs, field.log_probs(inputs), strict=True):
        mine = "".join(str(d.digit) for d in out[k])
        found = decode(logp)
        text = "".join(str(d.digit) for d in found)
        if text != mine and _likelier(logp, text, mine):
            out[k] = _digits(found, x, lines[k].crop, scaled.factor)
    return reading if out == [ln.digits for ln in lines] else _reading(out)


def _reading(lines: list[list[Digit]]) -> Reading:
    kept = [ln for ln in lines if ln]
    return Reading("\n".join("".join(str(d.digit) for d in ln) for ln in kept), [d for ln in kept for d in ln])


def _doubted(digits: list[Digit]) -> bool:
    """True for a line the digit reader is less than ``SURE`` of (or an empty reading)."""
    return float(np.prod([d.confidence for d in digits])) < SURE if digits else True


def _groups(reading: Reading) -> list[list[Digit]]:
    """The reading's digits, line by line."""
    groups, k = [], 0
    for text in reading.text.split("\n") if reading.text else []:
        groups.append(reading.digits[k : k + len(text)])
        k += len(text)
    return groups


def _likelier(logp: np.ndarray, text: str, other: str) -> bool:
    s = scores(logp, [text, other])
    return bool(s[0] - s[1] > MARGIN)


def _lines(reading: Reading, scaled: Scaled, shape: tuple[int, int]) -> list[_Line]:
    """The reading's lines with the crop each is read in (the whole picture for a single field)."""
    f = scaled.factor
    H, W = shape
    groups = _groups(reading)
    if len(groups) <= 1:
        digits = groups[0] if groups else []
        height = max((d.box[3] for d in digits), default=0) / f
        if not digits or height >= WHOLE_FIELD * H:
            return [_Line(digits, (0, 0, W, H))]
    out = []
    for digits in groups:
        x0 = min(d.box[0] for d in digits) / f
        y0 = min(d.box[1] for d in digits) / f
        x1 = max(d.box[0] + d.box[2] for d in digits) / f
        y1 = max(d.box[1] + d.box[3] for d in digits) / f
        h = y1 - y0
        crop = (
            int(max(0, x0 - PAD_X * h)),
            int(max(0, y0 - PAD_Y * h)),
            int(min(W, x1 + PAD_X * h)),
            int(min(H, y1 + PAD_Y * h)),
        )
        out.append(_Line(digits, crop))
    return out


def _digits(found: list, x: np.ndarray, crop: tuple[int, int, int, int], factor: int) -> list[Digit]:
    """The field reader's digits with boxes in the original image: around the column where each fires,
    the ink of ``field_input`` ``x`` gives the digit's extent."""
    x0, y0, x1, y1 = crop
    sx = (x1 - x0) / x.shape[1]
    sy = (y1 - y0) / HEIGHT
    out = []
    for k, d in enumerate(found):
        centre = (d.frame + 0.5) * STRIDE
        left = (found[k - 1].frame + 0.5) * STRIDE if k else centre - 0.4 * HEIGHT
        right = (found[k + 1].frame + 0.5) * STRIDE if k + 1 < len(found) else centre + 0.4 * HEIGHT
        a = int(max(0, (left + centre) / 2))
        b = int(min(x.shape[1], (centre + right) / 2 + 1))
        band = x[:, a:b] > 0.5
        rows, cols = np.flatnonzero(band.any(1)), np.flatnonzero(band.any(0))
        if rows.size and cols.size:
            bx, by, bw, bh = a + cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1
        else:
            bx, by, bw, bh = a, 0, max(1, b - a), HEIGHT
        box = (
            round((x0 + bx * sx) * factor),
            round((y0 + by * sy) * factor),
            max(1, round(bw * sx * factor)),
            max(1, round(bh * sy * factor)),
        )
        out.append(Digit(d.digit, d.confidence, box))
    return out
