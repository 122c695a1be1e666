"""Turn a request into what the model needs: a 28x28 pixel array or the bytes of an image file.

Accepted bodies (every endpoint that takes an image):
  multipart/form-data or x-www-form-urlencoded  field ``image``: a file, or base64 / a data URL as text
  application/json                              ``{"image": "<base64 or data URL>"}`` or ``{"pixels": [784 numbers]}``
  image/* or application/octet-stream           the image file itself

A correction (``read_payload(..., fields=("label", "mode"))``) takes the same multipart or JSON
bodies with those fields beside the image (form fields, or JSON keys holding strings); a raw image
body has no room for them and gets 415.

JSON bodies over 64 KB and base64 are decoded in a worker thread, off the event loop (a 10 MB
body takes tens of ms).

Status codes: 400 when the body or the image cannot be decoded (bad JSON, bad base64, empty,
the "image" field given twice);
415 for another content type; 422 when the request does not match the schema (missing or
unknown field, wrong type, wrong pixel count or range).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from digitreader.server.schemas import PIXELS

USAGE = (
    'send multipart/form-data with the image file in the field "image", JSON {"image": "<base64 or data URL>"} '
    'or {"pixels": [784 numbers in 0..1]}, or the image file itself with an image/* Content-Type'
)
B64_PIECE = 1 << 20  # characters of base64 decoded in one call
INLINE_JSON = 64 * 1024  # bytes: a smaller JSON body (784 pixels are 5 KB) is parsed at once, on the loop
_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?((?:;[\w.+-]+=[^;,]*)*)(;base64)?,", re.IGNORECASE)


@dataclass(frozen=True)
class Payload:
    """Exactly one of: ``pixels`` (28x28 float32 in [0, 1], white ink on black) or ``data`` (an image file)."""

    pixels: np.ndarray | None = None
    data: bytes | None = None
    fields: dict[str, str] = field(default_factory=dict)  # the other fields asked for, those that were given


async def read_payload(request: Request, max_body_bytes: int, fields: tuple[str, ...] = ()) -> Payload:
    """Parse the request body into a ``Payload`` (with ``fields`` as text when given); raise
    ``HTTPException`` saying what was wrong."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        body = await request.body()
        if len(body) <= INLINE_JSON:
            return _from_json(body, fields)
        return await run_in_threadpool(_from_json, body, fields)
    if media in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.form(max_files=8, max_fields=64, max_part_size=max_body_bytes)
        try:
            return await _from_form(form, fields)
        finally:
            await form.close()
    if (media.startswith("image/") or media == "application/octet-stream") and not fields:
        return Payload(data=_non_empty(await request.body(), "the request body"))
    got = f"Content-Type {media!r}" if media else "no Content-Type"
    if fields:
        raise HTTPException(415, f"unsupported body ({got}): send a multipart form or JSON with the image and {fields}")
    raise HTTPException(415, f"unsupported body ({got}): {USAGE}")


