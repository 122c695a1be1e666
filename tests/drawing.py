"""Digits drawn the way a person draws them on a canvas: round, thick strokes along simple paths.

Paths are in a unit box (x right, y down), designed to be read as their digit by a person.
"""

from __future__ import annotations

import cv2
import numpy as np


def _ellipse(cx: float, cy: float, rx: float, ry: float, start: float = 0, end: float = 360, n: int = 40):
    t = np.deg2rad(np.linspace(start, end, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t), strict=True))


STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [_ellipse(0.5, 0.5, 0.3, 0.42)],
    1: [[(0.38, 0.22), (0.54, 0.08), (0.54, 0.92)]],
    2: [[(0.24, 0.3), (0.33, 0.15), (0.52, 0.08), (0.7, 0.16), (0.74, 0.34), (0.6, 0.55), (0.24, 0.92), (0.8, 0.9)]],
    3: [
        [
            (0.25, 0.15),
            (0.45, 0.07),
            (0.66, 0.12),
            (0.72, 0.28),
            (0.6, 0.44),
            (0.42, 0.49),
            (0.62, 0.54),
            (0.76, 0.7),
            (0.68, 0.88),
            (0.45, 0.93),
            (0.24, 0.85),
        ]
    ],
    4: [[(0.58, 0.08), (0.2, 0.62), (0.82, 0.62)], [(0.62, 0.3), (0.62, 0.93)]],
    5: [
        [
            (0.74, 0.1),
            (0.34, 0.1),
            (0.29, 0.46),
            (0.5, 0.4),
            (0.7, 0.5),
            (0.74, 0.72),
            (0.6, 0.9),
            (0.4, 0.93),
            (0.24, 0.84),
        ]
    ],
    6: [
        [
            (0.68, 0.1),
            (0.46, 0.24),
            (0.32, 0.46),
            (0.28, 0.7),
            (0.38, 0.9),
            (0.58, 0.92),
            (0.72, 0.78),
            (0.68, 0.6),
            (0.5, 0.52),
            (0.34, 0.6),
        ]
    ],
    7: [[(0.2, 0.12), (0.8, 0.12), (0.44, 0.92)]],
    8: [_ellipse(0.5, 0.29, 0.19, 0.2), _ellipse(0.5, 0.7, 0.24, 0.22)],
    9: [_ellipse(0.48, 0.3, 0.22, 0.21), [(0.7, 0.28), (0.68, 0.6), (0.62, 0.92)]],
}


def draw(
    digit: int,
    size: int = 280,
    box: tuple[float, float, float] = (0.2, 0.15, 0.7),
    width: float = 0.1,
    ink: tuple[int, ...] = (0, 0, 0, 255),
    background: tuple[int, ...] = (255, 255, 255, 255),
) -> np.ndarray:
    """An RGBA canvas ``size`` pixels square with ``digit`` drawn in the box (left, top, height) as fractions.

    ``width`` is the pen width as a fraction of the canvas height (a web canvas uses ~1/10).
    """
    canvas = np.empty((size, size, 4), np.uint8)
    canvas[:] = background
    left, top, height = box
    pen = max(1, round(width * size))
    for stroke in STROKES[digit]:
        pts = np.array([(left + x * height * 0.8, top + y * height) for x, y in stroke]) * size
        cv2.polylines(canvas, [np.round(pts).astype(np.int32)], False, ink, pen, cv2.LINE_AA)
        for p in pts[[0, -1]]:  # round caps
            cv2.circle(canvas, (round(p[0]), round(p[1])), pen // 2, ink, -1, cv2.LINE_AA)
    return canvas
