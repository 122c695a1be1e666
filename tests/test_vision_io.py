"""load_image: every input form and format, and a clear ImageError for everything that is not an image."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from digitreader.errors import ImageError, ImageTooLargeError
from digitreader.vision.io import load_image


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def picture() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "WEBP", "TIFF", "GIF"])
def test_formats_decode_to_uint8_rgb(picture: Image.Image, fmt: str) -> None:
    arr = load_image(encode(picture, fmt))
    assert arr.dtype == np.uint8 and arr.shape == (30, 40, 3)


def test_every_input_form_gives_the_same_pixels(picture: Image.Image, tmp_path) -> None:
    data = encode(picture, "PNG")
    path = tmp_path / "p.png"
    path.write_bytes(data)
    expected = np.asarray(picture)
    for form in (data, bytearray(data), memoryview(data), path, str(path), io.BytesIO(data), picture, expected):
        np.testing.assert_array_equal(load_image(form), expected)


def test_grey_rgba_and_16_bit_modes() -> None:
    grey = Image.fromarray(np.arange(200, dtype=np.uint8).reshape(10, 20))
    assert load_image(encode(grey, "PNG")).shape == (10, 20)
    rgba = Image.new("RGBA", (8, 6), (255, 0, 0, 0))
    assert load_image(encode(rgba, "PNG")).shape == (6, 8, 4)
    deep = Image.fromarray(np.full((5, 5), 65535, np.uint16))
    arr = load_image(encode(deep, "PNG"))
    assert arr.dtype == np.uint8 and arr.max() == 255
    la = Image.new("LA", (4, 3), (128, 200))
    assert load_image(encode(la, "PNG")).shape == (3, 4, 4)


def test_exif_orientation_is_applied() -> None:
    img = Image.new("RGB", (40, 20), (255, 255, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    arr = load_image(encode(img, "JPEG", exif=exif.tobytes()))
    assert arr.shape[:2] == (40, 20)


def test_arrays_of_other_types_are_scaled() -> None:
    np.testing.assert_array_equal(load_image(np.ones((3, 3), np.float32)), np.full((3, 3), 255, np.uint8))
    np.testing.assert_array_equal(load_image(np.full((3, 3), 128.0)), np.full((3, 3), 128, np.uint8))
    assert load_image(np.ones((3, 3), bool)).max() == 255
    assert load_image(np.zeros((1, 1, 28, 28), np.float32)).shape == (28, 28)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"this is not an image at all", "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "not"),
    ],
)
def test_non_images_raise_a_clear_error(data: bytes, words: str) -> None:
    with pytest.raises(ImageError, match=words):
        load_image(data)


def test_truncated_and_corrupt_jpeg(picture: Image.Image) -> None:
    data = encode(picture.resize((400, 300)), "JPEG", quality=90)
    with pytest.raises(ImageError, match="corrupt or truncated"):
        load_image(data[: len(data) // 2])
    broken = bytearray(data)
    broken[2:200] = b"\x00" * 198  # the headers destroyed
    with pytest.raises(ImageError):
        load_image(bytes(broken))


def test_missing_file_folder_and_empty_file(tmp_path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(tmp_path / "empty.png")


def test_bad_arrays_and_types() -> None:
    with pytest.raises(ImageError, match="no pixels"):
        load_image(np.zeros((0, 10), np.uint8))
    with pytest.raises(ImageError, match="NaN"):
        load_image(np.full((4, 4), np.nan))
    with pytest.raises(ImageError, match="shape"):
        load_image(np.zeros((4, 4, 7), np.uint8))
    with pytest.raises(ImageError, match="cannot read an image from a int"):
        load_image(42)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims to be width x height but carries (almost) no pixel data: a decompression bomb's header."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = chunk(b"IDAT", zlib.compress(b"\x00" * 16))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + data + chunk(b"IEND", b"")


def test_pixel_limit_is_checked_from_the_header_before_decoding() -> None:
    bomb = _png_header_only(100_000, 100_000)  # 10 gigapixels claimed in 60 bytes
    with pytest.raises(ImageTooLargeError, match="limit of 40,000,000"):
        load_image(bomb)
    with pytest.raises(ImageTooLargeError, match="more than the limit"):
        load_image(_png_header_only(8000, 8000))  # 64 MP: below Pillow's own limit, above ours
    with pytest.raises(ImageTooLargeError):
        load_image(np.zeros((100, 100), np.uint8), max_pixels=5_000)
    assert issubclass(ImageTooLargeError, ImageError)


def test_pillows_bomb_protection_stays_on(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Pillow warns past MAX_IMAGE_PIXELS and refuses past twice that: neither is silenced."""
    buf = io.BytesIO()
    Image.new("L", (50, 40), 255).save(buf, "PNG")  # 2,000 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1500)
    with pytest.warns(Image.DecompressionBombWarning):
        load_image(buf.getvalue())
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 900)
    with pytest.raises(ImageTooLargeError):
        load_image(buf.getvalue())


@pytest.mark.parametrize("fmt", ["ICO", "ICNS", "TGA", "PCX"])
def test_only_the_documented_formats_are_opened(fmt: str) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), "white").save(buf, fmt)
    with pytest.raises(ImageError, match="format"):
        load_image(buf.getvalue())
