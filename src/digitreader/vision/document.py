"""Read each line again with the field reader, which sees the line whole, with what is around it.

The digit-by-digit reading (``vision.segment``) finds the lines and cuts them into digits;
it is easily misled by what surrounds a number in a real document (a book's edge, rules,
ticks, separators, patterns). The field reader (``vision.field_reader``) reads a crop
around each line without cutting, trained to leave all that out. For each line both texts
are scored by the field reader (CTC); where its own reading is more likely by a clear
margin, it replaces the line. A line the digit reader is sure of is read again too where the field
reader is sure its crop holds no digit at all (a column rule, a book's gutter, read as a sure 1), or where
its own reading of the line's crop is far likelier (``OVERRULE``: a currency sign read as a sure 5, a book's
edge as a sure 1, a number lost in a security pattern).
Beside a line it is sure of, a line the digit reader doubts goes when the field reader gives its
crop a fair chance (``BESIDE``) of holding no digit: an underline or a tick read as a 1.
A line less than half as tall as the tallest is left out (a dash, a tick, print at the foot of a page).

A field in which the digit reader finds several lines (a cheque's printed currency word and security
pattern read as lines of their own) is read whole: where the field reader is ``ONE_FIELD`` sure of its
reading, that is the field's one number, unless two of the lines read sure on their own (``ALONE``: two
numbers, one above the other).

An image with one line (or none) is one field: a crop of a register's margin or of a
cheque's amount. It is read whole and around its line: the whole may overrule a sure line (the line may be
a part of the number), and a sure reading of the whole that holds the line crop's and more wins. When the
field reader is unsure of both, it is also scanned in horizontal bands of several heights, and the reading
the field reader is surest of is taken. A number a sixth of a tall crop's height is too small to read
in the crop squeezed to ``HEIGHT`` px; a band finds it at a size the reader knows. A band's
reading counts only where a taller band around it reads the same: a band that cuts a number
in two reads its halves as other digits. A photo of a scene (over ``FIELD_PIXELS``) is left
to the digit reader.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitreader.results import Digit, Reading
from digitreader.vision.field_reader import HEIGHT, MAX_WIDTH, STRIDE, FieldReader, decode, field_input
from digitreader.vision.ink import to_grey
from digitreader.vision.io import Scaled
from digitreader.vision.line_reader import BLANK, greedy, scores

# Chosen on development data (real-dev register rows, the evaluation set's seed 123, fields of seed 555):
MARGIN = 4.5  # log-likelihood by which the field reader's text must beat the line's to replace it
SURE = 0.99  # a line the digit reader is this sure of (its digits' confidences multiplied) stands ...
NOTHING = 0.5  # ... unless the field reader is this sure that its crop holds no digit (a ruled line, a book's edge)
BESIDE = 0.1  # ... and a line it doubts, beside a line it is sure of, goes when the field reader is this sure
OVERRULE = 8.0  # ... or where its reading of the line is likelier than the line's text by this much (log-lik.)
FLAT = 0.5  # ... but not in a drawing on a flat background: this share of its pixels of one grey (a canvas)
SCRAP = 0.5  # a line less than this share of the tallest line's height is a scrap, not a number
ONE_FIELD = 0.8  # a reading of a field whole this sure stands for its number where the digit reader finds several
# lines in the field, and where it holds the surest reading of its line and more (the line was a part of the number)
ALONE = 0.5  # ... but a picture with two lines the field reader reads this sure on their own holds two numbers
PAD_Y, PAD_X = 0.6, 0.5  # a line's crop reaches this many line heights above/below and to each side
BANDS = (0.6, 0.4, 0.3, 0.25, 0.2)  # a field is scanned in bands this share of its height ...
BAND_STEP = 1 / 3  # ... each a third of its height below the last,
SCAN_BELOW = 0.9  # when the field reader is less sure than this of its reading of the field whole or its line;
MIN_BAND = 32  # px: no band lower than this (a small picture is read whole)
CONFIRM = 2.5  # a band's reading counts when a band up to this many times as tall reads the same
# The field reader learnt from crops of fields; on photos of a scene (640x480 and up) it read lines worse than
# the digit reader on the development photos (seed 123: 94.2% -> 91.5%), so those are left to the digit reader.
FIELD_PIXELS = 250_000


Crop = tuple[int, int, int, int]  # x0, y0, x1, y1 in the picture's pixels (``Scaled.pixels``)


@dataclass
class _Line:
    digits: list[Digit]
    crops: list[Crop]  # where the field reader reads it; the surest reading is taken


def reread(scaled: Scaled, reading: Reading, field: FieldReader) -> Reading:
    """``reading`` with each line replaced by the field reader's reading where that is clearly likelier."""
    if scaled.shape[0] * scaled.shape[1] > FIELD_PIXELS:
        return reading
    grey = to_grey(scaled.pixels)
    lines = _lines(reading, scaled, grey.shape)
    out = [ln.digits for ln in lines]
    cache: dict[Crop, _Read] = {}
    todo = [k for k, ln in enumerate(lines) if _doubted(ln.digits)]
    sure = [k for k in range(len(lines)) if k not in todo]
    flat = _flat(grey)
    whole = _one_number(field, grey, lines) if len(lines) > 1 and not flat else None
    if whole is not None:
        return _reading([_digits(decode(whole.logp), whole.x, whole.crop, scaled.factor)])
    # a sure line is doubted too where the field reader's reading of its crop holds no digit (a ruled line
    # read as a sure 1) or reads other digits far likelier (a number lost in a security pattern)
    _cached(field, grey, [lines[k].crops[0] for k in sure], cache)
    seen = {k for k in sure if _nothing(cache[lines[k].crops[0]].logp) >= NOTHING}
    # in one field, the field read whole may overrule a sure line too: the line may be a part of the number
    checked = {} if flat else {k: lines[k].crops if len(lines) == 1 else lines[k].crops[:1] for k in sure}
    _cached(field, grey, [c for crops in checked.values() for c in crops], cache)
    overruled = {k for k, crops in checked.items() if any(_overrules(cache[c], _text(lines[k].digits)) for c in crops)}
    todo = sorted(set(todo) | seen | overruled)
    standing = [k for k in range(len(lines)) if k not in todo]
    _cached(field, grey, [c for k in todo for c in lines[k].crops], cache)  # every doubted line in one batch
    for k in todo:
        reads = [cache[c] for c in lines[k].crops]
        if k not in seen and standing and _nothing(reads[0].logp) >= BESIDE:
            out[k] = []  # a mark beside the number: a tick, an underline, a struck-out digit
            continue
        if len(lines) == 1 and max(r.sure for r in reads) < SCAN_BELOW:
            reads += _confirmed(_reads(field, grey, bands(*grey.shape)), reads)
        best = _best(reads)
        mine = _text(lines[k].digits)
        if best.text != mine and _likelier(best.logp, best.text, mine):
            out[k] = _digits(decode(best.logp), best.x, best.crop, scaled.factor)
    out = _without_scraps(out)
    return reading if out == [ln.digits for ln in lines] else _reading(out)