def _from_json(body: bytes, fields: tuple[str, ...] = ()) -> Payload:
    try:
        doc = json.loads(body, object_pairs_hook=_no_repeats)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise HTTPException(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise HTTPException(422, f'expected a JSON object with "image" or "pixels", got {_kind(doc)}')
    unknown = sorted(set(doc) - {"image", "pixels", *fields})
    if unknown:
        also = f" and {list(fields)}" if fields else ""
        raise HTTPException(422, f'unknown field(s) {unknown}: expected exactly one of "image" or "pixels"{also}')
    if len(set(doc) & {"image", "pixels"}) != 1:
        raise HTTPException(422, 'expected exactly one of "image" (base64 or data URL) or "pixels" (784 numbers)')
    texts = {name: _text(name, doc[name]) for name in fields if name in doc}
    if "pixels" in doc:
        return Payload(pixels=parse_pixels(doc["pixels"]), fields=texts)
    if not isinstance(doc["image"], str):
        raise HTTPException(422, f'"image" must be a string (base64 or a data URL), got {_kind(doc["image"])}')
    return Payload(data=decode_base64(doc["image"]), fields=texts)


def _text(name: str, value: Any) -> str:
    """A JSON field that holds text (a whole number is taken as its digits: ``"label": 7``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    raise HTTPException(422, f'"{name}" must be a string, got {_kind(value)}')


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (json.loads would keep the last of two silently)."""
    doc = dict(pairs)
    if len(doc) != len(pairs):
        twice = sorted({k for k, _ in pairs if sum(1 for j, _ in pairs if j == k) > 1})
        raise ValueError(f"the key(s) {twice} appear more than once")
    return doc


def _form_texts(form: Any, fields: tuple[str, ...]) -> dict[str, str]:
    texts = {}
    for name in fields:
        values = form.getlist(name)
        if len(values) > 1:
            raise HTTPException(422, f'the form holds {len(values)} "{name}" fields: send one')
        if values and not isinstance(values[0], str):
            raise HTTPException(422, f'the form field "{name}" must be text, not a file')
        if values:
            texts[name] = values[0]
    return texts


async def _from_form(form: Any, fields: tuple[str, ...] = ()) -> Payload:
    texts = _form_texts(form, fields)
    values = form.getlist("image")
    if len(values) > 1:
        raise HTTPException(400, f'the form holds {len(values)} "image" fields: send one image per request')
    value = values[0] if values else None
    if value is None:
        fields = sorted(form.keys())
        seen = f"got field(s) {fields}" if fields else "the form is empty"
        raise HTTPException(422, f'missing form field "image" ({seen}): {USAGE}')
    if isinstance(value, UploadFile):
        return Payload(data=_non_empty(await value.read(), "the uploaded image"), fields=texts)
    return Payload(data=await run_in_threadpool(decode_base64, value), fields=texts)


def decode_base64(text: str) -> bytes:
    """Bytes of base64 text or of a ``data:...;base64,`` URL; HTTP 400 when it is neither.

    Decoded a piece at a time (``B64_PIECE`` characters): one C call over 10 MB holds the
    interpreter lock for ~50 ms, and the event loop waits that long for it even off the loop.
    """
    text = text.strip()
    match = _DATA_URL.match(text)
    if match:
        if not match.group(3):
            raise HTTPException(400, "the data URL is not base64-encoded (expected data:<type>;base64,...)")
        text = text[match.end() :]
    pieces, carry = [], ""
    for i in range(0, len(text), B64_PIECE):
        chunk = carry + "".join(text[i : i + B64_PIECE].split())  # line breaks and spaces
        cut = len(chunk) - len(chunk) % 4
        pieces.append(_b64(chunk[:cut]))
        carry = chunk[cut:]
    if carry:
        pieces.append(_b64(carry + "=" * (-len(carry) % 4)))
    return _non_empty(b"".join(pieces), "the image")


def _b64(chunk: str) -> bytes:
    if "-" in chunk or "_" in chunk:  # the URL-safe alphabet
        chunk = chunk.replace("-", "+").replace("_", "/")
    try:
        if "=" in chunk.rstrip("="):  # padding inside the text, not only at its end
            raise ValueError("padding before the end")
        return base64.b64decode(chunk, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(400, "the image is not valid base64 (nor a base64 data URL)") from None


def parse_pixels(value: Any) -> np.ndarray:
    """784 numbers in [0, 1] (flat, or 28 rows of 28) as a float32 [28, 28] array; HTTP 422 otherwise."""
    if isinstance(value, list) and len(value) == 28 and all(isinstance(r, list) and len(r) == 28 for r in value):
        value = [v for row in value for v in row]
    if not isinstance(value, list):
        raise HTTPException(422, f'"pixels" must be a list of {PIXELS} numbers, got {_kind(value)}')
    if len(value) != PIXELS:
        raise HTTPException(422, f'"pixels" must hold {PIXELS} numbers (28x28, row by row), got {len(value)}')
    if not set(map(type, value)) <= {int, float}:  # bool, str, None, lists ... (bool is not a number here)
        i, v = next((i, v) for i, v in enumerate(value) if type(v) not in (int, float))
        raise HTTPException(422, f'"pixels" must be numbers, got {_kind(v)} at index {i}')
    try:
        array = np.asarray(value, dtype=np.float64)
    except OverflowError:  # an integer too large for a float
        array = np.array([v if abs(v) < 1e308 else np.inf for v in value], dtype=np.float64)
    bad = ~np.isfinite(array) | (array < 0) | (array > 1)
    if bad.any():
        i = int(np.argmax(bad))
        v = value[i]
        if not math.isfinite(array[i]):
            raise HTTPException(422, f'"pixels" must be finite numbers, got {_short(v)} at index {i}')
        hint = " (divide 0..255 values by 255)" if 1 < v <= 255 and float(v).is_integer() else ""
        raise HTTPException(422, f'"pixels" must be in [0, 1], got {_short(v)} at index {i}{hint}')
    return array.astype(np.float32).reshape(28, 28)


def _non_empty(data: bytes, what: str) -> bytes:
    if not data:
        raise HTTPException(400, f"{what} is empty")
    return data


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:20] + "..."


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
