"""Issue 23 against a real uvicorn server on loopback: thin images, image bombs, the decoding slots
(503), slow and partial clients, a 413 that urllib can read, JSON decoded off the event loop,
repeated fields and the security headers. Each of these failed before the fix."""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from PIL import Image

from digitreader.server import Limits, create_app
from digitreader.server.protocol import HEADER_TIMEOUT_ENV, protocol

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2")
    from fastapi.testclient import TestClient

PREDICT, READ = "/api/v1/predict", "/api/v1/read"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(app, header_timeout: float = 10.0) -> Iterator[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """``app`` served by uvicorn in a thread, as ``digitreader serve`` serves it (our protocol class)."""
    import uvicorn

    os.environ[HEADER_TIMEOUT_ENV] = str(header_timeout)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", http=protocol("auto"))
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield "127.0.0.1", port
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        os.environ.pop(HEADER_TIMEOUT_ENV, None)


@contextmanager
def serving(*options: str) -> Iterator[tuple[str, int]]:
    """``digitreader serve`` in its own process (its own interpreter lock), on a free port."""
    port = free_port()
    cmd = [sys.executable, "-m", "digitreader.cli", "serve", "--port", str(port), "--log-level", "warning", *options]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2):
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "the server did not start within 60 s"
                time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def post(host: str, port: int, path: str, body: bytes, content_type: str, timeout: float = 60) -> tuple[int, Any, str]:
    """POST with urllib (it sends the whole body before it reads the answer); (status, headers, body)."""
    req = urllib.request.Request(f"http://{host}:{port}{path}", body, {"content-type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


def encoded(image: Image.Image, fmt: str, **kw) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (its data is a few bytes)."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def ico_holding(png: bytes) -> bytes:
    """An ICO whose one entry says 256x256 and holds ``png`` (Pillow takes the PNG's size at load)."""
    entry = struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 6 + 16)
    return struct.pack("<HHH", 0, 1, 1) + entry + png


def icns_holding(png: bytes) -> bytes:
    """An ICNS with one 1024x1024 ('ic10') entry that holds ``png``."""
    entry = b"ic10" + struct.pack(">I", 8 + len(png)) + png
    return b"icns" + struct.pack(">I", 8 + len(entry)) + entry


@pytest.fixture(scope="module")
def client(recognizer) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(recognizer=recognizer)) as c:
        yield c


# ---------------------------------------------------------------- 1. thin images


@pytest.mark.parametrize("size", [(1025, 1), (1, 1025), (2100, 2), (40000, 3)])
@pytest.mark.parametrize("path", [PREDICT, READ])
def test_thin_images_get_an_answer_not_a_500(client: TestClient, path: str, size: tuple[int, int]) -> None:
    r = client.post(path, content=encoded(Image.new("L", size, 255), "PNG"), headers={"content-type": "image/png"})
    assert r.status_code == 200, r.text
    assert r.json()["message"]  # no digit in a blank strip


def test_a_thin_strip_with_ink_is_read_without_error(client: TestClient) -> None:
    strip = np.full((3, 3000), 255, np.uint8)
    strip[:, 1000:1010] = 0
    r = client.post(READ, content=encoded(Image.fromarray(strip), "PNG"), headers={"content-type": "image/png"})
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------- 2. bombs in ICO / ICNS containers


@pytest.mark.parametrize("container", [ico_holding, icns_holding])
def test_icon_containers_are_refused_before_decoding(client: TestClient, container) -> None:  # type: ignore[no-untyped-def]
    bomb = container(png_claiming(13000, 13000))  # 169 megapixels behind a small header
    start = time.perf_counter()
    r = client.post(PREDICT, files={"image": ("favicon.ico", bomb, "image/x-icon")})
    assert r.status_code == 400, r.text
    assert "format" in r.json()["detail"] and "PNG" in r.json()["detail"]
    assert time.perf_counter() - start < 1.0


# ---------------------------------------------------------------- 3. decoding slots: 503 with Retry-After


def test_a_full_queue_is_answered_503_with_retry_after(recognizer) -> None:  # type: ignore[no-untyped-def]
    """One thread (four slots), no queue: of eight slow uploads at once, those that find every slot taken get 503."""
    app = create_app(recognizer=recognizer, threads=1, limits=Limits(max_waiting=0))
    ramp = np.tile(np.linspace(0, 255, 4000, dtype=np.uint8), (3000, 1))  # 12 MP that compress well
    body = encoded(Image.fromarray(ramp), "PNG")
    with running(app) as (host, port), ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(host, port, READ, body, "image/png"), range(8)))
    statuses = sorted(a[0] for a in answers)
    assert statuses[0] == 200 and 503 in statuses, statuses
    for status, headers, text in answers:
        if status == 503:
            assert headers["Retry-After"] == "1" and "busy" in json.loads(text)["detail"]


def test_large_decodes_wait_for_the_memory_budget_small_ones_do_not() -> None:
    import asyncio

    from digitreader.server.admission import Budget

    async def scenario() -> list[str]:
        budget, log = Budget(100), []

        async def decode(name: str, cost: int, seconds: float) -> None:
            async with budget.hold(cost):
                log.append(f"{name} in")
                await asyncio.sleep(seconds)
                log.append(f"{name} out")

        await asyncio.gather(decode("big1", 80, 0.2), decode("big2", 80, 0.01), decode("small", 10, 0.01))
        return log

    log = asyncio.run(scenario())
    assert log.index("big1 out") < log.index("big2 in")  # never two large ones at once
    assert log.index("small in") < log.index("big1 out")  # a small one fits beside a large one


