"""Pictures of what the model saw, for ``--debug-dir``: the boxes on the image and the 28x28 inputs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

Box = tuple[int, int, int, int]
MAX_SIDE = 1600  # debug pictures of large photos are shrunk to this
GREEN, RED = (40, 180, 60), (220, 40, 40)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 grey / RGB / RGBA -> RGB (a transparent background shows as white)."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        a = image[..., 3:].astype(np.float32) / 255.0
        return (image[..., :3] * a + 255.0 * (1.0 - a)).astype(np.uint8)
    return image


def draw_boxes(
    image: np.ndarray, boxes: Sequence[Box], labels: Sequence[str], confidences: Sequence[float]
) -> np.ndarray:
    """The image (RGB, shrunk to ``MAX_SIDE``) with each box and its label; unsure digits (< 0.8) in red."""
    rgb = as_rgb(image)
    s = min(1.0, MAX_SIDE / max(rgb.shape[:2]))
    canvas = cv2.resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)), interpolation=cv2.INTER_AREA)
    canvas = np.ascontiguousarray(canvas)
    thick = max(1, round(max(canvas.shape[:2]) / 400))
    for (x, y, w, h), label, conf in zip(boxes, labels, confidences, strict=True):
        colour = GREEN if conf >= 0.8 else RED
        p0, p1 = (round(x * s), round(y * s)), (round((x + w) * s), round((y + h) * s))
        cv2.rectangle(canvas, p0, p1, colour, thick)
        scale = float(np.clip((p1[1] - p0[1]) / 90, 0.4, 1.2))
        text = f"{label} {conf:.2f}"
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        top = max(th + 2, p0[1] - 3)
        cv2.rectangle(canvas, (p0[0], top - th - 3), (p0[0] + tw + 2, top + 2), colour, -1)
        cv2.putText(
            canvas, text, (p0[0] + 1, top), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA
        )
    return canvas


def input_sheet(inputs: Sequence[np.ndarray], labels: Sequence[str], zoom: int = 4) -> np.ndarray:
    """The 28x28 inputs side by side, enlarged, each with the digit read under it (RGB)."""
    tiles = []
    for x, label in zip(inputs, labels, strict=True):
        tile = cv2.resize(
            (np.clip(x, 0, 1) * 255).astype(np.uint8), (28 * zoom, 28 * zoom), interpolation=cv2.INTER_NEAREST
        )
        tile = cv2.cvtColor(np.pad(tile, ((0, 24), (2, 2)), constant_values=64), cv2.COLOR_GRAY2RGB)
        cv2.putText(tile, label, (6, 28 * zoom + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    if not tiles:
        return np.full((28 * zoom, 28 * zoom, 3), 64, np.uint8)
    return np.hstack(tiles)


def write_debug(
    folder: Path,
    stem: str,
    image: np.ndarray,
    boxes: Sequence[Box],
    inputs: Sequence[np.ndarray],
    labels: Sequence[str],
    confidences: Sequence[float],
) -> list[Path]:
    """Write ``<stem>.boxes.png`` and ``<stem>.inputs.png`` into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}.boxes.png", folder / f"{stem}.inputs.png"]
    pictures = [draw_boxes(image, boxes, labels, confidences), input_sheet(inputs, labels)]
    for path, picture in zip(paths, pictures, strict=True):
        cv2.imwrite(str(path), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    return paths
