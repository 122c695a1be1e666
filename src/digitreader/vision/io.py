"""Load an image from a path, bytes, a file object, a PIL image or a numpy array.

Everything becomes a uint8 numpy array: HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA), with the
EXIF orientation applied. The pixel count is checked from the header before any pixel is
decoded, so a decompression bomb costs nothing.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from digitreader.errors import ImageError, ImageTooLargeError

DEFAULT_MAX_PIXELS = 40_000_000
FORMATS = "PNG, JPEG, BMP, WebP, TIFF, GIF"
# File suffixes that `digitreader read DIR` picks up when walking a folder.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".pgm", ".ppm", ".pbm"})


def load_image(image: Any, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Return ``image`` as a uint8 array HxW, HxWx3 (RGB) or HxWx4 (RGBA).

    Accepts a path (str or Path), bytes, a binary file object, a PIL image or a numpy array
    (grey, RGB or RGBA; uint8, bool, integer, or float in [0, 1] or [0, 255]).
    Raises ``ImageError`` for anything that is not a readable, non-empty image and
    ``ImageTooLargeError`` when width * height > ``max_pixels``.
    """
    if isinstance(image, np.ndarray):
        return _from_array(image, max_pixels)
    if isinstance(image, Image.Image):
        _check_size(image.width, image.height, max_pixels)
        return _from_pil(image)
    if isinstance(image, (str, os.PathLike)):
        return _from_file(Path(image), max_pixels)
    if isinstance(image, (bytes, bytearray, memoryview)):
        if len(image) == 0:
            raise ImageError("the image is empty (0 bytes)")
        return _decode(io.BytesIO(bytes(image)), "the data", max_pixels)
    if hasattr(image, "read"):
        return _decode(image, "the file object", max_pixels)
    raise ImageError(
        f"cannot read an image from a {type(image).__name__}: "
        "give a path, bytes, a file object, a PIL image or a numpy array"
    )


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"the image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"the image is {width}x{height} = {width * height:,} pixels, more than the limit of {max_pixels:,}"
        )


def _from_file(path: Path, max_pixels: int) -> np.ndarray:
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: the file is empty (0 bytes)")
    try:
        with path.open("rb") as fh:
            return _decode(fh, str(path), max_pixels)
    except OSError as exc:
        if isinstance(exc, ImageError):
            raise
        raise ImageError(f"{path}: cannot open the file: {exc.strerror or exc}") from exc


def _decode(fh: Any, name: str, max_pixels: int) -> np.ndarray:
    with warnings.catch_warnings():
        # Our own pixel limit applies; Pillow's bomb warning would only add noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(fh)
        except UnidentifiedImageError as exc:
            raise ImageError(f"{name} is not an image in a format we can read ({FORMATS})") from exc
        except Image.DecompressionBombError as exc:  # Pillow's own, far larger limit
            raise ImageTooLargeError(f"{name} has more pixels than the limit of {max_pixels:,} ({exc})") from exc
        except (OSError, ValueError, SyntaxError) as exc:
            raise ImageError(f"{name} is not a readable image: {exc}") from exc
        with img:
            _check_size(img.width, img.height, max_pixels)
            try:
                img.load()
            except Image.DecompressionBombError as exc:
                raise ImageTooLargeError(f"{name} has more pixels than the limit of {max_pixels:,} ({exc})") from exc
            except (OSError, ValueError, SyntaxError, EOFError) as exc:
                raise ImageError(f"{name} is corrupt or truncated: {exc}") from exc
            return _from_pil(img)


def _from_pil(img: Image.Image) -> np.ndarray:
    with contextlib.suppress(Exception):  # a broken EXIF block must not stop us reading the pixels
        img = ImageOps.exif_transpose(img) or img
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _from_array(np.asarray(img), None)
    if mode == "1":
        img = img.convert("L")
    elif mode in ("P", "PA"):
        img = img.convert("RGBA" if mode == "PA" or "transparency" in img.info else "RGB")
    elif mode in ("LA", "La", "RGBa"):
        img = img.convert("RGBA")
    elif mode not in ("L", "RGB", "RGBA"):
        img = img.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        arr = _to_uint8(arr)
    return np.ascontiguousarray(arr)


def _from_array(arr: np.ndarray, max_pixels: int | None) -> np.ndarray:
    a = np.asarray(arr)
    # Drop leading axes of one: [1, H, W] or [1, 1, H, W] (a batch or channel axis).
    while a.ndim > 2 and a.shape[0] == 1 and (a.ndim == 4 or a.shape[-1] not in (1, 2, 3, 4)):
        a = a[0]
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (2, 3, 4)):
        raise ImageError(f"expected an array of shape HxW, HxWx3 or HxWx4, got {list(a.shape)}")
    if a.size == 0:
        raise ImageError(f"the image has no pixels (shape {list(a.shape)})")
    if max_pixels is not None:
        _check_size(a.shape[1], a.shape[0], max_pixels)
    a = _to_uint8(a)
    if a.ndim == 3 and a.shape[-1] == 2:  # grey + alpha
        a = np.concatenate([np.repeat(a[..., :1], 3, axis=2), a[..., 1:]], axis=2)
    return np.ascontiguousarray(a)


def _to_uint8(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ImageError("the image array holds NaN or infinite values")
        top = float(a.max())
        scale = 255.0 if top <= 1.0 else 1.0  # [0, 1] floats, or [0, 255]
        return np.clip(np.rint(a * scale), 0, 255).astype(np.uint8)
    if np.issubdtype(a.dtype, np.integer):
        top = int(a.max())
        if top > 255:  # 16-bit (or wider) pixels
            limit = max(top, 65535)
            return np.clip(np.rint(a.astype(np.float64) * (255.0 / limit)), 0, 255).astype(np.uint8)
        return np.clip(a, 0, 255).astype(np.uint8)
    raise ImageError(f"unsupported array type {a.dtype}: give uint8, integer, bool or float pixels")
