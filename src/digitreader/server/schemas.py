"""Pydantic models of the HTTP API: what each endpoint takes and returns (the OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PIXELS = 28 * 28


class ImageJSON(BaseModel):
    """An encoded image (PNG, JPEG, BMP, TIFF, WebP ...) as base64 or a ``data:`` URL."""

    model_config = ConfigDict(extra="forbid")
    image: str = Field(description="base64 of the image file, or a data URL such as data:image/png;base64,...")


class PixelsJSON(BaseModel):
    """A ready MNIST-style input: 784 values in [0, 1], row by row, white ink (1) on black (0)."""

    model_config = ConfigDict(extra="forbid")
    pixels: list[Annotated[float, Field(ge=0, le=1)]] = Field(
        min_length=PIXELS, max_length=PIXELS, description="28x28 values in [0, 1], row-major"
    )


class ImageUpload(BaseModel):
    """A multipart form with the image file in the field ``image``."""

    image: bytes = Field(json_schema_extra={"format": "binary"}, description="the image file")


class PredictResponse(BaseModel):
    """The single digit in the input; ``digit`` is null (with a ``reason``) when no digit was found."""

    digit: int | None = Field(description="0-9, or null when the image holds no digit", examples=[7])
    confidence: float | None = Field(description="probability of the digit", examples=[0.998])
    probabilities: list[float] | None = Field(description="probabilities of 0..9, summing to 1")
    preprocessed: str | None = Field(description="data URL (PNG) of the 28x28 input the model saw")
    message: str | None = Field(default=None, description="why there is no digit, when there is none")
    reason: str | None = Field(
        default=None,
        description="the same as message: blank, a mark that doesn't look like a digit, or several digits (use read)",
    )


class DigitOut(BaseModel):
    """One digit of a number and where it is."""

    digit: int = Field(examples=[4])
    confidence: float = Field(examples=[0.997])
    box: list[int] = Field(min_length=4, max_length=4, description="x, y, width, height in the image's pixels")
    preprocessed: str | None = Field(default=None, description="data URL (PNG) of the 28x28 input the model saw")


class ReadResponse(BaseModel):
    """The number read in the input, digit by digit, left to right (lines joined by newlines)."""

    text: str = Field(description="the digits read; empty when there are none", examples=["4096"])
    confidence: float = Field(description="probability that every digit is right")
    digits: list[DigitOut]
    message: str | None = Field(default=None, description="why there are no digits, when there are none")


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    model: str = Field(description="name of the loaded model", examples=["default"])
    version: str = Field(description="digitreader version")
    corrections: bool = Field(default=False, description="whether POST /api/v1/corrections stores corrections")


class ModelCard(BaseModel):
    """The loaded model's card: name, architecture, size, accuracy on the MNIST test set, how it was made."""

    model_config = ConfigDict(extra="allow")
    name: str
    architecture: str | None = None
    params: int | None = None
    test_accuracy: float | None = None
    sha256: str | None = None


class ErrorResponse(BaseModel):
    detail: str = Field(description="what was wrong with the request", examples=["the image field is missing"])


# ---------------------------------------------------------------- corrections and model reload (issue 22)

LABEL = Field(
    pattern=r"^\s*[0-9]+(\s*\n\s*[0-9]+)*\s*$",
    description="the digits the user wrote: one digit for predict; for read the number (lines joined by newlines)",
    examples=["7"],
)
MODE = Field(description="which answer is corrected: predict (one digit) or read (a number)")
Mode = Literal["predict", "read"]


class ImageCorrectionJSON(ImageJSON):
    """An image (base64 or a data URL), with what the user wrote in it."""

    label: str = LABEL
    mode: Mode = MODE


class PixelsCorrectionJSON(PixelsJSON):
    """A ready 28x28 input, with what the user wrote in it."""

    label: str = LABEL
    mode: Mode = MODE


class CorrectionUpload(ImageUpload):
    """A multipart form: the image file in ``image``, and the fields ``label`` and ``mode``."""

    label: str = LABEL
    mode: Mode = MODE


class CorrectionCreated(BaseModel):
    id: int = Field(description="the stored correction's id", examples=[1])


class CorrectionOut(BaseModel):
    """A stored correction, without its image."""

    id: int
    created: str = Field(description="when it was stored (UTC, ISO 8601)")
    mode: Mode
    label: str = Field(description="what the user wrote")
    answer: dict[str, Any] = Field(description="the model's answer, as the server computed it on the image")
    model_sha256: str = Field(description="sha256 of the model file that answered")
    media_type: str = Field(description="the stored image's type", examples=["image/png"])
    image_sha256: str
    image_bytes: int


class CorrectionList(BaseModel):
    total: int = Field(description="corrections in the database")
    corrections: list[CorrectionOut] = Field(description="oldest first, from offset, at most limit")


class ReloadRequest(BaseModel):
    """Which model to load: an .onnx path on the server, or a bundled model name; none: the one it started with."""

    model_config = ConfigDict(extra="forbid")
    model: str | None = Field(default=None, description="path to an .onnx file (its card beside it) or a bundled name")
