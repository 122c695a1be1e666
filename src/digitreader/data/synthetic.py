"""The realistic evaluation set, made only from the official MNIST **test** digits.

Three parts, reproducible by seed (each image has its own generator, seeded by
``(seed, part, index)``, so a larger ``count`` only appends images):

- ``digits`` (4a): one digit photographed on paper: pen, pencil or marker of any width,
  paper texture and rules, a lighting gradient and shadow, off-axis view and rotation,
  any position and size in a large frame, blur, sensor noise and JPEG compression.
- ``numbers`` (4b): numbers of 2-8 digits written on white paper and scanned, the
  digits ``apart``, ``close`` or with ``touching`` pairs (the ``kind`` column).
- ``photos`` (4c): the same numbers (same MNIST digits, same kind) photographed like 4a.

``write_evalset`` writes PNG files and ``labels.csv`` (file, part, label, kind, mnist_test_indices);
read the labels as text: a number may begin with 0.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from digitreader.data.render import (
    InkStyle,
    desk,
    digit_strokes,
    finish,
    ink_style,
    lay_ink,
    lighting,
    maps_inside,
    mirrors_ink,
    paper,
    perspective,
    tilt,
    view_matrix,
)

PARTS = ("digits", "numbers", "photos")
KINDS = ("apart", "close", "touching")
FRAMES = ((480, 640), (600, 800), (768, 1024), (960, 1280))  # (height, width), landscape


@dataclass(frozen=True)
class Sample:
    """One image of the evaluation set and its truth."""

    part: str
    index: int
    image: np.ndarray  # uint8 RGB
    label: str
    kind: str  # "single" for 4a, else apart / close / touching
    sources: tuple[int, ...]  # MNIST test indices

    @property
    def name(self) -> str:
        return f"{self.part}/{self.index:05d}.png"


def render_digit_photo(digit28: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A photo (uint8 RGB) of one MNIST digit written on paper, anywhere and at any size in the frame."""
    h, w = _frame(rng)
    style = ink_style(rng)
    height = max(24, round(rng.uniform(0.1, 0.6) * min(h, w)))
    alpha = tilt(digit_strokes(digit28, height, rng, style.width), rng.uniform(-10, 10), rng.uniform(-0.15, 0.15))
    return _photograph(alpha, style, (h, w), height, rng)


def number_strokes(
    digits28: list[np.ndarray], rng: np.random.Generator, kind: str, height: int, width: float = 1.0
) -> np.ndarray:
    """Ink coverage (float32) of a handwritten number: the digits in a row, ``apart``, ``close`` or ``touching``."""
    return number_layers(digits28, rng, kind, height, width)[0]