@dataclass
class _Read:
    crop: Crop
    x: np.ndarray  # field_input of the crop
    logp: np.ndarray
    text: str  # best path
    sure: float  # P(text), 0 when it is no digit at all: a band of bare paper is sure of nothing


def _one_number(field: FieldReader, grey: np.ndarray, lines: list[_Line]) -> _Read | None:
    """The reading of the whole picture, where it holds the one number that the digit reader found as several
    lines (a cheque's amount whose print and pattern made lines of their own): read whole ``ONE_FIELD`` sure, and
    not two of the lines read ``ALONE`` sure on their own (two numbers, one above the other)."""
    [whole] = _reads(field, grey, [(0, 0, grey.shape[1], grey.shape[0])])
    if whole.sure < ONE_FIELD:
        return None
    alone = sum(r.sure >= ALONE for r in _reads(field, grey, [ln.crops[0] for ln in lines]))
    return whole if alone < 2 else None


def _best(reads: list[_Read]) -> _Read:
    """The surest reading, or a reading ``ONE_FIELD`` sure that holds it and more: a crop around a part of the
    number (the part the digit reader found a line in) reads that part surest."""
    best = max(reads, key=lambda r: r.sure)
    longer = [r for r in reads if r.sure >= ONE_FIELD and best.text and best.text in r.text and r.text != best.text]
    return max(longer, key=lambda r: r.sure, default=best)


