"""Any image of one digit -> the 28x28 array the model expects, prepared the way MNIST was.

MNIST digits were cropped to their ink, scaled to fit a 20x20 box keeping the aspect ratio
(anti-aliased, hence grey levels) and placed in a 28x28 field so that their centre of mass
is at the centre, white ink on black. ``preprocess`` does the same to a photo, a scan or a
canvas drawing, after turning it into an ink map (``vision.ink``) and picking the digit
among the ink (``vision.blobs``). Stroke width is brought into MNIST's range too: a thin
ball-point line on a large digit would otherwise shrink to a faint hairline.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import cv2
import numpy as np

from digitreader.errors import NoDigitError
from digitreader.vision.blobs import Blob, components, digit_like, drop_blots, gap, merge_strokes, touches_border
from digitreader.vision.ink import WORK_SIDE, InkMap, extract_ink, to_grey
from digitreader.vision.io import load_scaled
from digitreader.vision.small import is_small, small_ink

BOX = 20  # MNIST: the digit fits a 20x20 box ...
FIELD = 28  # ... centred by mass in a 28x28 field
FINE = 4  # stroke width is measured and adjusted at 4x the box (80x80)
# Stroke width of MNIST digits in box pixels (2 * area / perimeter at 4x, median of the test set: 1.83).
MNIST_STROKE = 1.83
THIN, THICK = 0.75, 1.5  # strokes outside [THIN, THICK] x MNIST_STROKE are brought back into range
GROW_TO = 1.3  # thin strokes grow to this x MNIST_STROKE: an even pen line needs more weight than MNIST
SHRINK_TO = 1.1  # and thick ones shrink to this x MNIST_STROKE


class Located(NamedTuple):
    """A digit prepared for the model, where it is, and the image's longest side when it was read as a tiny image."""

    array: np.ndarray  # float32 [28, 28] in [0, 1], white ink on black, MNIST-style
    box: tuple[int, int, int, int]  # x, y, w, h in the image's pixels
    tiny_side: int | None = None  # set for an image read by the tiny-image path (vision.small)


def preprocess(image: Any) -> np.ndarray:
    """float32 [28, 28] in [0, 1], white ink on black, MNIST-style.

    ``image``: anything ``load_image`` accepts. An array that is already MNIST-style
    (28x28, white on black, centred) is returned as it is (scaled to [0, 1]).
    Raises ``ImageError`` for unreadable input and ``NoDigitError`` when there is no ink.
    """
    return locate(image).array


def locate(image: Any) -> Located:
    """``preprocess``, and the digit's box (x, y, w, h) in the image's pixels."""
    ready = as_mnist(image)
    if ready is not None:
        rows, cols = np.flatnonzero(ready.max(1) > 0), np.flatnonzero(ready.max(0) > 0)
        return Located(ready, (int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)))
    scaled = load_scaled(image, work_side=WORK_SIDE)  # a large JPEG decoded at the size it is worked at
    if is_small(scaled.pixels.shape):
        return Located(*small_digit(scaled.pixels), tiny_side=max(scaled.pixels.shape[:2]))
    ink = extract_ink(scaled)
    labels, blobs = components(ink.mask)
    if not blobs:
        raise NoDigitError()
    groups = drop_blots(merge_strokes(blobs), labels)
    digit = main_digit(groups, ink.mask.shape)
    return Located(mnist_style(digit_ink(ink, labels, digit)), ink.to_original(digit.box))


def small_digit(pixels: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """``locate`` for a tiny image (``vision.small``): its ink fitted and centred like MNIST, and its box."""
    ink = small_ink(to_grey(pixels))
    rows, cols = np.flatnonzero(ink.max(1) > 0.05), np.flatnonzero(ink.max(0) > 0.05)
    if rows.size == 0:
        raise NoDigitError()
    box = (int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))
    return mnist_style(ink), box


def as_mnist(image: Any) -> np.ndarray | None:
    """The image as float32 [28, 28] in [0, 1] if it is already MNIST-style, else None."""
    if not isinstance(image, np.ndarray):
        return None
    a = np.squeeze(image)
    if a.shape != (FIELD, FIELD) or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        return None
    a = a.astype(np.float32)
    if not np.isfinite(a).all() or a.min() < 0:
        return None
    top = float(a.max())
    if top <= 0:
        return None
    if top > 1.0:
        a = a / 255.0 if top <= 255 else a / top
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    if float(np.median(a)) > 0.2 or float(border.mean()) > 0.05:
        return None  # dark ink on light paper, or a digit cut by the edge: not MNIST-style
    ys, xs = np.mgrid[:FIELD, :FIELD]
    mass = float(a.sum())
    cy, cx = float((a * ys).sum()) / mass, float((a * xs).sum()) / mass
    rows, cols = np.flatnonzero(a.max(1) > 0.1), np.flatnonzero(a.max(0) > 0.1)
    fits = rows.size and (rows[-1] - rows[0] < 23) and (cols[-1] - cols[0] < 23)
    if not fits or abs(cy - 14) > 2.5 or abs(cx - 14) > 2.5:
        return None  # a small array, but not prepared like MNIST: go through the pipeline
    return np.ascontiguousarray(a, dtype=np.float32)


