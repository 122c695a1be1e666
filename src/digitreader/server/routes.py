"""The REST API under ``/api/v1``: predict, read, health, model, model reload (corrections: ``corrections``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException

from digitreader import __version__
from digitreader.redact import redact_card
from digitreader.server import inference
from digitreader.server.admission import BYTES_PER_PIXEL, RETRY_AFTER, Busy
from digitreader.server.auth import require_admin
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
    ReloadRequest,
)
from digitreader.server.state import ServerState
from digitreader.vision.io import pixel_count

T = TypeVar("T")
router = APIRouter(prefix="/api/v1")


def image_body(
    upload_model: type[BaseModel] = ImageUpload,
    image_model: type[BaseModel] = ImageJSON,
    pixels_model: type[BaseModel] = PixelsJSON,
    raw: bool = True,
) -> dict[str, Any]:
    """OpenAPI for the image-taking endpoints: the routes parse the body themselves (see ``inputs``)."""
    image, pixels, upload = (m.model_json_schema() for m in (image_model, pixels_model, upload_model))
    upload["properties"]["image"] = {"type": "string", "format": "binary", "description": "the image file"}
    content: dict[str, Any] = {
        "multipart/form-data": {"schema": upload},
        "application/json": {"schema": {"oneOf": [image, pixels]}},
    }
    if raw:
        content["image/png"] = content["image/jpeg"] = {"schema": {"type": "string", "format": "binary"}}
    return {"required": True, "content": content}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "the body or the image cannot be decoded"},
    413: {"model": ErrorResponse, "description": "the body or the image is over the size limit"},
    415: {"model": ErrorResponse, "description": "unsupported Content-Type"},
    422: {"model": ErrorResponse, "description": "the request does not match the schema"},
    503: {"model": ErrorResponse, "description": "busy: every decoding slot taken and the queue full (Retry-After)"},
}
_IMAGE_ENDPOINT: dict[str, Any] = {"responses": ERRORS, "openapi_extra": {"requestBody": image_body()}}


async def run_work(request: Request, response: Response, work: Callable[..., T], fields: tuple[str, ...] = ()) -> T:
    """Take a decoding slot, parse the body, then run the CPU-bound ``work`` in the server's pool.

    At most one request per inference thread reads and decodes a body at once, and the decodes
    share a memory budget (by the image's size in its header); when the queue for a slot is
    full the answer is 503 with ``Retry-After``. The time
    the work took (decoding, preprocessing, model) goes in a ``Server-Timing`` header.
    ``fields``: the text fields the body carries beside the image (``Payload.fields``).
    The work gets the recognizer served when it starts, and keeps it whatever a reload does meanwhile.
    """
    state: ServerState = request.app.state.digitreader
    try:
        async with state.admission().slot():
            payload = await read_payload(request, state.limits.max_body_bytes, fields)
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
    return await run_work(request, response, inference.predict)


@router.post(
    "/read", response_model=ReadResponse, summary="Read the number (one or more digits) in an image", **_IMAGE_ENDPOINT
)
async def read(request: Request, response: Response) -> ReadResponse:
    """The digits left to right, each with its confidence and its box (x, y, w, h) in the image's pixels."""
    return await run_work(request, response, inference.read)


@router.get("/health", response_model=Health, summary="Is the server up, and with which model")
async def health(request: Request) -> Health:
    state: ServerState = request.app.state.digitreader
    return Health(
        status="ok", model=state.recognizer.name, version=__version__, corrections=state.corrections is not None
    )


@router.get("/model", response_model=ModelCard, summary="The loaded model's card")
async def model(request: Request) -> ModelCard:
    state: ServerState = request.app.state.digitreader
    return _card(state.recognizer)


def _card(recognizer: Any) -> ModelCard:
    """The card as served: older cards lack a name or a sha256; the file's own sha256 stands then."""
    return ModelCard(**{"name": recognizer.name, "sha256": recognizer.sha256, **redact_card(recognizer.card)})


_RELOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "the body is not valid JSON"},
    401: {"model": ErrorResponse, "description": "no admin token, or a wrong one"},
    404: {"model": ErrorResponse, "description": "no admin token is set on this server"},
    422: {"model": ErrorResponse, "description": "the model does not exist or does not load: the old one serves on"},
}


@router.post(
    "/model/reload",
    response_model=ModelCard,
    summary="Load a model file and serve it from now on (admin token)",
    responses=_RELOAD_ERRORS,
    dependencies=[Depends(require_admin)],
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": ReloadRequest.model_json_schema()}},
        }
    },
)
async def reload_model(request: Request) -> ModelCard:
    """Load `model` (a path on the server, or a bundled name), else the file the server started with
    again, and swap it in: requests in work finish on the old model, the next ones get the new one.
    With several workers the others follow within `serve --model-poll` seconds. A model that does
    not load: 422, and the old one keeps serving. Answers the new model's card."""
    state: ServerState = request.app.state.digitreader
    body = await request.body()
    try:
        doc = json.loads(body) if body.strip() else {}
    except (ValueError, RecursionError) as exc:
        raise HTTPException(400, f"the body is not valid JSON: {exc}") from None
    try:
        wanted = ReloadRequest.model_validate(doc)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise HTTPException(422, f'expected {{"model": PATH}} or no body: {problems}') from None
    from digitreader.errors import ModelError

    try:
        new = await asyncio.get_running_loop().run_in_executor(None, state.models.reload, wanted.model)
    except ModelError as exc:
        raise HTTPException(422, f"{exc}: still serving {state.recognizer.name!r}") from None
    return _card(new)
