"""The work behind the endpoints, as plain synchronous functions (run in a thread pool by the routes)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager

import cv2
import numpy as np
from starlette.exceptions import HTTPException

from digitreader.engine import Recognizer
from digitreader.errors import ImageError, ImageTooLargeError, NoDigitError
from digitreader.server.inputs import Payload
from digitreader.server.schemas import DigitOut, PredictResponse, ReadResponse

BLANK = 0.1  # pixels input whose brightest value is below this holds no ink


def predict(recognizer: Recognizer, payload: Payload, max_pixels: int) -> PredictResponse:
    """The single digit in the payload, or an explicit "no digit found" answer."""
    with _image_errors():
        return _predict(recognizer, payload, max_pixels)


def read(recognizer: Recognizer, payload: Payload, max_pixels: int) -> ReadResponse:
    """Every digit in the payload, left to right; an empty text with a message when there is none."""
    with _image_errors():
        return _read(recognizer, payload, max_pixels)


def _predict(recognizer: Recognizer, payload: Payload, max_pixels: int) -> PredictResponse:
    try:
        if payload.pixels is not None:
            if float(payload.pixels.max()) < BLANK:
                raise NoDigitError(f"no digit found: every pixel is below {BLANK}")
            p = recognizer.predict_array(payload.pixels)
        else:
            p = recognizer.predict(_load(payload.data, max_pixels))
    except NoDigitError as exc:
        why = str(exc)
        return PredictResponse(
            digit=None, confidence=None, probabilities=None, preprocessed=None, message=why, reason=why
        )
    return PredictResponse(
        digit=p.digit, confidence=p.confidence, probabilities=p.probabilities, preprocessed=png_data_url(p.input)
    )


def _read(recognizer: Recognizer, payload: Payload, max_pixels: int) -> ReadResponse:
    image = payload.pixels if payload.pixels is not None else _load(payload.data, max_pixels)
    try:
        reading = recognizer.read(image)
    except NoDigitError as exc:
        return ReadResponse(text="", confidence=0.0, digits=[], message=str(exc))
    digits = [
        DigitOut(
            digit=d.digit, confidence=d.confidence, box=[int(v) for v in d.box], preprocessed=png_data_url(d.input)
        )
        for d in reading.digits
    ]
    message = None if digits else "no digit found in the image"
    return ReadResponse(text=reading.text, confidence=reading.confidence, digits=digits, message=message)


def _load(data: bytes | None, max_pixels: int) -> np.ndarray:
    from digitreader.vision.io import load_image

    try:
        return load_image(data, max_pixels=max_pixels)
    except ImageError:
        raise
    except Exception as exc:  # a decoder tripping over hostile bytes is still the bytes' fault, not a 500
        raise ImageError(f"the image could not be decoded ({type(exc).__name__}: {exc})") from exc


@contextmanager
def _image_errors() -> Iterator[None]:
    """An image over the pixel limit is a 413; an unreadable one a 400, with the reason."""
    try:
        yield
    except ImageTooLargeError as exc:
        raise HTTPException(413, str(exc)) from None
    except ImageError as exc:
        raise HTTPException(400, str(exc)) from None


def png_data_url(array: np.ndarray | None) -> str | None:
    """A ``data:image/png;base64,...`` URL of a [0, 1] grayscale array (the model's 28x28 input)."""
    if array is None or np.size(array) != 28 * 28:
        return None
    pixels = np.clip(np.rint(np.asarray(array, np.float32).reshape(28, 28) * 255), 0, 255).astype(np.uint8)
    ok, png = cv2.imencode(".png", pixels)
    if not ok:  # pragma: no cover - OpenCV always encodes a small uint8 array
        return None
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode("ascii")
