"""Training data made from the official MNIST **training** digits written, photographed and found again.

A sample is a group of 1-4 digits written with a random pen (``data.render``): touching,
close or apart, each digit tilted and sized a little differently, laid on paper, scanned
or photographed, and then read back through the same ink finder and strip preparation
that ``read`` uses (``vision.ink``, ``vision.strip``). So the reader learns from what the
pipeline really hands it, artefacts included, and never sees an evaluation-set digit.
``digit_sample`` does the same for one digit, prepared MNIST-style for the digit model.
"""

from __future__ import annotations

import cv2
import numpy as np

from digitreader.data.render import InkStyle, digit_strokes, finish, ink_style, lay_ink, lighting, paper, tilt
from digitreader.data.synthetic import number_layers, number_strokes
from digitreader.errors import NoDigitError
from digitreader.vision.blobs import Blob, components, merge_strokes
from digitreader.vision.ink import InkMap, extract_ink
from digitreader.vision.preprocess import digit_ink, main_digit, mnist_style
from digitreader.vision.segment import CUTS, cut_pieces
from digitreader.vision.split import cut_paths, piece_masks
from digitreader.vision.strip import group_strip

LENGTHS, LENGTH_P = (1, 2, 3, 4), (0.2, 0.45, 0.25, 0.1)
KINDS, KIND_P = ("touching", "close", "apart"), (0.65, 0.25, 0.1)
PIECE_SHARE = 0.85  # a training cut keeps at least this share of each digit's own ink on its side
WRONG_SHARE = 0.6  # a cut that leaves less than this of a digit on its side is wrong
NOT_A_DIGIT = -1  # the label of what is no digit (a wrong cut's piece, two digits as one): any answer is wrong


