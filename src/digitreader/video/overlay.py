"""Draw a frame's reading on it: a box and the digit over each digit, the number and fps on top."""

from __future__ import annotations

import cv2
import numpy as np

from digitreader.video.loop import FrameResult

FONT = cv2.FONT_HERSHEY_SIMPLEX
GREEN = (60, 200, 60)
AMBER = (0, 170, 255)
GREY = (160, 160, 160)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)


def _label(
    image: np.ndarray, text: str, org: tuple[int, int], scale: float, colour: tuple[int, int, int], thickness: int = 2
) -> None:
    """Text on a filled box so it reads on any background; ``org`` is the box's bottom-left corner."""
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thickness)
    x, y = max(0, org[0]), max(th + base + 2, org[1])
    cv2.rectangle(image, (x, y - th - base - 4), (x + tw + 6, y), colour, cv2.FILLED)
    cv2.putText(image, text, (x + 3, y - base - 1), FONT, scale, BLACK, thickness, cv2.LINE_AA)


def draw(image: np.ndarray, result: FrameResult, fps: float | None = None) -> np.ndarray:
    """A copy of ``image`` (BGR) annotated with ``result``."""
    out = image.copy()
    unit = max(out.shape[0], 240) / 480  # scale lines and text with the frame
    thick = max(1, round(2 * unit))
    for x, y, w, h in result.pending:
        cv2.rectangle(out, (x, y), (x + w, y + h), GREY, 1, cv2.LINE_AA)
    for d in result.digits:
        x, y, w, h = d.box
        colour = GREEN if d.confidence >= 0.9 else AMBER
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, thick if d.seen else 1, cv2.LINE_AA)
        _label(out, f"{d.digit} {d.confidence:.0%}", (x, y - 2), 0.55 * unit, colour, thick)
    number = result.text.replace("\n", " / ") if result.text else "-"
    _label(out, f"number: {number}", (6, round(34 * unit)), 0.8 * unit, WHITE, thick)
    if fps is not None:
        text = f"{fps:.0f} fps"
        (tw, _), _ = cv2.getTextSize(text, FONT, 0.6 * unit, thick)
        _label(out, text, (out.shape[1] - tw - 14, round(28 * unit)), 0.6 * unit, WHITE, thick)
    return out
