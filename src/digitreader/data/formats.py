"""Read MNIST in the other forms users have it: CSV (label + 784 pixels) and Keras' ``mnist.npz``."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from digitreader.data.errors import DataFormatError

PIXELS = 28 * 28


def read_csv(path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """Read a CSV of ``label, p0 .. p783`` rows (header optional) into (images [N,28,28], labels [N])."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, f"cannot be read as text CSV ({exc})") from exc
    lines = [ln for ln in lines if ln.strip()]
    if lines and not lines[0].split(",")[0].strip().lstrip("-").isdigit():
        lines = lines[1:]  # header row such as "label,pixel0,..."
    if not lines:
        raise DataFormatError(path, "holds no data rows")
    try:
        table = np.array([[int(v) for v in ln.split(",")] for ln in lines], dtype=np.int64)
    except ValueError as exc:
        raise DataFormatError(path, f"has a non-integer value ({exc})") from exc
    except Exception as exc:  # ragged rows make numpy raise
        raise DataFormatError(path, f"has rows of different lengths ({exc})") from exc
    if table.ndim != 2 or table.shape[1] != PIXELS + 1:
        width = table.shape[1] if table.ndim == 2 else "varying"
        raise DataFormatError(path, f"has {width} columns per row, expected 785 (label + 784 pixels)")
    labels, pixels = table[:, 0], table[:, 1:]
    if labels.min() < 0 or labels.max() > 9:
        raise DataFormatError(path, "has a label outside 0..9 in its first column")
    if pixels.min() < 0 or pixels.max() > 255:
        raise DataFormatError(path, "has a pixel value outside 0..255")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.uint8)


def read_npz(path: Path | str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Read one split ("train" or "test") of Keras' ``mnist.npz``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            images, labels = npz[f"x_{split}"], npz[f"y_{split}"]
    except KeyError as exc:
        raise DataFormatError(path, f"has no arrays x_{split}/y_{split} (Keras mnist.npz layout)") from exc
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataFormatError(path, f"is not a readable .npz file ({exc})") from exc
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
        raise DataFormatError(
            path, f"x_{split} has shape {images.shape}, y_{split} {labels.shape}; expected [N,28,28] and [N]"
        )
    return images.astype(np.uint8), labels.astype(np.uint8)