def group_sample(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """One training strip (float32 [28, W]) and its digits as text."""
    while True:
        n = int(rng.choice(LENGTHS, p=LENGTH_P))
        idx = rng.integers(len(images), size=n)
        style = ink_style(rng)
        height = int(rng.integers(20, 90))
        digits = [images[k] for k in idx]
        if n == 1:
            ink = digit_strokes(digits[0], height, rng, style.width)
            alpha = tilt(ink, rng.uniform(-8, 8), rng.uniform(-0.15, 0.15))
        else:
            alpha = number_strokes(digits, rng, str(rng.choice(KINDS, p=KIND_P)), height, style.width)
        try:
            return group_strip(_through_pipeline(alpha, style, height, rng)), "".join(str(int(labels[k])) for k in idx)
        except NoDigitError:
            continue  # the ink was lost (a faint pencil in heavy noise): draw another


def digit_sample(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One MNIST training digit written with a random pen, photographed or scanned, and prepared
    MNIST-style by the same code as ``predict`` (float32 [28, 28]), with its label."""
    while True:
        k = int(rng.integers(len(images)))
        style = ink_style(rng)
        height = int(rng.integers(16, 120))
        ink = digit_strokes(images[k], height, rng, style.width)
        alpha = tilt(ink, rng.uniform(-10, 10), rng.uniform(-0.2, 0.2))
        try:
            ink, labels_map, blobs, _ = _photograph(alpha, style, height, rng)
            digit = main_digit(merge_strokes(blobs), ink.mask.shape)
            return mnist_style(digit_ink(ink, labels_map, digit)), int(labels[k])
        except NoDigitError:
            continue


def piece_sample(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> list[tuple[np.ndarray, int]]:
    """Two touching MNIST training digits written, photographed and cut apart as ``read`` cuts them.

    Of the candidate cuts (``vision.split``), the one that leaves most of each digit's own
    ink on its side is taken, and its two pieces are prepared as ``read`` prepares them: what
    the digit model sees of touching digits, stray strokes of the neighbour included, with
    the digits' labels. Then what ``read`` also weighs and is no digit (``NOT_A_DIGIT``): the
    pair read whole, and the two pieces of the cheapest wrong cut when there is one. Empty
    when no candidate keeps ``PIECE_SHARE`` of each digit on its side.
    """
    k = rng.integers(len(images), size=2)
    style = ink_style(rng)
    height = int(rng.integers(20, 90))
    alpha, layers = number_layers([images[i] for i in k], rng, "touching", height, style.width)
    try:
        ink, labels_map, blobs, (x, y) = _photograph(alpha, style, height, rng)
    except NoDigitError:
        return []
    g = _whole(blobs)
    crop = digit_ink(ink, labels_map, g)
    owned = [_on_crop(layer, x, y, ink, g) for layer in layers]
    best, best_share, wrong = None, PIECE_SHARE, None
    for paths in cut_paths(crop, 2, CUTS):
        masks = piece_masks(crop.shape, paths)
        share = min(float(o[m].sum()) / max(float(o.sum()), 1e-6) for o, m in zip(owned, masks, strict=True))
        if share >= best_share:
            best, best_share = paths, share
        elif share < WRONG_SHARE and wrong is None:
            wrong = paths  # the cheapest wrong cut: the one ``read`` is most tempted by
    if best is None:
        return []
    try:
        pieces = cut_pieces(crop, best)
        if pieces is None:
            return []
        found = [(inp, int(labels[i])) for (_, inp), i in zip(pieces, k, strict=True)]
        found.append((mnist_style(crop), NOT_A_DIGIT))  # the pair read as one digit
        bad = cut_pieces(crop, wrong) if wrong is not None else None
    except NoDigitError:
        return []
    return found + [(inp, NOT_A_DIGIT) for _, inp in bad or []]


def overcut_sample(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> list[tuple[np.ndarray, int]]:
    """One MNIST training digit, written, photographed and found as ``read`` finds it, and cut in two.

    The digit whole (with its label) and the two pieces of its cheapest cut, which ``read``
    also weighs and which are no digit (``NOT_A_DIGIT``): a broad 0 is not "10" or "60".
    """
    k = int(rng.integers(len(images)))
    style = ink_style(rng)
    height = int(rng.integers(20, 90))
    alpha = tilt(digit_strokes(images[k], height, rng, style.width), rng.uniform(-8, 8), rng.uniform(-0.15, 0.15))
    try:
        ink, labels_map, blobs, _ = _photograph(alpha, style, height, rng)
        crop = digit_ink(ink, labels_map, _whole(blobs))
        found = [(mnist_style(crop), int(labels[k]))]
        cuts = cut_paths(crop, 2, 1)
        bad = cut_pieces(crop, cuts[0]) if cuts else None
    except NoDigitError:
        return []
    return found + [(inp, NOT_A_DIGIT) for _, inp in bad or []]


def _on_crop(layer: np.ndarray, x: int, y: int, ink: InkMap, g: Blob) -> np.ndarray:
    """A layer laid at (x, y) on the page, at the ink map's working resolution, cropped to ``g``'s box."""
    page = np.zeros(ink.shape, np.float32)
    page[y : y + layer.shape[0], x : x + layer.shape[1]] = layer
    h, w = ink.mask.shape
    if page.shape != (h, w):
        page = cv2.resize(page, (w, h), interpolation=cv2.INTER_AREA)
    return page[g.y : g.y + g.h, g.x : g.x + g.w]


def _through_pipeline(alpha: np.ndarray, style: InkStyle, height: int, rng: np.random.Generator) -> np.ndarray:
    """Write the ink on paper, scan or photograph it, and find it again as ``read`` would: its ink crop."""
    ink, labels, blobs, _ = _photograph(alpha, style, height, rng)
    return digit_ink(ink, labels, _whole(blobs))


def _whole(blobs: list[Blob]) -> Blob:
    group = blobs[0]
    for b in blobs[1:]:
        group = group.union(b)
    return group


def _photograph(
    alpha: np.ndarray, style: InkStyle, height: int, rng: np.random.Generator
) -> tuple[InkMap, np.ndarray, list[Blob], tuple[int, int]]:
    """Write the ink on paper, scan or photograph it, and find its ink again.

    Returns the ink map, its labels and blobs, and where the ink's corner lies on the page (x, y).
    """
    m = [round(rng.uniform(0.2, 0.8) * height) for _ in range(4)]
    h, w = alpha.shape[0] + m[0] + m[1], alpha.shape[1] + m[2] + m[3]
    page = paper(h, w, rng)
    lay_ink(page, alpha, m[2], m[0], style, rng)
    if rng.random() < 0.5:  # a photo: uneven light, blur, noise, JPEG
        page *= lighting(h, w, rng, shadow=0.2)[..., None]
        blur = rng.uniform(0.0, 0.03) * height if rng.random() < 0.7 else 0.0
        rgb = finish(page, rng, blur=min(blur, 3.0), noise=rng.uniform(0.004, 0.03), quality=int(rng.integers(35, 96)))
    else:
        rgb = finish(page, rng, blur=rng.uniform(0.0, 0.7), noise=rng.uniform(0.0, 0.01), quality=None)
    ink = extract_ink(rgb)
    labels, blobs = components(ink.mask)
    if not blobs:
        raise NoDigitError()
    return ink, labels, blobs, (m[2], m[0])


def group_batch(
    images: np.ndarray, labels: np.ndarray, count: int, seed: int, start: int = 0
) -> list[tuple[np.ndarray, str]]:
    """Samples ``start .. start + count - 1``; each has its own generator, seeded by ``(seed, index)``."""
    return [group_sample(images, labels, np.random.default_rng([seed, i])) for i in range(start, start + count)]
