"""digitreader: read handwritten digits in drawings, photos and video.

The public names are imported on first use (PEP 562), so ``digitreader --help`` and commands
that never recognise a digit do not load numpy and ONNX Runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_ENGINE = {"Digit", "Prediction", "Reading", "Recognizer"}


def __getattr__(name: str) -> Any:
    if name in _ENGINE:
        from digitreader import engine

        return getattr(engine, name)
    if name in __all__:
        from digitreader import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'digitreader' has no attribute {name!r}")


def __dir__() -> list[str]:
    return [*globals(), *__all__]
