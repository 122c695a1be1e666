"""REST API through the ASGI client: every endpoint, every kind of bad input, the limits, the serve command."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import warnings
import zlib
from collections.abc import AsyncIterator, Iterator

import httpx
import numpy as np
import pytest
from PIL import Image

from digitreader.server import Limits, create_app, limits

with warnings.catch_warnings():  # Starlette suggests httpx2 for its TestClient; httpx is what we ship with
    warnings.filterwarnings("ignore", message=".*httpx2")
    from fastapi.testclient import TestClient

PREDICT, READ = "/api/v1/predict", "/api/v1/read"


@pytest.fixture(scope="module")
def client(recognizer) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(recognizer=recognizer)) as c:
        yield c


@pytest.fixture(scope="module")
def small_client(recognizer) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """Tight limits, so the limit tests need no large bodies: 64 KB and 100,000 pixels."""
    with TestClient(
        create_app(recognizer=recognizer, limits=Limits(max_body_bytes=64 * 1024, max_pixels=100_000))
    ) as c:
        yield c


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def on_paper(digit28: np.ndarray, scale: int = 5) -> np.ndarray:
    """An MNIST digit as dark ink on light paper, scaled up with a margin, like a scan."""
    big = np.asarray(Image.fromarray(digit28).resize((28 * scale, 28 * scale), Image.BICUBIC))
    page = np.full((big.shape[0] + 40, big.shape[1] + 60), 245, np.uint8)
    page[20:-20, 30:-30] = 245 - (big.astype(np.float32) * 0.85).astype(np.uint8)
    return page


def number_on_paper(digits: list[np.ndarray], gap: int = 30) -> np.ndarray:
    """MNIST digits side by side on paper, apart from each other."""
    tiles = [on_paper(d, 4)[10:-10, 20:-20] for d in digits]
    h = max(t.shape[0] for t in tiles)
    row = [np.full((h, gap), 245, np.uint8)]
    for t in tiles:
        row += [t, np.full((h, gap), 245, np.uint8)]
    body = np.concatenate(row, axis=1)
    return np.pad(body, ((30, 30), (0, 0)), constant_values=245)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels: the pixel limit must refuse it from the header alone."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def detail(response) -> str:  # type: ignore[no-untyped-def]
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"], body
    return body["detail"]


# ---------------------------------------------------------------- health, model card, docs, page


def test_health(client: TestClient, recognizer) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["model"] == recognizer.name


def test_model_card(client: TestClient, recognizer) -> None:  # type: ignore[no-untyped-def]
    card = client.get("/api/v1/model").json()
    assert card["name"] == recognizer.card["name"]
    assert card["sha256"] == recognizer.card["sha256"]
    assert 0.9 < card["test_accuracy"] <= 1


def test_openapi_documents_every_endpoint_and_input(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path in (PREDICT, READ, "/api/v1/health", "/api/v1/model"):
        assert path in schema["paths"]
    body = schema["paths"][PREDICT]["post"]["requestBody"]["content"]
    assert set(body) >= {"multipart/form-data", "application/json", "image/png"}
    assert {"400", "413", "415", "422"} <= set(schema["paths"][PREDICT]["post"]["responses"])
    assert client.get("/docs").status_code == 200


def test_page_and_static_files(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for asset in ("/static/app.js", "/static/style.css", "/static/icon.svg"):
        assert asset in page.text
        assert client.get(asset).status_code == 200


# ---------------------------------------------------------------- predict: every input form


def test_predict_pixels_reads_mnist(client: TestClient, mnist_test) -> None:  # type: ignore[no-untyped-def]
    images, labels = mnist_test
    for i in range(20):
        r = client.post(PREDICT, json={"pixels": (images[i] / 255).ravel().tolist()})
        assert r.status_code == 200
        body = r.json()
        assert body["digit"] == labels[i]
        assert body["confidence"] == max(body["probabilities"])
        assert r.headers["server-timing"].startswith("inference;dur=")
        assert len(body["probabilities"]) == 10 and abs(sum(body["probabilities"]) - 1) < 1e-6


def test_predict_returns_what_the_model_saw(client: TestClient, mnist_test) -> None:  # type: ignore[no-untyped-def]
    images, _ = mnist_test
    body = client.post(PREDICT, json={"pixels": (images[0] / 255).tolist()}).json()  # 28 rows of 28 work too
    head, data = body["preprocessed"].split(",", 1)
    assert head == "data:image/png;base64"
    seen = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))
    assert seen.shape == (28, 28)
    assert np.abs(seen.astype(int) - images[0]).max() <= 1


def test_predict_blank_pixels_says_no_digit(client: TestClient) -> None:
    r = client.post(PREDICT, json={"pixels": [0] * 784})
    assert r.status_code == 200
    assert r.json()["digit"] is None and "no digit" in r.json()["message"]


def test_predict_image_in_every_form(client: TestClient, mnist_test) -> None:  # type: ignore[no-untyped-def]
    images, labels = mnist_test
    i = 3
    data = png(on_paper(images[i]))
    b64 = base64.b64encode(data).decode()
    answers = [
        client.post(PREDICT, files={"image": ("digit.png", data, "image/png")}),
        client.post(PREDICT, json={"image": b64}),
        client.post(PREDICT, json={"image": "data:image/png;base64," + b64}),
        client.post(PREDICT, content=data, headers={"content-type": "image/png"}),
        client.post(PREDICT, data={"image": b64}),  # base64 in a form text field
    ]
    for r in answers:
        assert r.status_code == 200, r.text
        assert r.json()["digit"] == labels[i]
        assert r.json()["preprocessed"].startswith("data:image/png;base64,")


def test_predict_photos_of_mnist_digits(client: TestClient, mnist_test) -> None:  # type: ignore[no-untyped-def]
    images, labels = mnist_test
    right = 0
    for i in range(30):
        jpeg = io.BytesIO()
        Image.fromarray(on_paper(images[i], scale=4)).save(jpeg, "JPEG", quality=85)
        body = client.post(PREDICT, files={"image": ("d.jpg", jpeg.getvalue(), "image/jpeg")}).json()
        right += body["digit"] == labels[i]
    assert right >= 29


def test_predict_blank_image_says_no_digit(client: TestClient) -> None:
    r = client.post(PREDICT, files={"image": ("blank.png", png(np.full((200, 200), 250, np.uint8)), "image/png")})
    assert r.status_code == 200
    body = r.json()
    assert body["digit"] is None and body["probabilities"] is None and body["message"]


# ---------------------------------------------------------------- read


def test_read_a_number(client: TestClient, mnist_test) -> None:  # type: ignore[no-untyped-def]
    images, labels = mnist_test
    picks = [1, 2, 3, 4]  # four different test digits
    page = number_on_paper([images[i] for i in picks])
    r = client.post(READ, files={"image": ("number.png", png(page), "image/png")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["text"] == "".join(str(labels[i]) for i in picks)
    assert len(body["digits"]) == 4 and 0 < body["confidence"] <= 1
    xs = [d["box"][0] for d in body["digits"]]
    assert xs == sorted(xs)
    for d in body["digits"]:
        x, y, w, h = d["box"]
        assert min(x, y) >= 0 and x + w <= page.shape[1] and y + h <= page.shape[0]
        assert d["preprocessed"].startswith("data:image/png;base64,")


def test_read_blank_image_says_no_digit(client: TestClient) -> None:
    r = client.post(READ, content=png(np.full((100, 300), 250, np.uint8)), headers={"content-type": "image/png"})
    assert r.status_code == 200
    assert r.json()["text"] == "" and r.json()["digits"] == [] and r.json()["message"]


def test_read_pixels(client: TestClient, mnist_test) -> None:  # type: ignore[no-untyped-def]
    images, labels = mnist_test
    r = client.post(READ, json={"pixels": (images[5] / 255).ravel().tolist()})
    assert r.status_code == 200
    assert r.json()["text"] == str(labels[5])


# ---------------------------------------------------------------- bad input: a clear 4xx, never a 500


@pytest.mark.parametrize("path", [PREDICT, READ])
@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ('{"pixels": [0.5, 0.5', 400, "not valid JSON"),
        ("[1, 2, 3]", 422, "JSON object"),
        ("{}", 422, "exactly one"),
        ('{"picture": "abc"}', 422, "unknown field"),
        ('{"image": "aGk=", "pixels": []}', 422, "exactly one"),
        ('{"image": 42}', 422, "must be a string"),
        ('{"image": ""}', 400, "empty"),
        ('{"image": "not base64 at all!"}', 400, "base64"),
        ('{"image": "data:image/png,rawtext"}', 400, "base64"),
        ('{"image": "aGVsbG8gd29ybGQ="}', 400, "image"),  # valid base64 of "hello world"
        ('{"pixels": "0.5"}', 422, "list"),
        ('{"pixels": [0.5, 0.5]}', 422, "784"),
        ('{"pixels": [' + ",".join(["0.5"] * 785) + "]}", 422, "784"),
        ('{"pixels": [NaN' + ",0" * 783 + "]}", 422, "finite"),
        ('{"pixels": [Infinity' + ",0" * 783 + "]}", 422, "finite"),
        ('{"pixels": [0' + ",0" * 782 + ",255]}", 422, "divide"),
        ('{"pixels": [-0.1' + ",0" * 783 + "]}", 422, "[0, 1]"),
        ('{"pixels": ["0.5"' + ",0" * 783 + "]}", 422, "numbers"),
        ('{"pixels": [true' + ",0" * 783 + "]}", 422, "numbers"),
        ('{"pixels": [null' + ",0" * 783 + "]}", 422, "numbers"),
        ("\xff\xfe not utf-8", 400, "not valid JSON"),
    ],
)
def test_bad_json(client: TestClient, path: str, body: str, status: int, words: str) -> None:
    r = client.post(path, content=body.encode("latin-1"), headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert words in detail(r)


@pytest.mark.parametrize("path", [PREDICT, READ])
def test_bad_uploads(client: TestClient, path: str) -> None:
    good = png(np.full((40, 40), 200, np.uint8))
    cases = [
        ({"files": {"file": ("d.png", good, "image/png")}}, 422, 'field "image"'),
        ({"data": {"something": "else"}}, 422, 'field "image"'),
        ({"files": {"image": ("d.png", b"", "image/png")}}, 400, "empty"),
        ({"files": {"image": ("notes.txt", b"just some text, not a picture", "text/plain")}}, 400, "not an image"),
        ({"files": {"image": ("d.png", good[: len(good) // 2], "image/png")}}, 400, "image"),  # truncated
        ({"content": b"GIF89a\x01\x00garbage", "headers": {"content-type": "image/gif"}}, 400, "image"),
        ({"content": b"", "headers": {"content-type": "image/png"}}, 400, "empty"),
        ({"content": b"hello", "headers": {"content-type": "text/plain"}}, 415, "Content-Type"),
        ({"content": b"hello"}, 415, "Content-Type"),
        ({"content": b"--x\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=x"}}, 422, "image"),
    ]
    for kwargs, status, words in cases:
        r = client.post(path, **kwargs)
        assert r.status_code == status, (kwargs, r.text)
        assert words in detail(r)


def test_wrong_method_and_path(client: TestClient) -> None:
    assert client.get(PREDICT).status_code == 405
    assert client.post("/api/v1/nothing").status_code == 404


def test_still_serving_after_bad_input(client: TestClient) -> None:
    for body in (b"\x00" * 1000, b"{" * 100_000, b'{"pixels": [' + b"[" * 50_000):
        assert client.post(PREDICT, content=body, headers={"content-type": "application/json"}).status_code in (
            400,
            422,
        )
    assert client.get("/api/v1/health").json()["status"] == "ok"
    r = client.post(PREDICT, json={"pixels": [0.0] * 392 + [1.0] * 392})  # half the field solid: no digit
    assert r.status_code == 200 and r.json()["digit"] is None and "doesn't look like a digit" in r.json()["reason"]


# ---------------------------------------------------------------- limits


def test_body_over_the_limit_by_content_length(small_client: TestClient) -> None:
    r = small_client.post(PREDICT, content=b"\0" * (64 * 1024 + 1), headers={"content-type": "image/png"})
    assert r.status_code == 413
    assert "limit" in detail(r)


def test_default_body_limit_is_10_mb(client: TestClient) -> None:
    r = client.post(PREDICT, files={"image": ("big.png", b"\0" * (10 * 1024 * 1024), "image/png")})
    assert r.status_code == 413
    assert "10 MB" in detail(r)


@pytest.mark.parametrize("content_type", ["image/png", "application/json", "multipart/form-data; boundary=x"])
def test_streamed_body_is_cut_off_at_the_limit(recognizer, content_type: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """No Content-Length (chunked): once the limit is passed the server keeps nothing more, and
    reads on (discarding) only up to the drain bound, so that the client sees the 413.

    Starlette's TestClient reads a streamed body whole before the app sees it, so this goes
    through httpx's ASGI transport, which hands the app one chunk per ``receive()``.
    """
    monkeypatch.setattr(limits, "DRAIN_BYTES", 64 * 1024)
    app = create_app(recognizer=recognizer, limits=Limits(max_body_bytes=64 * 1024))
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        if content_type.startswith("multipart"):  # a well-formed start: a file part that never ends
            yield b'--x\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'
        for _ in range(1000):  # 16 MB if it were all read
            sent += 1
            yield b"x" * 16384

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            return await c.post(PREDICT, content=chunks(), headers={"content-type": content_type})

    r = asyncio.run(post())
    assert r.status_code == 413
    assert "limit" in detail(r)
    assert sent <= 11  # 64 KB = 4 chunks, the one that crossed the line, then 64 KB discarded (and one more)


def test_image_over_the_pixel_limit(client: TestClient, small_client: TestClient) -> None:
    bomb = png_header_only(8000, 6000)  # 48 megapixels in 100 bytes: refused from the header
    r = client.post(PREDICT, files={"image": ("bomb.png", bomb, "image/png")})
    assert r.status_code == 413 and "48,000,000" in detail(r)
    assert client.post(READ, json={"image": base64.b64encode(bomb).decode()}).status_code == 413
    r = small_client.post(READ, content=png(np.full((400, 400), 255, np.uint8)), headers={"content-type": "image/png"})
    assert r.status_code == 413 and "100,000" in detail(r)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Limits(max_body_bytes=0)


# ---------------------------------------------------------------- the serve command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_command_serves_the_app(tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    cmd = [sys.executable, "-m", "digitreader.cli", "serve", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as r:
                    assert json.load(r)["status"] == "ok"
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "the server did not start within 60 s"
                time.sleep(0.2)
        one = np.zeros((28, 28), np.float32)
        one[4:24, 13:16] = 1.0  # an upright stroke: a 1
        body = json.dumps({"pixels": one.ravel().tolist()}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}{PREDICT}", body, {"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert json.load(r)["digit"] == 1
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert b"digitreader" in r.read()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_command_rejects_an_unknown_model() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "digitreader.cli", "serve", "--model", "no-such-model"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "unknown model" in proc.stderr and "Traceback" not in proc.stderr
