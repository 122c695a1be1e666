"""Numbers as they sit in real documents, made from MNIST digits: the field reader's training data
and the cheque benchmark.

``field_sample`` draws one field: a handwritten number in a register's margin (the book's black
edge, ruled and column lines, a tick above, an underline, a dot after, printed words below, a
struck-out number above or below), on a cheque's amount line (a security pattern, a printed box
or baseline and currency, thousands separators, a trailing ``-`` or ``/=``), in a row of a ruled
sheet (with scraps of the rows above and below), or in a form's printed boxes. It returns the
image as a scanner or a phone gives it (uint8 grey, any size) and its text: the digits only.
Everything else is drawn but is not text, which is what teaches the reader to ignore it.

Pure functions of a ``numpy.random.Generator``. Training uses MNIST *training* digits; the
benchmark uses *test* digits with its own seed.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from digitreader.data.render import digit_strokes, smooth_noise, tilt
from digitreader.data.styles import FONTS, LETTERS, continental

KINDS = ("register", "cheque", "row", "boxes")
MIX = (0.4, 0.25, 0.25, 0.1)
MARKS = ".,-/=' "  # drawn between or after digits; never part of the text
STRUCK = 0.2  # registers with a struck-out number above or below the one that counts
WORDS = ("Kr", "kr.", "DKK", "EUR", "$", "No.", "Nr", "Sum", "Total", "Tryk", "for", "Kirke", "den", "og", "til")


class Digits:
    """MNIST images grouped by label, so a field can ask for a given digit."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images = images
        self.by_label = [np.flatnonzero(labels == d) for d in range(10)]

    def glyph(self, digit: int, height: int, pen: float, slant: float, rng: np.random.Generator) -> np.ndarray:
        """A random writer's ``digit``, ``height`` px tall: float32 ink coverage in [0, 1]."""
        i = int(rng.choice(self.by_label[digit]))
        image = self.images[i]
        if digit in (0, 1, 7) and rng.random() < 0.5:
            image = continental(image, digit, rng)
        ink = digit_strokes(image, height, rng, pen)
        return tilt(ink, rng.uniform(-6, 6), slant + rng.uniform(-0.08, 0.08))


def field_sample(digits: Digits, rng: np.random.Generator, kind: str | None = None) -> tuple[np.ndarray, str, str]:
    """One field: (uint8 grey image, its digits as text, its kind)."""
    kind = kind or str(rng.choice(KINDS, p=MIX))
    tokens = TEXTS[kind](rng)
    h = int(rng.integers(14, 56)) if kind != "register" else int(rng.integers(14, 44))
    pen = float(rng.uniform(0.3, 0.8) if rng.random() < 0.6 else rng.uniform(0.8, 1.4))
    slant = float(rng.uniform(-0.45, 0.15))
    number = write(tokens, digits, h, pen, slant, rng)
    page, ink = SCENES[kind](number, h, pen, digits, rng)
    image = _finish(page, ink, rng)
    return image, "".join(t for t in tokens if t.isdigit()), kind


def field_batch(
    images: np.ndarray, labels: np.ndarray, count: int, seed: int, start: int = 0, kind: str | None = None
) -> list[tuple[np.ndarray, str]]:
    """Fields ``start .. start + count - 1`` of a run: field i depends only on (seed, i)."""
    digits = Digits(images, labels)
    out = []
    for i in range(start, start + count):
        image, text, _ = field_sample(digits, np.random.default_rng([seed, i]), kind)
        out.append((image, text))
    return out


