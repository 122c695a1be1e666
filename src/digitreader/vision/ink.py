"""Turn any image into an ink map: 0 where the paper (or canvas) is, towards 1 on the strokes.

The steps, each cheap at the working resolution (at most ``WORK_SIDE`` pixels a side):

1. grey: luminance; a transparent background is composited to contrast with the ink.
2. polarity: dark ink on light paper, or light ink (chalk, MNIST, a white pen) on dark,
   decided by which thin structures carry more contrast (black-hat against top-hat).
3. paper: a smooth estimate of the paper's brightness (a high percentile over a coarse grid),
   so shadows and lighting gradients divide out: ``ink = 1 - grey / paper``.
4. thresholds: from the noise of the paper and the contrast of the strokes, with hysteresis
   (faint parts of a stroke are kept when they touch a clear part).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# Images larger than this (longest side, pixels) are reduced by an integer factor first:
# 4000x3000 -> 1000x750 (an integer INTER_AREA reduction is about 6x faster than a fractional one).
WORK_SIDE = 1024
PAPER_GRID = 32  # the paper estimate lives on a grid of at most 32 cells a side
PAPER_WINDOW = 9  # cells; about a quarter of the image: thick strokes never fill it
PAPER_PERCENTILE = 80  # the paper is what at least 20% of a window shows
MIN_CONTRAST = 0.10  # ink must be at least 10% darker than its paper (pencil is ~25%)


@dataclass(frozen=True)
class InkMap:
    """The ink of an image at the working resolution (``scale`` original pixels per pixel)."""

    ink: np.ndarray  # float32 HxW, 0 = paper, 1 = a stroke as dark as the typical stroke
    mask: np.ndarray  # bool HxW, the ink pixels (hysteresis threshold)
    scale: int  # working pixel -> original pixels
    dark_ink: bool  # True: dark ink on light paper
    contrast: float  # typical stroke contrast (1 - ink / paper), 0 when no ink
    shape: tuple[int, int]  # the original image's (height, width)


def to_grey(image: np.ndarray) -> np.ndarray:
    """uint8 HxW luminance of a uint8 HxW / HxWx3 (RGB) / HxWx4 (RGBA) image."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return _flatten_alpha(image)
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def _flatten_alpha(rgba: np.ndarray) -> np.ndarray:
    """Composite RGBA onto a plain background that makes the transparent part read as paper.

    A canvas drawing is a few opaque strokes on a transparent field: the background is then
    the opposite of the strokes' brightness, so white and black pens both read as ink.
    A mostly opaque image (a photo with a transparent border) is padded with its own mean.
    """
    alpha = rgba[..., 3]
    grey = cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]), cv2.COLOR_RGB2GRAY)
    if int(alpha.min()) == 255:
        return grey
    a = alpha.astype(np.float32) / 255.0
    weight = float(a.sum())
    if weight < 1e-6:
        return np.full(grey.shape, 255, np.uint8)  # fully transparent: blank paper
    mean = float((grey * a).sum()) / weight
    opaque_fraction = weight / a.size
    # Mostly transparent: strokes on an empty field. Mostly opaque: a picture with a transparent margin.
    background = (255.0 if mean < 128 else 0.0) if opaque_fraction < 0.5 else mean
    out = grey.astype(np.float32) * a + background * (1.0 - a)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def reduce(grey: np.ndarray, side: int = WORK_SIDE) -> tuple[np.ndarray, int]:
    """Shrink by the smallest integer factor that brings the longest side to ``side`` or less."""
    h, w = grey.shape
    f = max(1, math.ceil(max(h, w) / side))
    if f == 1:
        return grey, 1
    hh, ww = h // f, w // f
    small = cv2.resize(grey[: hh * f, : ww * f], (ww, hh), interpolation=cv2.INTER_AREA)
    return small, f


