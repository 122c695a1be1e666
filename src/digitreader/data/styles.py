"""Training samples for other writers and sizes, and for what is no digit, made from MNIST *training* digits.

``style_sample``: an MNIST training digit re-written the way other writers and scanners give it:
a continental 1 (a long flag, sometimes a foot) or a crossed 7, a thinner or bolder pen, a slant,
squashed or stretched, written on a ruled line or underlined, or shrunk to a tiny (7-20 px) scan that
may be binarised and may fill its frame; then prepared exactly as ``predict`` prepares an image
(``vision.preprocess``).

``nondigit_sample``: something that is no digit, drawn with the same range of pens: a dot or a
blot, a dash (no steeper than 45 degrees: a standing stroke is a 1), a scribble, a letter, a shape,
or two digits side by side. The digit model is trained to be unsure of them (label ``NOT_A_DIGIT``),
and the gate (``training.gate``) to tell them from digits: that is what lets ``predict`` answer
"no digit" for them.
"""

from __future__ import annotations

import contextlib
import math

import cv2
import numpy as np

from digitreader.errors import NoDigitError
from digitreader.vision.preprocess import preprocess

NOT_A_DIGIT = -1
RULED = 0.08  # of restyled digits written on a ruled line or underlined
DASH_TILT = 45.0  # degrees from level beyond which a straight stroke is a 1, not a dash
FINE = 4  # samples are drawn at 4x MNIST's 28 px
SIDE = 28 * FINE
# Letters that no writer would take for a digit (no O, I, l, Z, S, B, G, g, q, b, T ...).
LETTERS = "ACEFHKLMNPRUVWXYacdefhkmnprtuvwxy"
FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
)


