"""An on-screen window for live results, and a check that one can be opened at all."""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np

QUIT_KEYS = {ord("q"), ord("Q"), 27}  # q or Esc


def gui_problem() -> str | None:
    """Why no window can be shown here (None when one can)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        # Checked first: without a display, GTK may end the process instead of raising.
        return "no display is available (DISPLAY is not set)"
    try:
        cv2.namedWindow("digitreader-probe", cv2.WINDOW_AUTOSIZE)
        cv2.destroyWindow("digitreader-probe")
    except cv2.error:
        return (
            "this OpenCV build has no GUI support (opencv-python-headless); "
            "`pip install opencv-python` instead of opencv-python-headless gives windows"
        )
    return None


class Window:
    """Shows frames; ``show`` returns False once the user pressed q/Esc or closed the window."""

    def __init__(self, title: str = "digitreader watch (q quits)") -> None:
        self.title = title
        cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE)

    def show(self, image: np.ndarray) -> bool:
        cv2.imshow(self.title, image)
        key = cv2.waitKey(1) & 0xFF
        if key in QUIT_KEYS:
            return False
        return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1

    def close(self) -> None:
        cv2.destroyWindow(self.title)
        cv2.waitKey(1)
