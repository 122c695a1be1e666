"""Issue 22, serving: ``POST /api/v1/corrections`` into a real SQLite file, the admin endpoints and their
token (401/404), the limits (413/415/422), and swapping the model without a restart, under load too."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from digitreader.engine import bundled_models_dir
from digitreader.server import Limits, create_app

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2")
    from fastapi.testclient import TestClient

URL = "/api/v1/corrections"
TOKEN = "correct horse battery staple"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def rows(db: Path) -> list[sqlite3.Row]:
    """The stored rows, read with sqlite3 itself."""
    with sqlite3.connect(db) as con:
        con.row_factory = sqlite3.Row
        return con.execute("SELECT * FROM corrections ORDER BY id").fetchall()


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def on_paper(digit28: np.ndarray) -> np.ndarray:
    big = np.asarray(Image.fromarray(digit28).resize((140, 140), Image.BICUBIC))
    return np.pad(255 - big, 20, constant_values=255)


def model_copy(folder: Path, name: str) -> Path:
    """The bundled model under another name (its card says ``name``): a second model to swap in."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.onnx"
    shutil.copyfile(bundled_models_dir() / "default.onnx", path)
    card = json.loads((bundled_models_dir() / "default.json").read_text())
    (folder / f"{name}.json").write_text(json.dumps({**card, "name": name}))
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "corrections.sqlite3"


@pytest.fixture
def client(recognizer, db: Path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(recognizer=recognizer, corrections=db, admin_token=TOKEN, model_poll=0)) as c:
        yield c


# ---------------------------------------------------------------- storing a correction


def test_a_correction_in_each_input_form_is_stored_with_the_models_answer(client, db, recognizer, mnist_test) -> None:  # type: ignore[no-untyped-def]
    images, labels = mnist_test
    data = png(on_paper(images[0]))  # a 7
    pixels = (images[1] / 255).ravel().tolist()  # a 2
    forms = [
        {"files": {"image": ("d.png", data, "image/png")}, "data": {"label": "1", "mode": "predict"}},
        {"data": {"image": base64.b64encode(data).decode(), "label": "1", "mode": "predict"}},
        {"json": {"image": "data:image/png;base64," + base64.b64encode(data).decode(), "label": 1, "mode": "predict"}},
        {"json": {"pixels": pixels, "label": "3", "mode": "predict"}},
    ]
    ids = []
    for kwargs in forms:
        r = client.post(URL, **kwargs)
        assert r.status_code == 201, r.text
        assert set(r.json()) == {"id"}
        ids.append(r.json()["id"])
    stored = rows(db)
    assert [r["id"] for r in stored] == ids
    for r in stored[:3]:
        assert bytes(r["image"]) == data and r["media_type"] == "image/png" and r["label"] == "1"
        assert json.loads(r["answer"])["digit"] == labels[0]  # what the server's model said, not the client
        assert r["model_sha256"] == recognizer.sha256 == hashlib.sha256(recognizer.path.read_bytes()).hexdigest()
        assert r["mode"] == "predict" and r["created"].startswith("20")
    last = stored[3]
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(last["image"]))), images[1])  # pixels kept as a 28x28 PNG
    assert json.loads(last["answer"])["digit"] == labels[1] and last["label"] == "3"


def test_a_read_correction_stores_the_reading(client, db, mnist_test) -> None:  # type: ignore[no-untyped-def]
    images, labels = mnist_test
    row = np.concatenate([on_paper(images[i]) for i in (2, 3, 4)], axis=1)
    r = client.post(URL, files={"image": ("n.png", png(row), "image/png")}, data={"label": " 999\n12 ", "mode": "read"})
    assert r.status_code == 201, r.text
    stored = rows(db)[-1]
    answer = json.loads(stored["answer"])
    assert answer["text"] == "".join(str(labels[i]) for i in (2, 3, 4))
    assert [set(d) for d in answer["digits"]] == [{"digit", "confidence", "box"}] * 3  # no 28x28 data URLs
    assert stored["label"] == "999\n12" and stored["mode"] == "read"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"mode": "predict"}, "missing label"),
        ({"label": "7"}, "missing mode"),
        ({}, "missing label and mode"),
        ({"label": "seven", "mode": "predict"}, "digits you wrote"),
        ({"label": "", "mode": "read"}, "digits you wrote"),
        ({"label": "12", "mode": "predict"}, "one digit"),
        ({"label": "7", "mode": "guess"}, "mode must be one of"),
    ],
)
def test_a_bad_or_missing_label_or_mode_is_422(client, db, fields: dict, words: str) -> None:  # type: ignore[no-untyped-def,type-arg]
    pixels = [0.0] * 784
    for r in (
        client.post(URL, json={"pixels": pixels, **fields}),
        client.post(URL, files={"image": ("d.png", png(np.zeros((28, 28), np.uint8)), "image/png")}, data=fields),
    ):
        assert r.status_code == 422 and words in r.json()["detail"], r.text
    assert not db.exists() or rows(db) == []


