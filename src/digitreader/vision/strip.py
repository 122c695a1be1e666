"""A group of digits (one or several, maybe touching) -> the strip the line reader expects.

The strip is prepared like MNIST, only wider: the ink is scaled so that the group is
``BOX`` (20) pixels tall, keeping its aspect ratio, its stroke width is brought into
MNIST's range (``preprocess._adjust_stroke``), and it is padded by ``PAD`` pixels on
every side: float32 [28, W], white ink on black, in [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np

from digitreader.errors import NoDigitError
from digitreader.vision.preprocess import BOX, FINE, _adjust_stroke, _normalise, _tight

PAD = 4
HEIGHT = BOX + 2 * PAD  # 28
MAX_WIDTH = 8 * HEIGHT  # a group wider than 8 squares is squeezed (about 10 digits)


def group_strip(crop: np.ndarray) -> np.ndarray:
    """An ink crop (float, 0 = paper) of a group of digits -> float32 [28, W] in [0, 1]."""
    crop = _tight(crop)
    if crop is None:
        raise NoDigitError()
    h, w = crop.shape
    s = BOX * FINE / h
    fine_w = max(1, min(round(w * s), (MAX_WIDTH - 2 * PAD) * FINE))
    fine = cv2.resize(crop, (fine_w, BOX * FINE), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    fine = _tight(_adjust_stroke(_normalise(fine)))
    if fine is None:
        raise NoDigitError()
    s = BOX / fine.shape[0]
    size = (max(1, round(fine.shape[1] * s)), BOX)
    small = _normalise(cv2.resize(fine, size, interpolation=cv2.INTER_AREA))
    return np.pad(small, PAD).astype(np.float32)