def is_dark_ink(grey: np.ndarray) -> bool:
    """True when the thin structures of the image are dark on light (pen on paper).

    Strokes are thin: a black-hat (closing minus image) lights up dark thin strokes and a
    top-hat light ones. Summed over a few scales this does not depend on the stroke width;
    smooth shadows and the edge of a sheet on a table respond weakly to both.
    """
    h, w = grey.shape
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    dark = light = 0.0
    for side in (128, 64, 32):
        if max(h, w) <= side // 2:
            continue
        f = side / max(h, w)
        g = (
            grey
            if f >= 1
            else cv2.resize(grey, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        )
        dark += float(cv2.morphologyEx(g, cv2.MORPH_BLACKHAT, kernel).mean())
        light += float(cv2.morphologyEx(g, cv2.MORPH_TOPHAT, kernel).mean())
    return dark >= light


def paper(grey: np.ndarray) -> np.ndarray:
    """Smooth estimate of the paper brightness (dark-ink form), float32, same shape as ``grey``."""
    h, w = grey.shape
    f = min(1.0, PAPER_GRID / max(h, w))
    gh, gw = max(1, round(h * f)), max(1, round(w * f))
    coarse = cv2.resize(grey, (gw, gh), interpolation=cv2.INTER_AREA) if f < 1 else grey
    r = PAPER_WINDOW // 2
    padded = np.pad(coarse.astype(np.float32), r, mode="reflect" if min(gh, gw) > r else "edge")
    windows = sliding_window_view(padded, (PAPER_WINDOW, PAPER_WINDOW)).reshape(gh, gw, -1)
    k = round(PAPER_PERCENTILE / 100 * (windows.shape[-1] - 1))
    level = np.partition(windows, k, axis=-1)[..., k]
    level = cv2.GaussianBlur(level, (0, 0), sigmaX=1.0)
    if (gh, gw) != (h, w):
        level = cv2.resize(level, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.maximum(level, 8.0)


def extract_ink(image: np.ndarray, work_side: int = WORK_SIDE) -> InkMap:
    """The ink map of a uint8 image (as ``load_image`` returns)."""
    grey_full = to_grey(image)
    grey, scale = reduce(grey_full, work_side)
    dark = is_dark_ink(grey)
    if not dark:
        grey = 255 - grey
    residual = 1.0 - grey.astype(np.float32) / paper(grey)
    return _threshold(residual, scale, dark, grey_full.shape)


def _threshold(residual: np.ndarray, scale: int, dark: bool, shape: tuple[int, int]) -> InkMap:
    sample = residual[::2, ::2] if residual.size > 40_000 else residual
    centre = float(np.median(sample))
    sigma = 1.4826 * float(np.median(np.abs(sample - centre)))
    floor = centre + max(5.0 * sigma, 0.03) + 0.02
    strong = residual > max(floor, MIN_CONTRAST)
    empty = InkMap(np.zeros_like(residual), np.zeros(residual.shape, bool), scale, dark, 0.0, shape)
    if not strong.any():
        return empty
    contrast = float(np.percentile(residual[strong], 90))
    if contrast < MIN_CONTRAST:
        return empty
    hi = max(floor, 0.45 * contrast, MIN_CONTRAST)
    lo = max(0.7 * floor, 0.25 * contrast)
    mask = hysteresis(residual, lo, hi)
    ink = np.clip((residual - 0.5 * lo) / (contrast - 0.5 * lo), 0.0, 1.0)
    ink[~cv2.dilate(mask.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)] = 0.0
    return InkMap(ink.astype(np.float32), mask, scale, dark, contrast, shape)


def hysteresis(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Pixels above ``lo`` that are connected to a pixel above ``hi``."""
    weak = (values > lo).view(np.uint8) if values.dtype == bool else (values > lo).astype(np.uint8)
    n, labels = cv2.connectedComponents(weak, connectivity=8)
    if n <= 1:
        return np.zeros(values.shape, bool)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[values > hi])] = True
    keep[0] = False
    return keep[labels]