def number_layers(
    digits28: list[np.ndarray], rng: np.random.Generator, kind: str, height: int, width: float = 1.0
) -> tuple[np.ndarray, list[np.ndarray]]:
    """``number_strokes``, and each digit's own coverage on the same canvas (without joining strokes)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    patches = [
        tilt(
            digit_strokes(d, max(12, round(height * rng.uniform(0.9, 1.08))), rng, width),
            rng.uniform(-6, 6),
            rng.uniform(-0.1, 0.1),
        )
        for d in digits28
    ]
    touching = _touching_pairs(len(patches), rng) if kind == "touching" else set()
    baseline = round(1.6 * height)
    x = 0
    placed: list[tuple[np.ndarray, int, int]] = []
    joins: list[tuple[np.ndarray, int, int]] = []
    for i, p in enumerate(patches):
        y = baseline - p.shape[0] + round(rng.uniform(-0.05, 0.05) * height)
        if placed:
            prev, px, py = placed[-1]
            edge = px + prev.shape[1]
            if i - 1 in touching:
                x, join = _touch(prev, px, py, p, edge, y, height)
                if join is not None:
                    joins.append((join, px, min(py, y)))
            else:
                gap = {"apart": (0.2, 0.6), "close": (0.03, 0.14), "touching": (0.08, 0.4)}[kind]
                x = edge + round(rng.uniform(*gap) * height)
                while _overlap(prev, px, py, p, x, y) > 0:
                    x += 1
        placed.append((p, x, y))
    everything = placed + joins
    top = min(py for _, _, py in everything)
    left = min(px for _, px, _ in everything)
    bottom = max(py + p.shape[0] for p, _, py in everything)
    right = max(px + p.shape[1] for p, px, _ in everything)
    canvas = np.zeros((bottom - top, right - left), np.float32)
    for p, px, py in everything:
        region = canvas[py - top : py - top + p.shape[0], px - left : px - left + p.shape[1]]
        region[:] = 1.0 - (1.0 - region) * (1.0 - p)
    rows, cols = np.flatnonzero(canvas.max(1) > 0.02), np.flatnonzero(canvas.max(0) > 0.02)
    crop = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    layers = []
    for p, px, py in placed:
        layer = np.zeros_like(canvas)
        layer[py - top : py - top + p.shape[0], px - left : px - left + p.shape[1]] = p
        layers.append(layer[crop])
    return canvas[crop], layers


def render_number(
    digits28: list[np.ndarray], rng: np.random.Generator, kind: str = "apart", photo: bool = False
) -> np.ndarray:
    """A number written on paper (uint8 RGB): scanned (``photo=False``) or photographed like 4a."""
    style = ink_style(rng)
    if photo:
        h, w = _frame(rng)
        height = round(rng.uniform(0.08, 0.3) * min(h, w))
        alpha = number_strokes(digits28, rng, kind, max(20, height), style.width)
        fit = min(1.0, 0.8 * w / alpha.shape[1])
        if fit < 1.0:
            alpha = cv2.resize(
                alpha, (round(alpha.shape[1] * fit), max(2, round(alpha.shape[0] * fit))), interpolation=cv2.INTER_AREA
            )
            height = round(height * fit)
        return _photograph(alpha, style, (h, w), max(height, 12), rng)
    height = int(rng.integers(28, 80))
    alpha = number_strokes(digits28, rng, kind, height, style.width)
    m = [round(rng.uniform(0.3, 1.0) * height) for _ in range(4)]
    page = paper(alpha.shape[0] + m[0] + m[1], alpha.shape[1] + m[2] + m[3], rng)
    lay_ink(page, alpha, m[2], m[0], style, rng)
    return finish(page, rng, blur=rng.uniform(0.0, 0.7), noise=rng.uniform(0.0, 0.01), quality=None)


def _frame(rng: np.random.Generator) -> tuple[int, int]:
    h, w = FRAMES[rng.integers(len(FRAMES))]
    return (w, h) if rng.random() < 0.3 else (h, w)  # some portrait shots


def _photograph(
    alpha: np.ndarray, style: InkStyle, frame: tuple[int, int], digit_height: int, rng: np.random.Generator
) -> np.ndarray:
    """Put ink on a sheet filling the frame, light it, and take the picture."""
    h, w = frame
    page = paper(h, w, rng, ruled=0.2)
    ah, aw = alpha.shape
    for _ in range(20):  # a view that keeps all the ink in the picture, and none of it mirrored
        x = int(rng.integers(0, max(1, w - aw)))
        y = int(rng.integers(0, max(1, h - ah)))
        view = view_matrix(h, w, rng, amount=rng.uniform(0.0, 0.04), degrees=rng.uniform(-10, 10))
        if maps_inside(view, (x, y, aw, ah), h, w, margin=0.03) and not mirrors_ink(view, (x, y, aw, ah), h, w):
            break
    else:
        x, y, view = (w - aw) // 2, (h - ah) // 2, np.eye(3)
    lay_ink(page, alpha, x, y, style, rng)
    if rng.random() < 0.1:
        page = desk(page, rng, keep=(x, y, aw, ah))
    page *= lighting(h, w, rng)[..., None]
    page *= rng.uniform(0.92, 1.06, 3).astype(np.float32)  # white balance
    page = perspective(page, view)
    blur = rng.uniform(0.0, 0.03) * digit_height if rng.random() < 0.7 else 0.0
    motion = rng.uniform(2, 0.05 * digit_height + 2) if rng.random() < 0.1 else 0.0
    return finish(
        page, rng, blur=min(blur, 4.0), noise=rng.uniform(0.004, 0.03), quality=int(rng.integers(35, 96)), motion=motion
    )


def _touching_pairs(n: int, rng: np.random.Generator) -> set[int]:
    """Indices i such that digits i and i + 1 touch: one pair, two in longer numbers."""
    wanted = 1 if n < 5 else int(rng.integers(1, 3))
    chosen: set[int] = set()
    for i in rng.permutation(n - 1):
        if len(chosen) < wanted and not ({i - 1, i + 1} & chosen):
            chosen.add(int(i))
    return chosen


def _overlap(a: np.ndarray, ax: int, ay: int, b: np.ndarray, bx: int, by: int) -> int:
    """Number of pixels where both ink patches (placed at their corners) are more than half ink."""
    x0, y0 = max(ax, bx), max(ay, by)
    x1, y1 = min(ax + a.shape[1], bx + b.shape[1]), min(ay + a.shape[0], by + b.shape[0])
    if x0 >= x1 or y0 >= y1:
        return 0
    sa = a[y0 - ay : y1 - ay, x0 - ax : x1 - ax] > 0.5
    sb = b[y0 - by : y1 - by, x0 - bx : x1 - bx] > 0.5
    return int((sa & sb).sum())


def _touch(
    prev: np.ndarray, px: int, py: int, p: np.ndarray, edge: int, y: int, height: int
) -> tuple[int, np.ndarray | None]:
    """Place the next digit so that its strokes touch the previous one's.

    It slides left from the previous digit's edge until the strokes meet (then a little
    further), but never overlaps more than 30% of the narrower digit's width, as people
    do not write digits on top of each other. Digits that still do not meet are joined by
    a short connecting stroke, as in joined-up writing; that stroke is returned (full-size
    ink patch of the pair, with the corner of ``prev``) or None.
    """
    limit = round(0.3 * min(prev.shape[1], p.shape[1]))
    press = max(1, round(0.02 * height))
    for shift in range(limit + 1):
        if _overlap(prev, px, py, p, edge - shift, y) > 0:
            return edge - min(limit, shift + press), None
    x = edge - limit
    return x, _ligature(prev, px, py, p, x, y, height)


def _ligature(prev: np.ndarray, px: int, py: int, p: np.ndarray, x: int, y: int, height: int) -> np.ndarray:
    """A pen stroke joining the closest points of two placed digits, as a patch with corner (px, min(py, y))."""
    top = min(py, y)
    bottom = max(py + prev.shape[0], y + p.shape[0])
    canvas = np.zeros((bottom - top, x + p.shape[1] - px), np.float32)
    ay, ax = np.nonzero(prev > 0.5)
    by, bx = np.nonzero(p > 0.5)
    a = np.stack([ay + py - top, ax], 1)[prev[ay, ax].argsort()[::-1][:400]]
    b = np.stack([by + y - top, bx + x - px], 1)[p[by, bx].argsort()[::-1][:400]]
    # The closest pair, looking only at the facing halves of each digit.
    a = a[a[:, 1] >= np.median(a[:, 1])]
    b = b[b[:, 1] <= np.median(b[:, 1])]
    d = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    i, j = np.unravel_index(int(d.argmin()), d.shape)
    width = max(1, round(0.08 * height))
    cv2.line(canvas, (int(a[i, 1]), int(a[i, 0])), (int(b[j, 1]), int(b[j, 0])), 1.0, width, cv2.LINE_AA)
    return canvas


def _mnist_test(data_dir: str | Path | None) -> tuple[np.ndarray, np.ndarray]:
    from digitreader.data import load_mnist

    return load_mnist("test", data_dir)


def samples(
    part: str,
    count: int,
    seed: int = 0,
    data_dir: str | Path | None = None,
    mnist: tuple[np.ndarray, np.ndarray] | None = None,
    start: int = 0,
) -> Iterator[Sample]:
    """Generate samples ``start .. start + count - 1`` of one part in memory.

    ``mnist``: optional (images, labels) of the test split, to avoid reading it again.
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    images, labels = mnist if mnist is not None else _mnist_test(data_dir)
    p = PARTS.index(part)
    for i in range(start, start + count):
        if part == "digits":
            k = int(np.random.default_rng([seed, 0, i]).integers(len(images)))
            img = render_digit_photo(images[k], np.random.default_rng([seed, p, 1, i]))
            yield Sample(part, i, img, str(int(labels[k])), "single", (k,))
            continue
        spec = np.random.default_rng([seed, 1, 0, i])  # numbers and photos share the same numbers
        length = int(spec.integers(2, 9))
        kind = KINDS[i % len(KINDS)]
        idx = tuple(int(v) for v in spec.integers(len(images), size=length))
        img = render_number([images[k] for k in idx], np.random.default_rng([seed, p, 1, i]), kind, part == "photos")
        yield Sample(part, i, img, "".join(str(int(labels[k])) for k in idx), kind, idx)


def write_evalset(
    out_dir: Path, count: int = 1000, seed: int = 0, data_dir: str | Path | None = None
) -> dict[str, int]:
    """Write ``count`` PNG images per part into ``out_dir/<part>/`` and ``out_dir/labels.csv``; return {part: n}."""
    out_dir = Path(out_dir)
    mnist = _mnist_test(data_dir)
    written: dict[str, int] = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "labels.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "part", "label", "kind", "mnist_test_indices"])
        for part in PARTS:
            (out_dir / part).mkdir(exist_ok=True)
            n = 0
            for s in samples(part, count, seed, mnist=mnist):
                cv2.imwrite(str(out_dir / s.name), cv2.cvtColor(s.image, cv2.COLOR_RGB2BGR))
                writer.writerow([s.name, s.part, s.label, s.kind, " ".join(map(str, s.sources))])
                n += 1
            written[part] = n
    return written
