"""digitreader: read handwritten digits in drawings, photos and video."""

from digitreader.engine import Digit, Prediction, Reading, Recognizer
from digitreader.errors import DigitReaderError, ImageError, ModelError, NoDigitError, NotADigitError

__all__ = [
    "Digit",
    "DigitReaderError",
    "ImageError",
    "ModelError",
    "NoDigitError",
    "NotADigitError",
    "Prediction",
    "Reading",
    "Recognizer",
]
__version__ = "0.1.0"
