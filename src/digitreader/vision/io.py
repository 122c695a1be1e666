"""Load an image from a path, bytes, a file object, a PIL image or a numpy array.

Everything becomes a uint8 numpy array: HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA), with the
EXIF orientation applied. Only the formats listed in ``FORMATS`` are opened (Pillow's ICO and
ICNS loaders, among others, swap in an embedded image's size at decode time, after any check),
and the pixel count is checked from the header before any pixel is decoded, so a decompression
bomb costs nothing. Pillow's own bomb protection stays on.

``load_scaled`` may decode a large JPEG at 1/2, 1/4 or 1/8 size (libjpeg's scaled decoding)
when the reader works at a smaller resolution anyway, and says by how much.
"""

from __future__ import annotations

import contextlib
import errno
import io
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from digitreader.errors import ImageError, ImageTooLargeError

DEFAULT_MAX_PIXELS = 40_000_000
FORMATS = "PNG, JPEG, BMP, WebP, TIFF, GIF, PGM/PPM/PBM"
# Pillow's names for them: the only decoders we let Pillow pick (their headers tell the true size).
PILLOW_FORMATS = ("PNG", "JPEG", "BMP", "WEBP", "TIFF", "GIF", "PPM")
DRAFT_FACTORS = (8, 4, 2)  # the reductions libjpeg decodes at directly
ORIENTATION = 0x0112  # the EXIF tag


@dataclass(frozen=True)
class Scaled:
    """An image as ``load_image`` returns it, perhaps decoded at a reduced size.

    ``pixels``: the array; ``factor``: original pixels per pixel of ``pixels`` (1: full size);
    ``shape``: the original image's (height, width), EXIF orientation applied; ``sheet``: where the
    caller already knows the sheet of paper to be (4x2 corners in ``pixels``, as ``vision.page``
    finds them: ``watch`` follows it from frame to frame), an empty array where it knows there is
    none, else None and it is looked for.
    """

    pixels: np.ndarray
    factor: int = 1
    shape: tuple[int, int] = (0, 0)
    sheet: np.ndarray | None = None


# File suffixes that `digitreader read DIR` picks up when walking a folder.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".pgm", ".ppm", ".pbm"})


