"""Pydantic models of the HTTP API: what each endpoint takes and returns (the OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated

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