def write_fields(
    out: Path, images: np.ndarray, labels: np.ndarray, count: int, seed: int, kind: str | None = None
) -> Path:
    """Write ``count`` fields as PNG files and ``labels.csv`` (filename, label, kind) to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    digits = Digits(images, labels)
    rows = []
    for i in range(count):
        image, text, k = field_sample(digits, np.random.default_rng([seed, i]), kind)
        name = f"{k}-{i:05d}.png"
        if not cv2.imwrite(str(out / name), image):
            raise OSError(f"could not write {out / name}")
        rows.append((name, text, k))
    path = out / "labels.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["filename", "label", "kind"])
        w.writerows(rows)
    return path


# --- what is written --------------------------------------------------------------------------


def _digits(rng: np.random.Generator, n: int) -> list[str]:
    return [str(int(d)) for d in rng.integers(0, 10, n)]


def _register_text(rng: np.random.Generator) -> list[str]:
    n = int(rng.choice([1, 2, 3], p=[0.42, 0.5, 0.08]))
    tokens = _digits(rng, n)
    if n > 1 and tokens[0] == "0":
        tokens[0] = str(int(rng.integers(1, 10)))
    if rng.random() < 0.5:
        tokens.append(".")
    return tokens


def _cheque_text(rng: np.random.Generator) -> list[str]:
    value = int(math.exp(rng.uniform(math.log(1), math.log(999_999))))
    s = str(value)
    sep = str(rng.choice([".", ",", "'", " ", ""], p=[0.35, 0.2, 0.1, 0.1, 0.25]))
    groups = []
    while s:
        groups.insert(0, s[-3:])
        s = s[:-3]
    tokens = list(sep.join(groups)) if sep else list("".join(groups))
    tail = str(
        rng.choice(
            ["", "-", ",-", ".-", "/=", "=", ",00", ".00", ",50", ",--"],
            p=[0.2, 0.2, 0.15, 0.05, 0.1, 0.05, 0.1, 0.05, 0.05, 0.05],
        )
    )
    if rng.random() < 0.15:
        tokens.insert(0, str(rng.choice(["-", "="])))
    return tokens + list(tail)


def _row_text(rng: np.random.Generator) -> list[str]:
    n = int(rng.integers(1, 12))
    tokens = _digits(rng, n)
    if n >= 4 and rng.random() < 0.4:  # grouped: a phone number, a date, an account
        mark = str(rng.choice([" ", "-", "/", ".", " "]))
        for at in sorted(rng.choice(np.arange(1, n), size=int(rng.integers(1, min(3, n - 1) + 1)), replace=False))[
            ::-1
        ]:
            tokens.insert(int(at), mark)
    if rng.random() < 0.2:
        tokens.append(str(rng.choice([".", ",", "-"])))
    return tokens


def _boxes_text(rng: np.random.Generator) -> list[str]:
    return _digits(rng, int(rng.integers(1, 9)))


TEXTS: dict[str, Callable[[np.random.Generator], list[str]]] = {
    "register": _register_text,
    "cheque": _cheque_text,
    "row": _row_text,
    "boxes": _boxes_text,
}


def write(tokens: list[str], digits: Digits, h: int, pen: float, slant: float, rng: np.random.Generator) -> np.ndarray:
    """The tokens written in a row, ``h`` px tall: float32 ink coverage, the digits' baseline at 80%
    of the height (room above and below for ticks and underlines)."""
    stroke = max(1, round(0.11 * h * pen))
    parts: list[tuple[np.ndarray, int]] = []  # (ink, top offset from the row's top)
    gap_digits = rng.uniform(-0.15, 0.3) if rng.random() < 0.75 else rng.uniform(-0.25, -0.05)
    for t in tokens:
        if t.isdigit():
            size = int(h * rng.uniform(0.88, 1.1))
            g = digits.glyph(int(t), size, pen, slant, rng)
            parts.append((g, int(h - g.shape[0] + rng.normal(0, 0.05 * h))))
        else:
            parts.append(_mark(t, h, stroke, rng))
    width = sum(p.shape[1] for p, _ in parts) + int(0.6 * h * len(parts)) + 2 * h
    row = np.zeros((3 * h, width), np.float32)
    x = h // 2
    for k, (p, top) in enumerate(parts):
        y = h + top
        ph, pw = p.shape
        y = int(np.clip(y, 0, row.shape[0] - ph))
        region = row[y : y + ph, x : x + pw]
        np.maximum(region, p[: region.shape[0], : region.shape[1]], out=region)
        gap = gap_digits if (tokens[k].isdigit() and k + 1 < len(tokens) and tokens[k + 1].isdigit()) else 0.12
        x += max(1, pw + int(gap * h + rng.normal(0, 0.04 * h)))
    return _trim(row)


def _mark(t: str, h: int, stroke: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A separator or a dash drawn with the pen: (ink, top offset from the digits' top)."""
    if t == " ":
        return np.zeros((1, int(h * rng.uniform(0.3, 0.7))), np.float32), h - 1
    w = {".": 0.25, ",": 0.25, "'": 0.25, "-": rng.uniform(0.35, 0.8), "/": 0.55, "=": rng.uniform(0.4, 0.8)}[t]
    a = np.zeros((h, max(3, int(w * h) + 2 * stroke)), np.float32)
    W = a.shape[1]
    s = stroke
    if t == ".":
        r = max(1.0, s * rng.uniform(0.6, 1.1))
        cv2.circle(a, (W // 2, h - int(r) - 1), math.ceil(r), 1.0, -1, cv2.LINE_AA)
    elif t == ",":
        cv2.line(a, (W // 2 + s, h - 2 * s - 2), (W // 2 - s, h - 1), 1.0, s, cv2.LINE_AA)
    elif t == "'":
        cv2.line(a, (W // 2 + s, 1), (W // 2, int(0.3 * h)), 1.0, s, cv2.LINE_AA)
    elif t == "-":
        y = int(h * rng.uniform(0.4, 0.75))
        cv2.line(a, (s, y), (W - s - 1, y + int(rng.normal(0, 0.04 * h))), 1.0, s, cv2.LINE_AA)
    elif t == "/":
        cv2.line(a, (W - s - 1, s), (s, h - s - 1), 1.0, s, cv2.LINE_AA)
    else:  # "="
        for y in (h * 0.45, h * 0.7):
            cv2.line(a, (s, int(y)), (W - s - 1, int(y + rng.normal(0, 0.03 * h))), 1.0, s, cv2.LINE_AA)
    return a, 0


def _trim(a: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(a.max(1) > 0.05), np.flatnonzero(a.max(0) > 0.05)
    if rows.size == 0:
        return a[:1, :1]
    return a[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


# --- where it is written: each scene returns (paper grey in [0, 1], handwriting ink) --------------


def _paper(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Paper grey: white to the grey of an old scanned book, uneven, with grain."""
    base = rng.uniform(0.55, 0.98) if rng.random() < 0.35 else rng.uniform(0.85, 0.99)
    p = np.full((h, w), base, np.float32)
    p *= 1.0 + smooth_noise(h, w, rng, cells=int(rng.integers(2, 7)), amp=rng.uniform(0.0, 0.05))
    p += rng.standard_normal((h, w), dtype=np.float32) * np.float32(rng.uniform(0.0, 0.03))
    return p


def _place(canvas: np.ndarray, ink: np.ndarray, x: int, y: int) -> None:
    h, w = ink.shape
    H, W = canvas.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x0 < x1 and y0 < y1:
        region = canvas[y0:y1, x0:x1]
        np.maximum(region, ink[y0 - y : y1 - y, x0 - x : x1 - x], out=region)


def _line(a: np.ndarray, p: tuple[float, float], q: tuple[float, float], width: int, value: float = 1.0) -> None:
    cv2.line(
        a, (int(p[0] * 16), int(p[1] * 16)), (int(q[0] * 16), int(q[1] * 16)), value, max(1, width), cv2.LINE_AA, 4
    )


def _print(a: np.ndarray, text: str, x: int, y: int, height: float, rng: np.random.Generator, value: float) -> None:
    """Printed (or cursive, with the script fonts) words, ``height`` px tall, baseline at y."""
    _put_text(a, text, (x, y), int(rng.choice(FONTS)), max(0.2, height / 22), value, max(1, round(height / 12)))


def _put_text(
    a: np.ndarray, text: str, org: tuple[int, int], font: int, scale: float, value: float, thick: int
) -> None:
    """``cv2.putText`` onto a float layer (it draws only on uint8)."""
    layer = np.zeros(a.shape, np.uint8)
    cv2.putText(layer, text, org, font, scale, 255, thick, cv2.LINE_AA)
    np.maximum(a, layer.astype(np.float32) * np.float32(value / 255), out=a)


def _scrawl(a: np.ndarray, x: int, y: int, h: int, stroke: int, rng: np.random.Generator) -> None:
    """A scrap of handwriting that is not a number: letters, or a tick, or a loop."""
    if rng.random() < 0.5:
        word = "".join(rng.choice(list(LETTERS), size=int(rng.integers(1, 5))))
        font = int(rng.choice([cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_COMPLEX]))
        _put_text(a, word, (x, y), font, max(0.2, h / 25), 1.0, stroke)
        return
    pts = [(x, y)]
    for _ in range(int(rng.integers(1, 4))):
        pts.append((pts[-1][0] + rng.normal(0, 0.5 * h), pts[-1][1] + rng.normal(0, 0.4 * h)))
    for p, q in itertools.pairwise(pts):
        _line(a, p, q, stroke)


def _struck_out(
    ink: np.ndarray,
    box: tuple[int, int, int, int],
    h: int,
    pen: float,
    stroke: int,
    digits: Digits,
    rng: np.random.Generator,
) -> None:
    """A number written just above or below ``box`` and struck out (a line or two through it, a cross, or
    a zigzag over it): a correction, which is not text."""
    x, y, nw, nh = box
    other = write(_digits(rng, int(rng.integers(1, 4))), digits, h, pen, float(rng.uniform(-0.45, 0.15)), rng)
    oh, ow = other.shape
    gap = rng.uniform(-0.1, 0.6) * h
    oy = int(y - oh - gap if rng.random() < 0.4 else y + nh + gap)
    ox = int(x + rng.uniform(-0.3, 0.3) * nw)
    if oy < 0 or oy + oh > ink.shape[0]:
        return
    _place(ink, other, ox, oy)
    left, right, top, bottom = ox + 0.15 * h, ox + ow - 0.15 * h, oy + 0.3 * oh, oy + 0.85 * oh
    how = rng.choice(["line", "lines", "cross", "zigzag"], p=[0.4, 0.2, 0.2, 0.2])
    if how in ("line", "lines"):
        for k in range(1 if how == "line" else 2):
            mid = top + (bottom - top) * (0.5 + 0.3 * (k - 0.5) * (how == "lines")) + rng.normal(0, 0.05 * h)
            tilt = rng.normal(0, 0.15) * (right - left)
            _line(ink, (left - 0.2 * h, mid + tilt / 2), (right + 0.2 * h, mid - tilt / 2), stroke)
    elif how == "cross":
        _line(ink, (left, top - 0.2 * oh), (right, bottom), stroke)
        _line(ink, (left, bottom), (right, top - 0.2 * oh), stroke)
    else:
        n = int(rng.integers(3, 8))
        xs = np.linspace(left - 0.1 * h, right + 0.1 * h, n + 1)
        for k in range(n):
            a, b = (top, bottom) if k % 2 == 0 else (bottom, top)
            _line(ink, (xs[k], a), (xs[k + 1], b), stroke)


def _register(number: np.ndarray, h: int, pen: float, digits: Digits, rng: np.random.Generator):
    """A crop of a register's margin: the book's edge, column rules, the number somewhere in it."""
    nh, nw = number.shape
    # A margin crop stands upright (about 0.45-0.9 as wide as high) with the number a sixth of its height;
    # a quarter are a band of it, as the reader scans a tall crop in bands (``vision.document.bands``).
    H = int(max(nh * (rng.uniform(1.3, 3.0) if rng.random() < 0.25 else rng.uniform(3.0, 8.0)), nh + 20))
    edge_share = rng.uniform(0.0, 0.45) if rng.random() < 0.8 else 0.0
    W = int(max(H * rng.uniform(0.45, 0.9), (nw + 10) / (1 - edge_share)))
    page, ink = _paper(H, W, rng), np.zeros((H, W), np.float32)
    stroke = max(1, round(0.11 * h * pen))
    edge = int(W * edge_share)
    x = int(rng.uniform(edge + 0.05 * W, max(edge + 0.05 * W + 1, W - nw - 2)))
    y = int(rng.uniform(0.08 * H, max(0.08 * H + 1, H - nh - 0.05 * H)))
    _place(ink, number, x, y)
    if rng.random() < 0.5:  # an underline, a flourish under the number
        yy = y + nh + rng.uniform(1, 0.4 * h)
        _line(ink, (x - rng.uniform(0, 0.4) * nw, yy), (x + nw * rng.uniform(0.9, 1.4), yy + rng.normal(0, 2)), stroke)
    if rng.random() < 0.3:  # a tick or mark above
        _scrawl(
            ink, int(x + rng.uniform(-0.3, 1) * nw), int(y - rng.uniform(0.3, 2.0) * h), max(6, h // 2), stroke, rng
        )
    if rng.random() < 0.35:  # neighbouring writing at the crop's side, cut by the border
        side = W - int(rng.uniform(0, 0.2) * h) if rng.random() < 0.7 else edge
        _scrawl(ink, side, int(rng.uniform(0.1, 0.95) * H), h, stroke, rng)
    struck = rng.spawn(1)[0]  # its own stream: the fields drawn before it was added stay as they were
    if struck.random() < STRUCK:
        _struck_out(ink, (x, y, nw, nh), h, pen, stroke, digits, struck)
    rules = np.zeros((H, W), np.float32)
    for _ in range(int(rng.choice([0, 1, 2, 3], p=[0.2, 0.4, 0.3, 0.1]))):  # column rules
        rx = rng.uniform(edge, W)
        if abs(rx - (x + nw / 2)) < nw / 2 + 3:
            continue
        _line(rules, (rx, 0), (rx + rng.normal(0, 3), H), int(rng.integers(1, 3)), rng.uniform(0.3, 0.9))
    if rng.random() < 0.5:  # a horizontal rule, above or below the number
        ry = rng.uniform(0, y) if rng.random() < 0.6 else rng.uniform(y + nh, H)
        _line(rules, (rng.uniform(edge, W / 2), ry), (W, ry + rng.normal(0, 2)), 1, rng.uniform(0.3, 0.9))
    if rng.random() < 0.35:  # printed words at the foot of the page
        _print(
            rules,
            str(rng.choice(WORDS)) + " " + str(rng.choice(WORDS)),
            int(rng.uniform(edge - 20, W / 2)),
            int(H - rng.uniform(2, 0.1 * H)),
            rng.uniform(5, 12),
            rng,
            rng.uniform(0.4, 0.9),
        )
    page *= 1.0 - rules
    if edge:  # the book's edge: black, ragged, a shadow where the page curves into it
        border = edge + smooth_noise(H, 1, rng, cells=4, amp=0.01 * W)[:, 0]
        cols = np.arange(W, dtype=np.float32)[None, :]
        shade = np.clip((cols - border[:, None]) / max(2.0, rng.uniform(1, 0.12 * W)), 0, 1)
        page = page * (rng.uniform(0.0, 0.25) + (1 - rng.uniform(0.0, 0.25)) * shade)
        ink[:, : max(0, edge - 2)] = 0
    return page, ink


def _guilloche(H: int, W: int, rng: np.random.Generator) -> np.ndarray:
    """A cheque's security background: fine interlaced waves (or a dot screen), light."""
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    pattern = np.zeros((H, W), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        f, a, g = rng.uniform(0.05, 0.4), rng.uniform(2, 12), rng.uniform(0.02, 0.1)
        wave = np.sin(
            f * (ys + a * np.sin(g * xs + rng.uniform(0, 6))) + rng.uniform(0, 6) + rng.uniform(-0.2, 0.2) * xs * f
        )
        pattern = np.maximum(pattern, np.clip((wave - 0.85) / 0.15, 0, 1))
    if rng.random() < 0.3:
        step = int(rng.integers(3, 7))
        pattern[::step, ::step] = np.maximum(pattern[::step, ::step], 1.0)
    return pattern * np.float32(rng.uniform(0.08, 0.45))


def _cheque(number: np.ndarray, h: int, pen: float, digits: Digits, rng: np.random.Generator):
    """The amount box of a cheque: security pattern, a printed box or baseline, a currency word."""
    nh, nw = number.shape
    pre = int(rng.uniform(1.5, 3.5) * h) if rng.random() < 0.6 else 0
    H = int(nh * rng.uniform(1.3, 2.6)) + 4
    W = int(nw * rng.uniform(1.05, 1.6)) + pre + 8
    page, ink = _paper(H, W, rng), np.zeros((H, W), np.float32)
    x = pre + int(rng.uniform(2, max(3, W - pre - nw - 2)))
    y = int(rng.uniform(1, max(2, H - nh - 1)))
    _place(ink, number, x, y)
    printed = _guilloche(H, W, rng) if rng.random() < 0.7 else np.zeros((H, W), np.float32)
    dark = rng.uniform(0.5, 0.95)
    if rng.random() < 0.6:  # a printed baseline under the amount
        by = min(H - 2, y + nh + int(rng.uniform(-0.15, 0.3) * h))
        _line(printed, (pre * 0.8, by), (W, by), 1, dark)
    if rng.random() < 0.35:  # a printed box around it
        m = int(rng.integers(1, 4))
        cv2.rectangle(printed, (pre - m, m), (W - m - 1, H - m - 1), dark, 1)
    if pre:
        _print(
            printed,
            str(rng.choice(WORDS[:5])),
            int(rng.uniform(1, 0.3 * pre)),
            int(y + nh * rng.uniform(0.6, 1.0)),
            rng.uniform(0.45, 0.9) * h,
            rng,
            dark,
        )
    page *= 1.0 - np.clip(printed, 0, 1)
    return page, ink


def _row(number: np.ndarray, h: int, pen: float, digits: Digits, rng: np.random.Generator):
    """A row of a ruled or squared sheet, with scraps of the rows above and below at the edges."""
    nh, nw = number.shape
    H = int(nh * rng.uniform(1.2, 2.4)) + 4
    W = nw + int(rng.uniform(0.05, 1.5) * h) + 4
    page, ink = _paper(H, W, rng), np.zeros((H, W), np.float32)
    x, y = int(rng.uniform(1, W - nw - 1)), int(rng.uniform(1, max(2, H - nh - 1)))
    _place(ink, number, x, y)
    rules = np.zeros((H, W), np.float32)
    kind = rng.choice(["plain", "ruled", "squared"], p=[0.35, 0.45, 0.2])
    if kind != "plain":
        spacing = rng.uniform(0.8, 1.3) * nh
        start = y + nh + rng.uniform(-0.1, 0.25) * h
        for ly in np.arange(start % spacing, H, spacing):
            _line(rules, (0, ly), (W, ly + rng.normal(0, 1)), 1, rng.uniform(0.15, 0.5))
        if kind == "squared":
            for lx in np.arange(rng.uniform(0, spacing), W, spacing):
                _line(rules, (lx, 0), (lx, H), 1, rng.uniform(0.15, 0.5))
    stroke = max(1, round(0.11 * h * pen))
    for edge_y in (-1, H):  # the next row's digits reach in at most a third of their height
        if rng.random() < 0.3:
            other = write(_digits(rng, int(rng.integers(1, 6))), digits, h, pen, 0.0, rng)
            reach = int(other.shape[0] * rng.uniform(0.05, 0.3))
            oy = edge_y - other.shape[0] + reach if edge_y < 0 else H - reach
            _place(ink, other, int(rng.uniform(-0.5, 1.0) * W), oy)
    if rng.random() < 0.15:
        _scrawl(ink, int(rng.uniform(0, W)), int(rng.uniform(0.2, 0.9) * H), h, stroke, rng)
    page *= 1.0 - rules
    return page, ink


def _boxes(number: np.ndarray, h: int, pen: float, digits: Digits, rng: np.random.Generator):
    """A form's comb of printed boxes with the digits written into them."""
    nh, nw = number.shape
    H = int(nh * rng.uniform(1.3, 1.8)) + 4
    W = nw + int(rng.uniform(0.3, 1.2) * h) + 4
    page, ink = _paper(H, W, rng), np.zeros((H, W), np.float32)
    x, y = int(rng.uniform(1, W - nw - 1)), int(rng.uniform(1, max(2, H - nh - 1)))
    _place(ink, number, x, y)
    printed = np.zeros((H, W), np.float32)
    cell = rng.uniform(0.7, 1.0) * h
    dark = rng.uniform(0.3, 0.9)
    top, bottom = int(rng.uniform(0, y + 1)), int(rng.uniform(min(H - 1, y + nh), H))
    cv2.line(printed, (0, bottom), (W, bottom), dark, 1)
    if rng.random() < 0.6:
        cv2.line(printed, (0, top), (W, top), dark, 1)
    for bx in np.arange(rng.uniform(0, cell), W, cell):
        cv2.line(printed, (int(bx), top if rng.random() < 0.5 else int(bottom - 0.3 * h)), (int(bx), bottom), dark, 1)
    page *= 1.0 - printed
    return page, ink


SCENES = {"register": _register, "cheque": _cheque, "row": _row, "boxes": _boxes}


def _finish(page: np.ndarray, ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ink onto the page, then light, lens, resolution, noise and JPEG: uint8 grey."""
    pen_grey = rng.uniform(0.0, 0.45)
    opacity = rng.uniform(0.6, 1.0)
    img = page * (1.0 - opacity * ink * (1.0 - pen_grey))
    H, W = img.shape
    ys = np.linspace(0, 1, H, dtype=np.float32)[:, None]
    xs = np.linspace(0, 1, W, dtype=np.float32)[None, :]
    a = rng.uniform(0, 2 * np.pi)
    img *= 1.0 - rng.uniform(0, 0.25) * np.clip(np.cos(a) * xs + np.sin(a) * ys, 0, 1)
    if rng.random() < 0.6:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.2))
    scale = rng.uniform(0.45, 1.3)
    img = cv2.resize(img, (max(4, round(W * scale)), max(4, round(H * scale))), interpolation=cv2.INTER_AREA)
    img = img + rng.standard_normal(img.shape, dtype=np.float32) * np.float32(rng.uniform(0, 0.04))
    if rng.random() < 0.05:
        img = 1.0 - img
    u8 = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        _ok, buf = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 95))])
        u8 = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return u8