def test_other_bad_corrections(client, db) -> None:  # type: ignore[no-untyped-def]
    pixels = [0.0] * 784
    cases = [
        (client.post(URL, content=png(np.zeros((28, 28), np.uint8)), headers={"content-type": "image/png"}), 415),
        (client.post(URL, json={"pixels": pixels, "label": "1", "mode": "predict", "answer": 7}), 422),
        (client.post(URL, json={"pixels": pixels, "label": ["1"], "mode": "predict"}), 422),
        (client.post(URL, json={"pixels": pixels, "label": True, "mode": "predict"}), 422),
        (
            client.post(
                URL, files={"image": ("d.png", b"not an image", "image/png")}, data={"label": "1", "mode": "predict"}
            ),
            400,
        ),
        (client.post(URL, files={"image": ("a", b"1"), "label": ("l.txt", b"1")}, data={"mode": "predict"}), 422),
        (client.post(URL, data={"label": "1", "mode": "predict"}), 422),
    ]
    for r, status in cases:
        assert r.status_code == status and r.json()["detail"], r.text
    assert rows(db) == []


def test_a_correction_over_the_limits_is_413(recognizer, db) -> None:  # type: ignore[no-untyped-def]
    limits = Limits(max_body_bytes=64 * 1024, max_pixels=100_000)
    with TestClient(create_app(recognizer=recognizer, corrections=db, limits=limits, model_poll=0)) as c:
        big = {"image": ("big.png", b"\x89PNG" + b"\0" * 70_000, "image/png")}
        assert c.post(URL, files=big, data={"label": "1", "mode": "predict"}).status_code == 413
        huge = png(np.full((400, 400), 255, np.uint8))  # 160,000 pixels, a small file
        r = c.post(URL, files={"image": ("h.png", huge, "image/png")}, data={"label": "1", "mode": "predict"})
        assert r.status_code == 413 and "pixels" in r.json()["detail"]
    assert rows(db) == []


def test_corrections_off_is_404_and_health_says_so(recognizer) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(recognizer=recognizer, model_poll=0)) as c:
        r = c.post(URL, json={"pixels": [0.0] * 784, "label": "1", "mode": "predict"})
        assert r.status_code == 404 and "corrections are off" in r.json()["detail"]
        assert c.get("/api/v1/health").json()["corrections"] is False


# ---------------------------------------------------------------- the admin token


def test_admin_endpoints_are_404_when_no_token_is_set(recognizer, db) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(recognizer=recognizer, corrections=db, model_poll=0)) as c:
        assert c.post(URL, json={"pixels": [0.0] * 784, "label": "1", "mode": "predict"}).status_code == 201
        for r in (
            c.get(URL, headers=ADMIN),
            c.delete(f"{URL}/1", headers=ADMIN),
            c.post("/api/v1/model/reload", headers=ADMIN),
            c.get(URL),
        ):
            assert r.status_code == 404 and "no admin token" in r.json()["detail"], r.text
    assert len(rows(db)) == 1


def test_admin_endpoints_are_401_without_the_right_token(client, db) -> None:  # type: ignore[no-untyped-def]
    assert client.post(URL, json={"pixels": [0.0] * 784, "label": "1", "mode": "predict"}).status_code == 201
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ):
        for r in (
            client.get(URL, headers=headers),
            client.delete(f"{URL}/1", headers=headers),
            client.post("/api/v1/model/reload", headers=headers),
        ):
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", (headers, r.text)
            assert "image" not in r.text.lower().replace("admin", "")
    assert len(rows(db)) == 1  # nothing deleted


def test_list_and_delete_with_the_token(client, db) -> None:  # type: ignore[no-untyped-def]
    for label in "0123":
        client.post(URL, json={"pixels": [0.0] * 784, "label": label, "mode": "predict"})
    body = client.get(URL, headers=ADMIN, params={"limit": 2, "offset": 1}).json()
    assert body["total"] == 4 and [c["label"] for c in body["corrections"]] == ["1", "2"]
    one = body["corrections"][0]
    assert "image" not in one and one["image_bytes"] > 0 and one["media_type"] == "image/png"
    assert one["answer"]["digit"] is None and one["answer"]["reason"]  # a blank input: the model found no digit
    assert client.delete(f"{URL}/2", headers=ADMIN).status_code == 204
    assert client.delete(f"{URL}/2", headers=ADMIN).status_code == 404
    assert client.delete(f"{URL}/abc", headers=ADMIN).status_code == 422
    assert client.delete(f"{URL}/{2**64}", headers=ADMIN).status_code == 422
    assert client.get(URL, headers=ADMIN, params={"limit": 0}).status_code == 422
    assert [r["label"] for r in rows(db)] == ["0", "2", "3"]


