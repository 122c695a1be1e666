"""Tell a new scene (a cut, another sheet put in view) from the same scene moving, shaking or relit.

A frame's *signature* is its thumbnail, band-passed (blurred a little, less its heavily blurred
self: no sensor noise, no smooth light or shadow) and scaled to unit length; two frames show one
scene when their signatures correlate at least ``SAME_SCENE``. On the development desk videos
(seeds 124-127) a frame and the next correlate >= 0.99 while the camera pans, zooms and the light
drifts, and <= 0.65 where one sheet on a desk gives way to another; on the shaking, relit paper of
the standard test video (seeds 5 and 6) >= 0.83.
"""

from __future__ import annotations

import cv2
import numpy as np

WIDTH = 80  # signatures are computed at this width, whatever the frame's size
FINE, COARSE = 1.5, 6.0  # the band kept: structure between these blur scales (pixels at WIDTH)
SAME_SCENE = 0.75


def signature(gray: np.ndarray) -> np.ndarray:
    """The band-passed, unit-length thumbnail of a grey frame (or of a smaller thumbnail of it)."""
    h, w = gray.shape[:2]
    size = (WIDTH, max(1, round(h * WIDTH / max(w, 1))))
    small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    fine = cv2.GaussianBlur(small, (0, 0), FINE)
    band = fine - cv2.GaussianBlur(fine, (0, 0), COARSE)
    band -= band.mean()
    norm = float(np.linalg.norm(band))
    return band / norm if norm > 1e-6 else band


def same_scene(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two signatures show one scene (a blank frame is like any other blank frame)."""
    if a.shape != b.shape:
        return False
    if not a.any() or not b.any():
        return not a.any() and not b.any()
    return float((a * b).sum()) >= SAME_SCENE