def main_digit(groups: list[Blob], shape: tuple[int, int] | None = None) -> Blob:
    """The digit of a single-digit image: the most digit-like large group, with sizeable groups right beside it.

    Groups count for less when they are flat (a digit is not much wider than tall; the edge
    of a shadow or a rule often is), solid and large (strokes leave most of their box empty;
    a shadow does not) or touch the border (the edge of the sheet, a table), the more so when they
    lie along it. Groups that are surely the sheet's edge are never the digit when any other is there.
    """

    def edge(b: Blob) -> bool:
        return shape is not None and touches_border(b, shape)

    def weight(b: Blob) -> float:
        flat = b.w > 2.5 * b.h
        solid = b.area > 0.6 * b.w * b.h and shape is not None and b.area > 0.02 * shape[0] * shape[1]
        border = (0.25 if edge(b) else 1.0) * (0.25 if b.flush else 1.0)
        return b.area * border * (0.2 if flat else 1.0) * (0.2 if solid else 1.0)

    main = max(digit_like(groups, sure=True), key=weight)
    near = 0.25 * max(main.h, main.w)
    for g in sorted(groups, key=lambda b: -b.area):
        if g is main or g.area < 0.15 * main.area or edge(g):
            continue
        if gap(g, main) <= near:
            main = main.union(g)
    return main


def digit_ink(ink: InkMap, labels: np.ndarray, blob: Blob, keep: np.ndarray | None = None) -> np.ndarray:
    """The ink of one digit, cropped to its box; other components' ink is masked out.

    ``keep`` optionally restricts further (a bool mask of the box, e.g. one side of a cut).
    """
    x, y, w, h = blob.box
    own = np.isin(labels[y : y + h, x : x + w], blob.labels)
    if keep is not None:
        own &= keep
    # A little dilation keeps the anti-aliased fringe the threshold cut off.
    own = cv2.dilate(own.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    return np.where(own, ink.ink[y : y + h, x : x + w], 0.0).astype(np.float32)


def mnist_style(crop: np.ndarray) -> np.ndarray:
    """An ink crop (float, 0 = paper) -> float32 [28, 28]: fit 20x20, MNIST stroke width, centred by mass."""
    crop = _tight(crop)
    if crop is None:
        raise NoDigitError()
    h, w = crop.shape
    fine_side = BOX * FINE
    s = fine_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    fine = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    fine = _tight(_adjust_stroke(_normalise(fine)))
    if fine is None:
        raise NoDigitError()
    s = BOX / max(fine.shape)
    box_size = (max(1, round(fine.shape[1] * s)), max(1, round(fine.shape[0] * s)))
    box = _normalise(cv2.resize(fine, box_size, interpolation=cv2.INTER_AREA))
    return _centre(box)


def _tight(crop: np.ndarray) -> np.ndarray | None:
    rows, cols = np.flatnonzero(crop.max(1) > 0.05), np.flatnonzero(crop.max(0) > 0.05)
    if rows.size == 0:
        return None
    return np.ascontiguousarray(crop[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], dtype=np.float32)


def _normalise(a: np.ndarray) -> np.ndarray:
    """Scale so that stroke cores are 1 (as in MNIST), clip to [0, 1]."""
    vals = a[a > 0.05]
    if vals.size >= 8:
        k = int(0.95 * (vals.size - 1))
        top = float(np.partition(vals, k)[k])
    else:
        top = float(a.max())
    if top <= 1e-6:
        return a
    return np.clip(a / top, 0.0, 1.0, out=a if a.flags.writeable else None)


def stroke_width(fine: np.ndarray) -> float:
    """Stroke width in box pixels (2 * area / perimeter of the half-ink mask at 4x scale)."""
    b = (fine > 0.5).view(np.uint8) if fine.dtype == bool else (fine > 0.5).astype(np.uint8)
    area = int(b.sum())
    if area == 0:
        return 0.0
    inner = cv2.erode(b, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    perimeter = area - int(inner.sum())
    return 2.0 * area / max(perimeter, 1) / FINE


def _adjust_stroke(fine: np.ndarray) -> np.ndarray:
    width = stroke_width(fine)
    if width <= 0:
        return fine
    if width < THIN * MNIST_STROKE:
        grow = round((GROW_TO * MNIST_STROKE - width) * FINE)
        if grow >= 1:
            k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow + 1, grow + 1))
            pad = grow + 1
            padded = cv2.copyMakeBorder(fine, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
            return cv2.dilate(padded, k)
    elif width > THICK * MNIST_STROKE:
        shrink = round((width - SHRINK_TO * MNIST_STROKE) * FINE)
        if shrink >= 1:
            k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (shrink + 1, shrink + 1))
            thinner = cv2.erode(fine, k, borderType=cv2.BORDER_CONSTANT, borderValue=0)
            if (thinner > 0.5).sum() >= 0.35 * (fine > 0.5).sum():  # never erase a stroke
                return thinner
    return fine


def _centre(box: np.ndarray) -> np.ndarray:
    """Place the box in a 28x28 field with its centre of mass at (14, 14), as MNIST did."""
    box = _tight(box)
    if box is None:
        raise NoDigitError()
    h, w = box.shape
    mass = float(box.sum())
    ys, xs = np.indices(box.shape)
    cy = float((box * ys).sum()) / mass
    cx = float((box * xs).sum()) / mass
    top = int(np.clip(round(FIELD / 2 - cy), 0, FIELD - h))
    left = int(np.clip(round(FIELD / 2 - cx), 0, FIELD - w))
    out = np.zeros((FIELD, FIELD), np.float32)
    out[top : top + h, left : left + w] = box
    return out
