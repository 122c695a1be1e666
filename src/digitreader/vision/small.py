"""Tiny images of one digit (thumbnails, 8x8 to 16x16 scans, tight crops): the ink without the photo pipeline.

A tiny image has no room for the paper around a digit that the photo pipeline (``vision.ink``)
measures: the digit often fills the frame, strokes are a pixel or two wide, and a binarised
scan has no grey levels at all. Here the two grey levels are split by Otsu's threshold, the
paper is the level that lines most of the border (or, when the digit fills the frame, the
level that covers more of the image), and the ink is scaled between the two levels.
"""

from __future__ import annotations

import cv2
import numpy as np

# An image whose longest side is at most this many pixels is read as a tiny image.
SMALL_SIDE = 32
BORDER_CLEAR = 0.9  # paper lines at least this share of the border (else the digit fills the frame)
MIN_LEVELS = 12  # grey levels apart, below which the image holds no ink at all


def is_small(shape: tuple[int, ...]) -> bool:
    """True for an image too small for the photo pipeline (longest side at most ``SMALL_SIDE``)."""
    return max(shape[:2]) <= SMALL_SIDE


def small_ink(grey: np.ndarray) -> np.ndarray:
    """float32 ink map of a tiny grey uint8 image: 0 = paper, 1 = the strokes' core."""
    g = grey.astype(np.float32)
    lo, hi = float(g.min()), float(g.max())
    if hi - lo < MIN_LEVELS:
        return np.zeros_like(g)
    t, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = g > t
    border = np.concatenate([bright[0], bright[-1], bright[1:-1, 0], bright[1:-1, -1]])
    share = float(border.mean())
    if share >= BORDER_CLEAR:
        dark_ink = True
    elif share <= 1 - BORDER_CLEAR:
        dark_ink = False
    else:  # the digit fills the frame: the paper still covers more of it than the strokes do
        dark_ink = float(bright.mean()) >= 0.5
    paper = float(np.median(g[bright] if dark_ink else g[~bright]))
    ink_level = float(np.percentile(g[~bright] if dark_ink else g[bright], 10 if dark_ink else 90))
    if abs(paper - ink_level) < MIN_LEVELS:
        return np.zeros_like(g)
    ink = (paper - g) / (paper - ink_level) if dark_ink else (g - paper) / (ink_level - paper)
    return np.clip(ink, 0.0, 1.0).astype(np.float32)
