"""``/api/v1/corrections``: a user says what they wrote; the admin lists and deletes.

The server runs the model on the correction's image itself and stores that answer (it does not
take the client's word for what the model said), with the image as given (bounded as every
upload; ``pixels`` stored as a 28x28 PNG), the label, the mode, the model's sha256 and the time.
Listing never returns images: they leave the server only through ``digitreader corrections export``.
"""

from __future__ import annotations

import sqlite3
from typing import Annotated, Any

import cv2
import numpy as np
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from digitreader.corrections.store import Correction, CorrectionStore, check_label
from digitreader.engine import Recognizer
from digitreader.server import inference
from digitreader.server.auth import require_admin
from digitreader.server.inputs import Payload
from digitreader.server.routes import ERRORS, image_body, run_work
from digitreader.server.schemas import (
    CorrectionCreated,
    CorrectionList,
    CorrectionOut,
    CorrectionUpload,
    ErrorResponse,
    ImageCorrectionJSON,
    PixelsCorrectionJSON,
)

router = APIRouter(prefix="/api/v1")
FIELDS = ("label", "mode")
OFF = "not found: corrections are off on this server (serve --no-corrections)"
_ADMIN: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "no admin token, or a wrong one"},
    404: {"model": ErrorResponse, "description": "no admin token set, corrections off, or no such id"},
    503: {"model": ErrorResponse, "description": "the corrections database cannot be reached"},
}
# Leading bytes -> media type of the stored image (what the page and the CLI send).
_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
]


def _store(request: Request) -> CorrectionStore:
    store = request.app.state.digitreader.corrections
    if store is None:
        raise HTTPException(404, OFF)
    return store


async def _db(call: Any, *args: Any) -> Any:
    """A database call in a worker thread (a write waits for the lock and for the disk)."""
    try:
        return await run_in_threadpool(call, *args)
    except sqlite3.Error as exc:
        raise HTTPException(503, f"the corrections database is unavailable: {exc}") from None


@router.post(
    "/corrections",
    status_code=201,
    response_model=CorrectionCreated,
    summary="Store a correction: the image, and the digits the user wrote in it",
    responses={**ERRORS, 404: {"model": ErrorResponse, "description": "corrections are off on this server"}},
    openapi_extra={"requestBody": image_body(CorrectionUpload, ImageCorrectionJSON, PixelsCorrectionJSON, raw=False)},
)
async def add_correction(request: Request, response: Response) -> CorrectionCreated:
    """The same inputs as `/predict` (multipart or JSON) with `label` (the digits the user wrote) and
    `mode` (`predict` or `read`). The server reads the image with the model now served and stores
    its answer beside the correction. Answers 201 with the new row's `id`."""
    store = _store(request)
    correction = await run_work(request, response, _correction, fields=FIELDS)
    return CorrectionCreated(id=await _db(store.add, correction))


def _correction(recognizer: Recognizer, payload: Payload, max_pixels: int) -> Correction:
    """Check the label, read the image with the model, and make the row to store (in a worker thread)."""
    missing = [name for name in FIELDS if name not in payload.fields]
    if missing:
        need = "a correction needs label (the digits written) and mode (predict or read)"
        raise HTTPException(422, f"missing {' and '.join(missing)}: {need}")
    mode = payload.fields["mode"]
    try:
        label = check_label(payload.fields["label"], mode)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    if mode == "predict":
        said = inference.predict(recognizer, payload, max_pixels)
        answer = said.model_dump(include={"digit", "confidence", "probabilities", "reason"})
    else:
        reading = inference.read(recognizer, payload, max_pixels)
        answer = reading.model_dump(include={"text", "confidence"})
        answer["digits"] = [d.model_dump(exclude={"preprocessed"}) for d in reading.digits]
    image, media_type = stored_image(payload)
    return Correction(mode, label, answer, recognizer.sha256, media_type, image)


def stored_image(payload: Payload) -> tuple[bytes, str]:
    """The image as the user gave it, and its media type; a ``pixels`` input as a 28x28 grey PNG."""
    if payload.pixels is not None:
        pixels = np.clip(np.rint(payload.pixels * 255), 0, 255).astype(np.uint8)
        return cv2.imencode(".png", pixels)[1].tobytes(), "image/png"
    data = payload.data or b""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return data, "image/webp"
    return data, next((media for magic, media in _MAGIC if data.startswith(magic)), "application/octet-stream")


@router.get(
    "/corrections",
    response_model=CorrectionList,
    summary="List the stored corrections (admin token), without their images",
    responses=_ADMIN,
    dependencies=[Depends(require_admin)],
)
async def list_corrections(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many")] = 100,
    offset: Annotated[int, Query(ge=0, le=2**62, description="skip this many, oldest first")] = 0,
) -> CorrectionList:
    store = _store(request)
    rows = await _db(store.list, limit, offset)
    total = await _db(len, store)
    return CorrectionList(total=total, corrections=[CorrectionOut(**c.to_dict()) for c in rows])


@router.delete(
    "/corrections/{correction_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a stored correction (admin token)",
    responses=_ADMIN,
    dependencies=[Depends(require_admin)],
)
async def delete_correction(
    request: Request, correction_id: Annotated[int, Path(ge=1, le=2**63 - 1, description="the correction's id")]
) -> Response:
    store = _store(request)
    if not await _db(store.delete, correction_id):
        raise HTTPException(404, f"no correction {correction_id}")
    return Response(status_code=204)
