"""The REST API under ``/api/v1``: predict, read, health, model."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from starlette.exceptions import HTTPException

from digitreader import __version__
from digitreader.redact import redact_card
from digitreader.server import inference
from digitreader.server.admission import BYTES_PER_PIXEL, RETRY_AFTER, Busy
from digitreader.server.inputs import read_payload
from digitreader.server.limits import drain
from digitreader.server.schemas import (
    ErrorResponse,
    Health,
    ImageJSON,
    ImageUpload,
    ModelCard,
    PixelsJSON,
    PredictResponse,
    ReadResponse,
)
from digitreader.server.state import ServerState
from digitreader.vision.io import pixel_count

T = TypeVar("T")
router = APIRouter(prefix="/api/v1")


def _request_body() -> dict[str, Any]:
    """OpenAPI for the image-taking endpoints: the routes parse the body themselves (see ``inputs``)."""
    image, pixels, upload = (m.model_json_schema() for m in (ImageJSON, PixelsJSON, ImageUpload))
    upload["properties"]["image"] = {"type": "string", "format": "binary", "description": "the image file"}
    return {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": upload},
            "application/json": {"schema": {"oneOf": [image, pixels]}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
        },
    }


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "the body or the image cannot be decoded"},
    413: {"model": ErrorResponse, "description": "the body or the image is over the size limit"},
    415: {"model": ErrorResponse, "description": "unsupported Content-Type"},
    422: {"model": ErrorResponse, "description": "the request does not match the schema"},
    503: {"model": ErrorResponse, "description": "busy: every decoding slot taken and the queue full (Retry-After)"},
}
_IMAGE_ENDPOINT: dict[str, Any] = {"responses": _ERRORS, "openapi_extra": {"requestBody": _request_body()}}


async def _run(request: Request, response: Response, work: Callable[..., T]) -> T:
    """Take a decoding slot, parse the body, then run the CPU-bound ``work`` in the server's pool.

    At most one request per inference thread reads and decodes a body at once, and the decodes
    share a memory budget (by the image's size in its header); when the queue for a slot is
    full the answer is 503 with ``Retry-After``. The time
    the work took (decoding, preprocessing, model) goes in a ``Server-Timing`` header.
    """
    state: ServerState = request.app.state.digitreader
    try:
        async with state.admission().slot():
            payload = await read_payload(request, state.limits.max_body_bytes)
            cost = BYTES_PER_PIXEL * min(pixel_count(payload.data), state.limits.max_pixels) if payload.data else 0
            async with state.budget().hold(cost):
                loop = asyncio.get_running_loop()
                start = time.perf_counter()
                result = await loop.run_in_executor(
                    state.pool(), work, state.recognizer, payload, state.limits.max_pixels
                )
    except Busy as exc:
        await drain(request.receive)  # so that a client still sending its body sees the 503
        raise HTTPException(503, f"{exc}: retry in {RETRY_AFTER} s", {"Retry-After": str(RETRY_AFTER)}) from None
    response.headers["Server-Timing"] = f"inference;dur={1000 * (time.perf_counter() - start):.2f}"
    return result


@router.post(
    "/predict", response_model=PredictResponse, summary="Recognise the single digit in an image", **_IMAGE_ENDPOINT
)
async def predict(request: Request, response: Response) -> PredictResponse:
    """The digit, its confidence, the ten probabilities and the 28x28 input the model saw.

    An image with no digit gets 200 with ``digit: null`` and a ``message``.
    """
    return await _run(request, response, inference.predict)


@router.post(
    "/read", response_model=ReadResponse, summary="Read the number (one or more digits) in an image", **_IMAGE_ENDPOINT
)
async def read(request: Request, response: Response) -> ReadResponse:
    """The digits left to right, each with its confidence and its box (x, y, w, h) in the image's pixels."""
    return await _run(request, response, inference.read)


@router.get("/health", response_model=Health, summary="Is the server up, and with which model")
async def health(request: Request) -> Health:
    state: ServerState = request.app.state.digitreader
    return Health(status="ok", model=state.recognizer.name, version=__version__)


@router.get("/model", response_model=ModelCard, summary="The loaded model's card")
async def model(request: Request) -> ModelCard:
    state: ServerState = request.app.state.digitreader
    return ModelCard(**{"name": state.recognizer.name, **redact_card(state.recognizer.card)})  # older cards too