def style_sample(
    images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, tiny: float = 0.4
) -> tuple[np.ndarray, int]:
    """One restyled training digit: float32 [28, 28] in [0, 1] (MNIST-style) and its label; with
    probability ``tiny`` it is shrunk to a tiny scan (7-20 px)."""
    while True:
        i = int(rng.integers(len(labels)))
        label = int(labels[i])
        fine = cv2.resize(images[i], (SIDE, SIDE), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255.0
        fine = np.pad(np.clip(fine, 0, 1), SIDE // 2)
        try:
            fine = _continental(fine, label, rng)
            fine = _shape(_pen(fine, rng), rng)
            if rng.random() < RULED:
                fine = _ruled(fine, rng)
            out = prepared(fine, rng, tiny=tiny)
        except NoDigitError:  # an eroded hairline can vanish: draw another
            continue
        if _inverted(out):  # a tiny scan whose polarity was misjudged teaches nothing: draw another
            continue
        return out, label


def thumbnail_sample(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One MNIST training digit as its writer wrote it, its whole frame shrunk to a 7-12 px thumbnail (the way
    digit images are downscaled: mostly area-averaged, maybe binarised), prepared exactly as ``predict`` prepares
    it. Restyled scans (``style_sample``) crop the ink and change the pen; a thumbnail keeps both."""
    while True:
        i = int(rng.integers(len(labels)))
        a = images[i].astype(np.float32) / 255.0
        angle, scale = rng.uniform(-8, 8), rng.uniform(0.9, 1.1)
        m = cv2.getRotationMatrix2D((13.5, 13.5), angle, scale)
        m[:, 2] += rng.uniform(-1.5, 1.5, 2)
        a = cv2.warpAffine(a, m, (28, 28), flags=cv2.INTER_LINEAR)
        side = int(rng.integers(7, 13))
        how = cv2.INTER_AREA if rng.random() < 0.7 else int(rng.choice([cv2.INTER_LINEAR, cv2.INTER_CUBIC]))
        tiny = np.clip(cv2.resize(a, (side, side), interpolation=how), 0, 1)
        try:
            out = preprocess(_scanned(tiny, rng, binarised=0.25))
        except NoDigitError:
            continue
        if not _inverted(out):
            return out, int(labels[i])


def _continental(fine: np.ndarray, label: int, rng: np.random.Generator) -> np.ndarray:
    """Sometimes the continental form of a 1 (a flag), a 7 (a crossbar), a 0 (a slash) or a 9 (a hooked tail),
    drawn at 4x."""
    if label == 1 and rng.random() < 0.6:
        return _add_flag(fine, rng)
    if label == 7 and rng.random() < 0.5:
        return _add_crossbar(fine, rng)
    if label == 0 and rng.random() < 0.15:
        return _add_slash(fine, rng)
    if label == 9 and rng.random() < 0.35:
        return _add_hook(fine, rng)
    return fine


def continental(digit28: np.ndarray, label: int, rng: np.random.Generator) -> np.ndarray:
    """An MNIST digit (uint8 [28, 28]) in a continental writer's form (``_continental``): uint8 [56, 56],
    the digit in the middle with room for a long flag."""
    fine = cv2.resize(digit28, (SIDE, SIDE), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255.0
    fine = np.pad(np.clip(fine, 0, 1), SIDE // 2)
    with contextlib.suppress(NoDigitError):  # no ink core to draw from: keep the digit as it is
        fine = _continental(fine, label, rng)
    return np.round(cv2.resize(fine, (56, 56), interpolation=cv2.INTER_AREA) * 255).astype(np.uint8)


def nondigit_canvas(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Something that is no digit, drawn as a float ink map (0 = paper, 112 px high), and its kind."""
    kind = str(rng.choice(list(MAKERS), p=NONDIGIT_MIX))
    while True:
        canvas = _shape(MAKERS[kind](images, labels, rng), rng)
        if kind != "dash" or _tilt(canvas) <= DASH_TILT:  # slanted up to a standing stroke, a dash is a 1
            return canvas, kind


def nondigit_sample(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One thing that is no digit: float32 [28, 28] in [0, 1] (MNIST-style) and ``NOT_A_DIGIT``."""
    while True:
        canvas, _ = nondigit_canvas(images, labels, rng)
        try:
            out = prepared(canvas, rng, tiny=0.25)
        except NoDigitError:
            continue
        if not _inverted(out):
            return out, NOT_A_DIGIT


def prepared(ink: np.ndarray, rng: np.random.Generator, tiny: float) -> np.ndarray:
    """An ink map written on paper (or, with probability ``tiny``, shrunk to a tiny scan) and prepared exactly
    as ``predict`` prepares an image (``vision.preprocess``): what the digit model is then handed."""
    return preprocess(_tiny_scan(ink, rng) if rng.random() < tiny else _page(ink, rng))


def _page(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The ink on paper with a margin: dark on light (a fifth of the time light on dark), a little noise."""
    margin = int(rng.integers(8, 40))
    a = np.pad(ink, margin)
    paper, pen = rng.uniform(170, 250), rng.uniform(0, 110)
    grey = paper + (pen - paper) * a + rng.normal(0, rng.uniform(0, 6), a.shape)
    if rng.random() < 0.2:
        grey = 255 - grey
    return np.clip(np.round(grey), 0, 255).astype(np.uint8)


def _inverted(a: np.ndarray) -> bool:
    """True when the paper came out as ink (most of the 20x20 box lit): a misjudged polarity."""
    return float((a > 0.5).mean()) > 0.4


def _box(a: np.ndarray) -> tuple[int, int, int, int]:
    """The box (x0, y0, x1, y1) of the ink's core; ``NoDigitError`` when there is none."""
    ys, xs = np.nonzero(a > 0.5)
    if ys.size == 0:
        raise NoDigitError()
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def _stroke(a: np.ndarray) -> int:
    """Stroke width in pixels (2 x area / perimeter of the half-ink mask)."""
    b = (a > 0.5).astype(np.uint8)
    inner = cv2.erode(b, np.ones((3, 3), np.uint8))
    return max(2, round(2.0 * b.sum() / max(1, b.sum() - inner.sum())))


def _draw(a: np.ndarray, points: list[tuple[float, float]], width: int) -> np.ndarray:
    """Draw a polyline on ``a`` (a float ink map) with an anti-aliased pen ``width`` px wide."""
    layer = np.zeros(a.shape, np.uint8)
    pts = np.round(np.array(points) * 16).astype(np.int32)
    cv2.polylines(layer, [pts], False, 255, max(1, width), cv2.LINE_AA, shift=4)
    return np.maximum(a, layer.astype(np.float32) / 255.0)


def _add_flag(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A continental 1: a long flag down to the left from the top of the stroke, sometimes a foot."""
    _x0, y0, _x1, y1 = _box(a)
    top = np.flatnonzero(a[y0 : y0 + 6].max(0) > 0.5)
    tx, ty = float(top.mean()), float(y0 + 2)
    height = y1 - y0
    length = height * rng.uniform(0.2, 0.9)  # continental flags run up to nearly the stroke's own length
    angle = math.radians(rng.uniform(15, 60))  # below the horizontal
    end = (tx - length * math.cos(angle), ty + length * math.sin(angle))
    width = _stroke(a)
    a = _draw(a, [end, (tx, ty)], width)
    if rng.random() < 0.25:
        bottom = np.flatnonzero(a[y1 - 6 : y1 + 1].max(0) > 0.5)
        bx, half = float(bottom.mean()), height * rng.uniform(0.15, 0.3)
        a = _draw(a, [(bx - half, y1 - 1), (bx + half, y1 - 1)], width)
    return a


def _ruled(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A ruled line or the writer's underline under the digit, level whatever the digit's slant: still one digit."""
    x0, y0, x1, y1 = _box(a)
    h = y1 - y0
    half = h * rng.uniform(0.4, 1.0)
    cx = (x0 + x1) / 2 + h * rng.uniform(-0.2, 0.2)
    y = y1 + h * rng.uniform(-0.05, 0.2)
    tilt = half * math.tan(math.radians(rng.uniform(-4, 4)))
    width = max(2, round(_stroke(a) * rng.uniform(0.5, 1.2)))
    return _draw(a, [(cx - half, y + tilt), (cx + half, y - tilt)], width)


def _tilt(a: np.ndarray) -> float:
    """Degrees between the ink's long axis and the level (from its second moments)."""
    m = cv2.moments(a)
    angle = 0.5 * math.degrees(math.atan2(2 * m["mu11"], m["mu20"] - m["mu02"]))
    return abs(angle)


def _add_crossbar(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A crossed 7: a short bar across the stem about half-way down."""
    x0, y0, x1, y1 = _box(a)
    y = round(y0 + (y1 - y0) * rng.uniform(0.4, 0.62))
    stem = np.flatnonzero(a[y] > 0.5)
    if stem.size == 0:
        return a
    cx = float(stem.mean())
    half = (x1 - x0) * rng.uniform(0.2, 0.4)
    tilt = half * math.tan(math.radians(rng.uniform(-10, 10)))
    return _draw(a, [(cx - half, y + tilt), (cx + half, y - tilt)], _stroke(a))


def _add_hook(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 9 written as many European writers do: its stem ends in a hook curling back to the left, like a g's."""
    _x0, y0, _x1, y1 = _box(a)
    bottom = np.flatnonzero(a[max(y0, y1 - 6) : y1 + 1].max(0) > 0.5)
    bx, r = float(bottom.mean()), (y1 - y0) * rng.uniform(0.1, 0.25)
    end = math.pi * rng.uniform(0.7, 1.2)  # half a turn, a little less or more
    turn = np.linspace(0.0, end, 12)
    return _draw(a, [(bx - r + r * math.cos(t), y1 - 2 + r * math.sin(t)) for t in turn], _stroke(a))


def _add_slash(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A slashed zero: a stroke through the ring from its upper right to its lower left."""
    x0, y0, x1, y1 = _box(a)
    over = rng.uniform(0.0, 0.15)
    w, h = x1 - x0, y1 - y0
    return _draw(a, [(x1 + over * w, y0 - over * h), (x0 - over * w, y1 + over * h)], _stroke(a))


def _pen(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A thinner (down to a hairline) or bolder pen."""
    r = rng.random()
    if r < 0.3:
        k = int(rng.integers(2, 7))
        thinner = cv2.erode(a, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        return thinner if (thinner > 0.5).sum() > 0.25 * (a > 0.5).sum() else a
    if r < 0.5:
        k = int(rng.integers(2, 9))
        return cv2.dilate(a, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return a


def _shape(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Slant, squash or stretch (aspect ratios other writers and form boxes give)."""
    sx = math.exp(rng.uniform(math.log(0.55), math.log(1.6))) if rng.random() < 0.5 else 1.0
    shear = rng.uniform(-0.35, 0.35) if rng.random() < 0.4 else 0.0
    if sx == 1.0 and shear == 0.0:
        return a
    h, w = a.shape
    m = np.array([[sx, -shear, (1 - sx) * w / 2 + shear * h / 2], [0, 1, 0]], np.float32)
    return cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR)


def _tiny_scan(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The ink shrunk to a 7-20 px scan (tight, or with a margin; maybe stretched to fill; maybe binarised)."""
    x0, y0, x1, y1 = _box(a)
    crop = a[y0 : y1 + 1, x0 : x1 + 1]
    h, w = crop.shape
    side = int(rng.integers(7, 21))
    if rng.random() < 0.4:  # stretched to fill the frame (as some scanners' normalisation does)
        tiny = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
    else:
        margin = int(rng.integers(0, 3))
        s = (side - 2 * margin) / max(h, w)
        tw, th = max(1, round(w * s)), max(1, round(h * s))
        tiny = np.zeros((side, side), np.float32)
        oy, ox = (side - th) // 2, (side - tw) // 2
        tiny[oy : oy + th, ox : ox + tw] = cv2.resize(crop, (tw, th), interpolation=cv2.INTER_AREA)
    return _scanned(tiny, rng, binarised=0.4)


def _scanned(tiny: np.ndarray, rng: np.random.Generator, binarised: float) -> np.ndarray:
    """A tiny ink map as a scanner gives it: maybe binarised, dark ink on light paper (or the other way), noise."""
    if rng.random() < binarised:
        tiny = (tiny > rng.uniform(0.3, 0.6)).astype(np.float32)
    paper, ink = rng.uniform(170, 255), rng.uniform(0, 90)
    grey = paper + (ink - paper) * tiny + rng.normal(0, rng.uniform(0, 8), tiny.shape)
    if rng.random() < 0.3:  # light ink on dark
        grey = 255 - grey
    return np.clip(np.round(grey), 0, 255).astype(np.uint8)


def _canvas() -> np.ndarray:
    return np.zeros((SIDE, SIDE), np.float32)


def _width(rng: np.random.Generator) -> int:
    return int(rng.integers(3, 15))


def _point(rng: np.random.Generator, margin: float = 20) -> tuple[float, float]:
    return float(rng.uniform(margin, SIDE - margin)), float(rng.uniform(margin, SIDE - margin))


def _dot(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    a = _canvas()
    r = rng.uniform(2, 14)
    cv2.ellipse(a, ((SIDE / 2, SIDE / 2), (2 * r, 2 * r * rng.uniform(0.7, 1.3)), rng.uniform(0, 180)), 1.0, -1)
    return a


def _dash(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A straight or slightly bent stroke lying within 40 degrees of level (an upright one is a 1)."""
    length = rng.uniform(25, 95)
    angle = math.radians(rng.uniform(-40, 40))
    c = SIDE / 2
    dx, dy = length / 2 * math.cos(angle), length / 2 * math.sin(angle)
    bend = rng.normal(0, length * 0.06)
    mid = (c - bend * math.sin(angle), c + bend * math.cos(angle))
    return _draw(_canvas(), [(c - dx, c - dy), mid, (c + dx, c + dy)], _width(rng))


def _scribble(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A tangle: a random walk of many short strokes, or a zigzag."""
    n = int(rng.integers(8, 26))
    if rng.random() < 0.3:  # zigzag across
        xs = np.linspace(20, SIDE - 20, n)
        ys = SIDE / 2 + rng.uniform(15, 40) * np.where(np.arange(n) % 2 == 0, 1, -1) + rng.normal(0, 5, n)
        pts = list(zip(xs.tolist(), ys.tolist(), strict=True))
    else:
        p = np.array(_point(rng, 35))
        pts = []
        for _ in range(n):
            p = np.clip(p + rng.normal(0, 22, 2), 15, SIDE - 15)
            pts.append((float(p[0]), float(p[1])))
    return _draw(_canvas(), pts, _width(rng))


def _letter(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    a = np.zeros((SIDE, SIDE), np.uint8)
    font = int(rng.choice(FONTS))
    ch = str(rng.choice(list(LETTERS)))
    scale, thick = rng.uniform(2.0, 3.2), int(rng.integers(2, 10))
    (tw, th), _ = cv2.getTextSize(ch, font, scale, thick)
    org = (max(0, (SIDE - tw) // 2), min(SIDE - 1, (SIDE + th) // 2))
    cv2.putText(a, ch, org, font, scale, 255, thick, cv2.LINE_AA)
    return a.astype(np.float32) / 255.0


def _polygon(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A square, triangle, star, cross or arrow, drawn in strokes."""
    c, r = SIDE / 2, rng.uniform(25, 45)
    kind = rng.choice(["square", "triangle", "star", "cross", "plus", "arrow"])
    turn = rng.uniform(-0.3, 0.3)
    if kind in ("square", "triangle", "star"):
        k = {"square": 4, "triangle": 3, "star": 5}[str(kind)]
        step = 2 if kind == "star" else 1
        angles = [turn + math.pi / 4 * (kind == "square") + 2 * math.pi * step * j / k for j in range(k + 1)]
        pts = [(c + r * math.cos(t), c + r * math.sin(t)) for t in angles]
        return _draw(_canvas(), pts, _width(rng))
    a, w = _canvas(), _width(rng)
    base = turn + (math.pi / 4 if kind == "cross" else 0.0)
    for t in (base, base + math.pi / 2):
        dx, dy = r * math.cos(t), r * math.sin(t)
        a = _draw(a, [(c - dx, c - dy), (c + dx, c + dy)], w)
    if kind == "arrow":
        a = _canvas()
        a = _draw(a, [(c - r, c), (c + r, c)], w)
        a = _draw(a, [(c + r * 0.4, c - r * 0.5), (c + r, c), (c + r * 0.4, c + r * 0.5)], w)
    return a


def _pair(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two (or three) training digits side by side: several digits, which ``predict`` must not read as one."""
    n = 2 if rng.random() < 0.8 else 3
    gap = int(rng.integers(-3, 5))
    parts = []
    for _ in range(n):
        d = images[int(rng.integers(len(labels)))]
        cols = np.flatnonzero(d.max(0) > 40)
        parts.append(d[:, cols[0] : cols[-1] + 1].astype(np.float32) / 255.0)
    width = sum(p.shape[1] for p in parts) + gap * (n - 1) + 8
    row = np.zeros((28, max(width, 28)), np.float32)
    x = 4
    for p in parts:
        row[:, x : x + p.shape[1]] = np.maximum(row[:, x : x + p.shape[1]], p)
        x += p.shape[1] + gap
    return cv2.resize(row, (row.shape[1] * FINE, SIDE), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _blot(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A solid irregular patch (an ink blot, a smudge)."""
    c, r = SIDE / 2, rng.uniform(15, 40)
    k = int(rng.integers(5, 11))
    angles = np.sort(rng.uniform(0, 2 * math.pi, k))
    radii = r * rng.uniform(0.5, 1.0, k)
    pts = np.stack([c + radii * np.cos(angles), c + radii * np.sin(angles)], 1).astype(np.int32)
    a = _canvas()
    cv2.fillPoly(a, [pts], 1.0, cv2.LINE_AA)
    return cv2.GaussianBlur(a, (0, 0), 1.5)


MAKERS = {
    "dot": _dot,
    "dash": _dash,
    "scribble": _scribble,
    "letter": _letter,
    "shape": _polygon,
    "pair": _pair,
    "blot": _blot,
}
NONDIGIT_MIX = [0.1, 0.15, 0.2, 0.2, 0.15, 0.1, 0.1]