def test_a_large_jpeg_is_decoded_at_the_working_size(client: TestClient) -> None:
    from digitreader.vision.io import load_image, load_scaled

    page = np.full((3024, 4032), 235, np.uint8)
    page[1000:2000, 1800:1900] = 30  # a 1
    data = encoded(Image.fromarray(page), "JPEG", quality=90)
    scaled = load_scaled(data, work_side=1024)
    assert scaled.factor == 4 and scaled.pixels.shape == (756, 1008) and scaled.shape == (3024, 4032)
    assert load_image(data).shape == (3024, 4032)  # load_image itself still decodes in full
    body = client.post(READ, content=data, headers={"content-type": "image/jpeg"}).json()
    assert body["text"] == "1"
    x, y, w, h = body["digits"][0]["box"]  # in the photo's own pixels
    assert abs(x - 1800) <= 8 and abs(y - 1000) <= 8 and abs(w - 100) <= 8 and abs(h - 1000) <= 8


# ---------------------------------------------------------------- 5. slow and partial clients


def test_partial_request_heads_are_closed_and_the_server_stays_up(recognizer) -> None:  # type: ignore[no-untyped-def]
    app = create_app(recognizer=recognizer)
    with running(app, header_timeout=1.0) as (host, port):
        socks = [socket.create_connection((host, port)) for _ in range(20)]
        for s in socks:
            s.sendall(b"G")  # one byte of a request head, then nothing
            s.settimeout(5)
        start = time.monotonic()
        for s in socks:
            assert s.recv(100) == b""  # closed by the server
            s.close()
        assert time.monotonic() - start < 4
        assert post(host, port, PREDICT, json.dumps({"pixels": [0.5] * 784}).encode(), "application/json")[0] == 200


def test_serve_options_set_the_deadlines() -> None:
    options = ("--timeout-header", "1", "--timeout-keep-alive", "1", "--timeout-body", "1", "--limit-concurrency", "64")
    with serving(*options) as (host, port):
        with socket.create_connection((host, port)) as s:
            s.sendall(b"GET /api/v1/he")
            s.settimeout(5)
            start = time.monotonic()
            assert s.recv(100) == b"" and time.monotonic() - start < 3
        with socket.create_connection((host, port)) as s:
            s.sendall(b"POST /api/v1/read HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 99\r\n\r\n")
            s.settimeout(5)
            assert s.recv(4096).startswith(b"HTTP/1.1 408")


def test_a_stalled_body_gets_408(recognizer) -> None:  # type: ignore[no-untyped-def]
    app = create_app(recognizer=recognizer, limits=Limits(body_timeout=1.0))
    with running(app) as (host, port), socket.create_connection((host, port)) as s:
        s.sendall(b"POST /api/v1/read HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n")
        s.sendall(b"\x89PNG\r\n\x1a\n")  # 8 of the 1000 bytes promised
        s.settimeout(10)
        start = time.monotonic()
        answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert 0.9 < time.monotonic() - start < 5


# ---------------------------------------------------------------- 6. JSON off the event loop


def test_large_json_bodies_do_not_stall_the_event_loop() -> None:
    """Four clients post 9.6 MB of base64 JSON while /health is timed (the server in its own process)."""
    big = json.dumps({"image": base64.b64encode(os.urandom(7_200_000)).decode()}).encode()
    stop = threading.Event()
    with serving("--threads", "2") as (host, port):

        def hammer() -> None:
            while not stop.is_set():
                post(host, port, PREDICT, big, "application/json")

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        times = []
        for _ in range(40):
            start = time.perf_counter()
            with urllib.request.urlopen(f"http://{host}:{port}/api/v1/health", timeout=10) as r:
                assert r.status == 200
            times.append(time.perf_counter() - start)
            time.sleep(0.02)
        stop.set()
        for t in threads:
            t.join()
    print(f"/health p50 {1000 * statistics.median(times):.1f} ms")
    assert statistics.median(times) < 0.060, f"/health p50 {1000 * statistics.median(times):.0f} ms (225 at bcaa3d5)"


# ---------------------------------------------------------------- 7. a 413 that urllib sees


@pytest.mark.parametrize("size_mb", [11, 30])
def test_urllib_sees_the_413_of_a_body_over_the_limit(recognizer, size_mb: int) -> None:  # type: ignore[no-untyped-def]
    app = create_app(recognizer=recognizer)
    with running(app) as (host, port):
        status, _, text = post(host, port, READ, b"\0" * (size_mb * 1024 * 1024), "image/png")
        assert status == 413 and "10 MB" in json.loads(text)["detail"]
        assert post(host, port, PREDICT, json.dumps({"pixels": [0.5] * 784}).encode(), "application/json")[0] == 200


# ---------------------------------------------------------------- 9. repeated fields, security headers


def test_two_image_fields_are_refused(client: TestClient) -> None:
    one = encoded(Image.new("L", (40, 40), 255), "PNG")
    b64 = base64.b64encode(one).decode()
    answers = [
        client.post(PREDICT, files=[("image", ("a.png", one, "image/png")), ("image", ("b.png", one, "image/png"))]),
        client.post(PREDICT, data={"image": [b64, b64]}),
        client.post(
            PREDICT, content=f'{{"image": "{b64}", "image": "{b64}"}}', headers={"content-type": "application/json"}
        ),
    ]
    for r in answers:
        assert r.status_code == 400, r.text
        assert "more than once" in r.json()["detail"] or "fields" in r.json()["detail"]


def test_security_headers(client: TestClient) -> None:
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    answers = [page, client.get("/api/v1/health"), client.post(PREDICT, content=b"x", headers={})]
    answers.append(client.post(PREDICT, content=b"\0" * (11 * 1024 * 1024), headers={"content-type": "image/png"}))
    for r in answers:
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