def load_image(image: Any, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Return ``image`` as a uint8 array HxW, HxWx3 (RGB) or HxWx4 (RGBA).

    Accepts a path (str or Path), bytes, a binary file object, a PIL image or a numpy array
    (grey, RGB or RGBA; uint8, bool, integer, or float in [0, 1] or [0, 255]).
    Raises ``ImageError`` for anything that is not a readable, non-empty image and
    ``ImageTooLargeError`` when width * height > ``max_pixels``.
    """
    return load_scaled(image, max_pixels).pixels


def load_scaled(image: Any, max_pixels: int = DEFAULT_MAX_PIXELS, work_side: int | None = None) -> Scaled:
    """``load_image``, but a JPEG file that will be reduced to a long side of about ``work_side``
    anyway is decoded at 1/2, 1/4 or 1/8 size: the largest of these that divides the integer
    reduction ``ceil(long side / work_side)``, so the working resolution stays the same.
    That saves most of the decoding time and memory of a large photo.
    """
    if isinstance(image, np.ndarray):
        return _whole(_from_array(image, max_pixels))
    if isinstance(image, Image.Image):
        _check_size(image.width, image.height, max_pixels)
        return _whole(_from_pil(image))
    if isinstance(image, (str, os.PathLike)):
        return _from_file(Path(image), max_pixels, work_side)
    if isinstance(image, (bytes, bytearray, memoryview)):
        if len(image) == 0:
            raise ImageError("the image is empty (0 bytes)")
        return _decode(io.BytesIO(bytes(image)), "the data", max_pixels, work_side)
    if hasattr(image, "read"):
        return _decode(image, "the file object", max_pixels, work_side)
    raise ImageError(
        f"cannot read an image from a {type(image).__name__}: "
        "give a path, bytes, a file object, a PIL image or a numpy array"
    )


def read_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of an image file, with ``load_image``'s checks and messages (a FIFO, a folder,
    a dangling link or an empty file is an ``ImageError`` naming ``path``)."""
    path = Path(path)
    _check_file(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImageError(f"{path}: cannot open the file: {exc.strerror or exc}") from exc


def load_named(data: bytes, name: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """``load_image`` of a file's bytes fetched elsewhere (a bucket, a Ray worker): the same bounded
    decode, the same pixels and the same messages as ``load_image(name)`` on the file itself."""
    if len(data) == 0:
        raise ImageError(f"{name}: the file is empty (0 bytes)")
    return _decode(io.BytesIO(data), name, max_pixels).pixels


def pixel_count(data: bytes) -> int:
    """Width x height from an image file's header (nothing decoded); 0 when it is not one we open."""
    try:
        with Image.open(io.BytesIO(data), formats=PILLOW_FORMATS) as img:
            return img.width * img.height
    except Exception:  # the decode proper reports what is wrong with it
        return 0


def _whole(pixels: np.ndarray) -> Scaled:
    return Scaled(pixels, 1, (pixels.shape[0], pixels.shape[1]))


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"the image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"the image is {width}x{height} = {width * height:,} pixels, more than the limit of {max_pixels:,}"
        )


def _from_file(path: Path, max_pixels: int, work_side: int | None) -> Scaled:
    _check_file(path)
    try:
        with path.open("rb") as fh:
            return _decode(fh, str(path), max_pixels, work_side)
    except OSError as exc:
        if isinstance(exc, ImageError):
            raise
        raise ImageError(f"{path}: cannot open the file: {exc.strerror or exc}") from exc


def _check_file(path: Path) -> None:
    """A regular, non-empty file (opening a FIFO would wait for a writer for ever)."""
    try:
        info = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageError(f"{path}: a loop of symbolic links") from exc
        if path.is_symlink():
            raise ImageError(f"{path}: a symbolic link to nothing ({os.readlink(path)} does not exist)") from exc
        if exc.errno == errno.ENOENT:
            raise ImageError(f"{path}: no such file") from exc
        raise ImageError(f"{path}: cannot open the file: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(info.st_mode):
        raise ImageError(f"{path}: is a folder, not an image")
    if not stat.S_ISREG(info.st_mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else "a socket or device"
        raise ImageError(f"{path}: not a regular file but {kind}")
    if info.st_size == 0:
        raise ImageError(f"{path}: the file is empty (0 bytes)")


def _decode(fh: Any, name: str, max_pixels: int, work_side: int | None = None) -> Scaled:
    try:
        img = Image.open(fh, formats=PILLOW_FORMATS)
    except UnidentifiedImageError as exc:
        raise ImageError(f"{name} is not an image in a format we can read ({FORMATS})") from exc
    except Image.DecompressionBombError as exc:  # Pillow's own limit
        raise ImageTooLargeError(f"{name} has more pixels than the limit of {max_pixels:,} ({exc})") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"{name} is not a readable image: {exc}") from exc
    with img:
        _check_size(img.width, img.height, max_pixels)
        shape = (img.height, img.width)
        factor = _draft(img, work_side)
        try:
            img.load()
        except Image.DecompressionBombError as exc:
            raise ImageTooLargeError(f"{name} has more pixels than the limit of {max_pixels:,} ({exc})") from exc
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise ImageError(f"{name} is corrupt or truncated: {exc}") from exc
        if factor == 1:
            _check_size(img.width, img.height, max_pixels)  # no decoder may have grown the image
        pixels = _from_pil(img)
    h, w = shape
    if pixels.shape[:2] != (math.ceil(h / factor), math.ceil(w / factor)):
        shape = (w, h)  # EXIF orientation turned it a quarter
    return Scaled(pixels, factor, shape)


def _draft(img: Image.Image, work_side: int | None) -> int:
    """Have a JPEG decode at 1/k size when the reader reduces it by a multiple of k anyway; return k."""
    if work_side is None or img.format not in ("JPEG", "MPO"):
        return 1
    reduce = math.ceil(max(img.size) / work_side)
    k = next((k for k in DRAFT_FACTORS if reduce % k == 0 and min(img.size) >= k), 1)
    if k == 1:
        return 1
    width = img.width
    img.draft(img.mode, (img.width // k, img.height // k))  # libjpeg picks the scale 1/k: ceil(side / k)
    return round(width / img.width)


def _from_pil(img: Image.Image) -> np.ndarray:
    with contextlib.suppress(Exception):  # a broken EXIF block must not stop us reading the pixels
        if img.getexif().get(ORIENTATION, 1) != 1:  # else exif_transpose would copy the whole image
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