# ---------------------------------------------------------------- swapping the model


def test_reload_swaps_the_model_and_a_bad_one_keeps_the_old(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = model_copy(tmp_path / "models", "other")
    reload = "/api/v1/model/reload"
    r = client.post(reload, headers=ADMIN, json={"model": str(other)})
    assert r.status_code == 200 and r.json()["name"] == "other", r.text
    assert client.get("/api/v1/model").json()["name"] == "other"
    assert client.get("/api/v1/health").json()["model"] == "other"
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model at all")
    line = Path(client.app.state.digitreader.recognizer.line_model_path)
    for body, status, words in [
        ({"model": str(bad)}, 422, "not a loadable ONNX model"),
        ({"model": str(tmp_path / "missing.onnx")}, 422, "does not exist"),
        ({"model": str(line)}, 422, "not a digit"),  # an ONNX file, but not a digit model
        ({"model": "no-such-name"}, 422, "unknown model"),
        ({"path": "x"}, 422, "Extra inputs"),
    ]:
        r = client.post(reload, headers=ADMIN, json=body)
        assert r.status_code == status and words in r.json()["detail"], r.text
        assert client.get("/api/v1/model").json()["name"] == "other"  # the old one serves on
    r = client.post(reload, headers={**ADMIN, "content-type": "application/json"}, content=b"{not json")
    assert r.status_code == 400
    pixels = np.zeros((28, 28), np.float32)
    pixels[4:24, 13:16] = 1
    assert client.post("/api/v1/predict", json={"pixels": pixels.ravel().tolist()}).json()["digit"] == 1
    r = client.post(reload, headers=ADMIN)  # no body: the model it started with
    assert r.status_code == 200 and r.json()["name"] == "default"


def test_a_replaced_model_file_is_picked_up(recognizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = model_copy(tmp_path / "live", "first")
    with TestClient(create_app(path, model_poll=0.1)) as c:
        assert c.get("/api/v1/model").json()["name"] == "first"
        staged = model_copy(tmp_path / "staged", "second")
        shutil.copyfile(staged.with_suffix(".json"), path.with_suffix(".json"))
        shutil.copyfile(staged, tmp_path / "live" / ".first.onnx.new")
        (tmp_path / "live" / ".first.onnx.new").replace(path)  # as mv does: atomic
        deadline = time.monotonic() + 20
        while c.get("/api/v1/model").json()["name"] != "second":
            assert time.monotonic() < deadline, "the new model file was not picked up"
            time.sleep(0.1)
        path.write_bytes(b"half a model")  # a broken file: logged, and the last good model serves on
        time.sleep(0.5)
        assert c.get("/api/v1/model").json()["name"] == "second"
        assert c.post("/api/v1/predict", json={"pixels": [0.0] * 784}).status_code == 200


def test_reload_under_load_fails_no_request(recognizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """200 clients on a real server (keep-alive, threads) for a few seconds while the model is swapped 6 times."""
    import uvicorn
    from test_browser import free_port

    other = model_copy(tmp_path / "models", "other")
    app = create_app(recognizer=recognizer, admin_token=TOKEN, model_poll=0)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    pixels = np.zeros((28, 28), np.float32)
    pixels[4:24, 13:16] = 1
    body = {"pixels": pixels.ravel().tolist()}
    stop = threading.Event()

    def client_loop(_: int) -> tuple[int, list[str]]:
        done, bad = 0, []
        with httpx.Client(base_url=base, timeout=60) as http:
            while not stop.is_set():
                try:
                    r = http.post("/api/v1/predict", json=body)
                    ok = r.status_code == 200 and r.json()["digit"] == 1
                except httpx.HTTPError as exc:
                    ok, r = False, exc
                if not ok:
                    bad.append(str(getattr(r, "text", r)))
                done += 1
        return done, bad

    names = []
    try:
        with ThreadPoolExecutor(200) as pool:
            futures = [pool.submit(client_loop, i) for i in range(200)]
            with httpx.Client(base_url=base, headers=ADMIN, timeout=60) as admin:
                for k in range(6):
                    time.sleep(0.4)
                    r = admin.post("/api/v1/model/reload", json={"model": str(other)} if k % 2 == 0 else None)
                    assert r.status_code == 200, r.text
                    names.append(admin.get("/api/v1/model").json()["name"])
                time.sleep(0.4)
            stop.set()
            results = [f.result() for f in futures]
    finally:
        stop.set()
        server.should_exit = True
        thread.join(timeout=20)
    assert names == ["other", "default"] * 3
    failures = [b for _, bad in results for b in bad]
    assert not failures, f"{len(failures)} requests failed: {failures[:3]}"
    assert sum(n for n, _ in results) >= 400  # every client got answers throughout
