"""Exceptions of the public API; each message says what was wrong and what was expected."""

from __future__ import annotations


class DigitReaderError(Exception):
    """Base class of digitreader's errors."""


class ImageError(DigitReaderError, ValueError):
    """The input is not a readable image (not an image at all, corrupt, empty, too large)."""


class ImageTooLargeError(ImageError):
    """The image exceeds a pixel limit (e.g. a decompression bomb)."""


class NoDigitError(DigitReaderError):
    """The image is readable but holds no digit (blank, or only specks)."""

    def __init__(self, message: str = "no digit found in the image") -> None:
        super().__init__(message)


class NotADigitError(NoDigitError):
    """The image holds a mark that is no digit (a dot, a stroke, a scribble, a letter), or several digits."""

    def __init__(self, message: str, nearest: int | None = None, several: str | None = None) -> None:
        super().__init__(message)
        self.nearest = nearest  # the digit the mark is nearest to
        self.several = several  # the number read, when the image holds several digits


class ModelError(DigitReaderError):
    """A model file or name could not be loaded."""
