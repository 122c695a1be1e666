"""Fuzz the REST API from its own OpenAPI schema (schemathesis, in-process through ASGI): never a 500.

Valid and invalid requests are generated for every operation and input form (JSON, multipart,
raw image); each answer must be a documented status with a body matching the documented schema.
Bounded (deterministic, capped examples) so it runs in about a minute on 2 cores.
The image bombs of issue 23 (thin strips, bombs inside ICO/ICNS, a 1.5 KB WebP of 40 MP...)
go to both image endpoints in each input form.
"""

from __future__ import annotations

import base64
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from PIL import Image
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from digitreader.server import create_app

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2")
    from fastapi.testclient import TestClient

MAX_EXAMPLES = 250  # per operation

# Corrections on (into a throwaway file) and an admin token the fuzzer does not know: the admin
# endpoints must answer 401 cleanly, the corrections endpoint 201 or a 4xx.
FUZZ_DB = Path(tempfile.mkdtemp(prefix="digitreader-fuzz-")) / "corrections.sqlite3"
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(corrections=FUZZ_DB, admin_token="not-a-guessable-token", model_poll=0)
)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
    database="none",
)


@schema.parametrize()
def test_api_never_answers_500(case) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    )


# ---------------------------------------------------------------- the image bombs of issue 23


def _bombs() -> dict[str, bytes]:
    from test_server_hardening import encoded, icns_holding, ico_holding, png_claiming

    return {
        "thin 1025x1": encoded(Image.new("L", (1025, 1), 255), "PNG"),
        "thin 1x1025": encoded(Image.new("L", (1, 1025), 255), "PNG"),
        "thin 2100x2": encoded(Image.new("L", (2100, 2), 255), "PNG"),
        "ico holding 13000x13000": ico_holding(png_claiming(13000, 13000)),
        "icns holding 13000x13000": icns_holding(png_claiming(13000, 13000)),
        "png claiming 48 MP": png_claiming(8000, 6000),
        "webp 6000x6600 white": encoded(Image.new("RGB", (6000, 6600), "white"), "WEBP", lossless=True),
        "jpeg 12 MP": encoded(Image.new("RGB", (4032, 3024), "white"), "JPEG"),
    }


BOMBS = _bombs()


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


@pytest.mark.parametrize("path", ["/api/v1/predict", "/api/v1/read"])
@pytest.mark.parametrize("name", sorted(BOMBS))
def test_image_bombs_get_an_answer_not_a_500(client: TestClient, path: str, name: str) -> None:
    data = BOMBS[name]
    forms = [
        {"content": data, "headers": {"content-type": "application/octet-stream"}},
        {"files": {"image": ("bomb", data, "application/octet-stream")}},
        {"json": {"image": base64.b64encode(data).decode()}},
    ]
    for kwargs in forms[:1] if name.startswith("webp") else forms:  # the WebP takes a second to decode
        r = client.post(path, **kwargs)
        assert r.status_code in (200, 400, 413), (name, r.status_code, r.text)
        assert isinstance(r.json().get("detail", r.json().get("message")), str) or r.status_code == 200