def _reads(field: FieldReader, grey: np.ndarray, crops: list[Crop]) -> list[_Read]:
    """The field reader's reading of each crop."""
    inputs = [field_input(grey[y0:y1, x0:x1]) for x0, y0, x1, y1 in crops]
    reads = []
    for crop, x, logp in zip(crops, inputs, field.log_probs(inputs), strict=True):
        text = greedy(logp)[0]
        reads.append(_Read(crop, x, logp, text, float(np.exp(scores(logp, [text])[0])) if text else 0.0))
    return reads


def _cached(field: FieldReader, grey: np.ndarray, crops: list[Crop], cache: dict[Crop, _Read]) -> None:
    """Read the crops not yet in ``cache`` into it, in one batch."""
    new = list(dict.fromkeys(c for c in crops if c not in cache))
    cache.update(zip(new, _reads(field, grey, new), strict=True))


def _text(digits: list[Digit]) -> str:
    return "".join(str(d.digit) for d in digits)


def _flat(grey: np.ndarray) -> bool:
    """True for a drawing on a flat background (a canvas, a clean digital image), where more than ``FLAT`` of
    the pixels are of one grey: the field reader learnt from scans and photos of paper, and takes a canvas's
    lone straight stroke of a 1 for a rule (real-dev register crops: at most 48%)."""
    return bool(np.bincount(grey.ravel(), minlength=256).max() > FLAT * grey.size)


def _overrules(read: _Read, mine: str) -> bool:
    """True where the field reader's reading of a crop is ``OVERRULE`` likelier than a sure line's text."""
    return bool(read.text) and read.text != mine and _likelier(read.logp, read.text, mine, OVERRULE)


def _confirmed(scan: list[_Read], whole: list[_Read]) -> list[_Read]:
    """The bands whose text a taller band around them (up to ``CONFIRM`` times as tall, or the whole field)
    reads too: a band that cuts a number in two reads its halves as other digits, alone."""
    out = []
    for b in scan:
        h, mid = b.crop[3] - b.crop[1], (b.crop[1] + b.crop[3]) / 2
        if any(
            r.text == b.text and h < r.crop[3] - r.crop[1] <= CONFIRM * h and r.crop[1] <= mid <= r.crop[3]
            for r in scan + whole
        ):
            out.append(b)
    return out


def _reading(lines: list[list[Digit]]) -> Reading:
    kept = [ln for ln in lines if ln]
    return Reading("\n".join(_text(ln) for ln in kept), [d for ln in kept for d in ln])


def _without_scraps(lines: list[list[Digit]]) -> list[list[Digit]]:
    """The lines less than ``SCRAP`` as tall as the tallest left out: in a document one hand writes its
    numbers at one size, and a much lower line is a dash, a tick, a crossed-out scrap or print."""
    heights = [max(d.box[1] + d.box[3] for d in ln) - min(d.box[1] for d in ln) if ln else 0 for ln in lines]
    tallest = max(heights, default=0)
    return [ln if h >= SCRAP * tallest else [] for ln, h in zip(lines, heights, strict=True)]


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


def _nothing(logp: np.ndarray) -> float:
    """The field reader's probability that a crop holds no digit (every frame blank)."""
    return float(np.exp(logp[:, BLANK].sum()))


def _likelier(logp: np.ndarray, text: str, other: str, margin: float = MARGIN) -> bool:
    s = scores(logp, [text, other])
    return bool(s[0] - s[1] > margin)


def _lines(reading: Reading, scaled: Scaled, shape: tuple[int, int]) -> list[_Line]:
    """The reading's lines, each with the crops it is read in: around the line, and for a single
    field (one line or none) also the whole picture."""
    f = scaled.factor
    H, W = shape
    groups = _groups(reading)
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
        out.append(_Line(digits, [crop]))
    if len(out) <= 1:  # one field: read whole as well, and scanned in bands when that is not sure
        line = out[0] if out else _Line([], [])
        line.crops.append((0, 0, W, H))
        out = [line]
    return out


def bands(height: int, width: int) -> list[Crop]:
    """Horizontal bands across a field of ``BANDS`` shares of its height, overlapping; a band lower
    than ``MIN_BAND`` or wider than the field reader takes at ``HEIGHT`` px is left out."""
    out: list[Crop] = []
    for share in BANDS:
        h = max(1, round(height * share))
        if h < MIN_BAND or width * HEIGHT / h > MAX_WIDTH:
            continue
        step = max(1, round(h * BAND_STEP))
        out += [(0, y, width, y + h) for y in range(0, max(1, height - h + 1), step)]
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
