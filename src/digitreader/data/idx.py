"""Read the IDX files MNIST ships in (gzipped or raw), validating every header field."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from digitreader.data.errors import DataFormatError

# IDX magic: two zero bytes, a type code, and the number of dimensions.
_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataFormatError(path, f"cannot be read: {exc.strerror or exc}") from exc
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise DataFormatError(path, f"is a damaged or truncated gzip file ({exc})") from exc


def parse_idx(data: bytes, path: Path | str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes into an array, or raise DataFormatError saying what is wrong."""
    path = Path(path)
    if len(data) < 4:
        raise DataFormatError(path, f"is too short to be an IDX file ({len(data)} bytes)")
    zero, dtype_code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or dtype_code not in _TYPES or not 1 <= ndim <= 4:
        raise DataFormatError(
            path,
            f"is not an IDX file: magic number 0x{data[:4].hex()} "
            "(expected 0x00000801 for labels or 0x00000803 for images)",
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFormatError(path, "is truncated inside its IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_TYPES[dtype_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    body = len(data) - header
    if body < expected:
        raise DataFormatError(path, f"is truncated: header says shape {shape} ({expected} bytes), found {body} bytes")
    if body > expected:
        raise DataFormatError(path, f"has {body - expected} unexpected trailing bytes after shape {shape}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: Path | str) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a numpy array."""
    path = Path(path)
    return parse_idx(_read_bytes(path), path)


def read_idx_images(path: Path | str) -> np.ndarray:
    """Read an IDX image file: uint8 array [N, 28, 28]."""
    arr = read_idx(path)
    if arr.ndim != 3 or arr.dtype != np.uint8:
        raise DataFormatError(
            path, f"holds {arr.dtype} data of shape {arr.shape}, expected uint8 images [N, rows, cols]"
        )
    return arr


def read_idx_labels(path: Path | str) -> np.ndarray:
    """Read an IDX label file: uint8 array [N] with values 0..9."""
    arr = read_idx(path)
    if arr.ndim != 1 or arr.dtype != np.uint8:
        raise DataFormatError(path, f"holds {arr.dtype} data of shape {arr.shape}, expected uint8 labels [N]")
    if arr.size and arr.max() > 9:
        raise DataFormatError(path, f"holds label {int(arr.max())}, expected digits 0..9")
    return arr
