"""The web app end to end in headless Chromium (Debian's, driven by Playwright): the real server, the real model.

Digits are drawn with the mouse as a person would, stroke by stroke along pen paths
(``STROKES`` below: each digit written the common way), at different places and sizes;
photos are made from MNIST test digits printed on paper. Screenshots go to
``test-output/browser/``.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import shutil
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
Point = tuple[float, float]

# ---------------------------------------------------------------- how people write digits
# Each digit is a list of strokes in a unit box (x right, y down, 0..1), the box 0.7 times as
# wide as it is tall. Curves are sampled densely; the mouse moves through every point.


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, n: int = 36) -> list[Point]:
    """Points on an ellipse from angle ``start`` to ``end`` (degrees; 0 = right, 90 = down, -90 = up)."""
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
        for a in np.linspace(start, end, n).tolist()
    ]


def line(*points: Point, n: int = 12) -> list[Point]:
    """A polyline through ``points``, each segment sampled ``n`` times."""
    out: list[Point] = [points[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        out += [(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t) for t in np.linspace(0, 1, n + 1)[1:].tolist()]
    return out


def bezier(p0: Point, p1: Point, p2: Point, n: int = 20) -> list[Point]:
    return [
        ((1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * p1[0] + t**2 * p2[0],
         (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * p1[1] + t**2 * p2[1])
        for t in np.linspace(0, 1, n).tolist()
    ]  # fmt: skip


def figure_eight(n: int = 80) -> list[Point]:
    """One stroke: from the top, down through the waist, round the lower loop, back up round the upper one."""
    pts = []
    for t in np.linspace(0, 2 * math.pi, n).tolist():
        y = 0.5 - 0.49 * math.cos(t)
        x = 0.5 - 0.85 * math.sin(t) * math.cos(t)
        pts.append((x, y))
    return pts


STROKES: dict[int, list[list[Point]]] = {
    0: [arc(0.5, 0.5, 0.44, 0.49, -90, -90 - 380, 60)],  # round, anticlockwise from the top, closing over
    1: [line((0.56, 0.0), (0.46, 1.0))],  # one slanted stroke
    2: [arc(0.5, 0.3, 0.42, 0.29, 195, 375, 30) + line((0.9, 0.38), (0.04, 0.99), (0.97, 0.99))],
    3: [arc(0.45, 0.26, 0.42, 0.25, -160, 95, 36) + arc(0.45, 0.74, 0.47, 0.26, -95, 160, 36)],
    4: [line((0.28, 0.0), (0.06, 0.62), (0.96, 0.62)), line((0.72, 0.12), (0.72, 1.0))],  # open top
    5: [line((0.2, 0.02), (0.16, 0.47)) + arc(0.47, 0.69, 0.42, 0.3, -140, 150, 36), line((0.2, 0.02), (0.92, 0.02))],
    6: [bezier((0.8, 0.0), (0.12, 0.18), (0.1, 0.7)) + arc(0.5, 0.71, 0.4, 0.28, 180, -180, 48)],
    7: [line((0.04, 0.03), (0.96, 0.03), (0.4, 1.0))],
    8: [figure_eight()],
    9: [arc(0.48, 0.27, 0.38, 0.26, 5, -355, 48) + line((0.86, 0.3), (0.78, 1.0))],
}

# (digit, centre x, centre y, height), as fractions of the canvas: everywhere, small to large.
PLACES = [
    (0, 0.50, 0.50, 0.70),
    (1, 0.22, 0.28, 0.35),
    (2, 0.70, 0.66, 0.45),
    (3, 0.50, 0.45, 0.55),
    (4, 0.30, 0.70, 0.42),
    (5, 0.66, 0.34, 0.50),
    (6, 0.50, 0.52, 0.82),
    (7, 0.76, 0.76, 0.30),
    (8, 0.36, 0.42, 0.60),
    (9, 0.55, 0.55, 0.48),
    (0, 0.78, 0.24, 0.32),
    (1, 0.50, 0.50, 0.85),
    (2, 0.28, 0.32, 0.38),
    (3, 0.72, 0.70, 0.40),
    (4, 0.55, 0.45, 0.75),
    (5, 0.26, 0.72, 0.36),
    (6, 0.74, 0.30, 0.40),
    (7, 0.40, 0.48, 0.70),
    (8, 0.70, 0.62, 0.45),
    (9, 0.25, 0.30, 0.34),
]


def write(page, canvas: str, digit: int, cx: float, cy: float, height: float) -> None:  # type: ignore[no-untyped-def]
    """Write ``digit`` with the mouse on ``canvas``, centred at (cx, cy), ``height`` tall (fractions of the canvas)."""
    box = page.locator(canvas).bounding_box()
    h = height * box["height"]
    w = 0.7 * h
    left = box["x"] + cx * box["width"] - w / 2
    top = box["y"] + cy * box["height"] - h / 2
    for stroke in STROKES[digit]:
        x, y = stroke[0]
        page.mouse.move(left + x * w, top + y * h)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(left + x * w, top + y * h, steps=2)
        page.mouse.up()


def settle(page, pad: str, result: str) -> None:  # type: ignore[no-untyped-def]
    """Wait until the result shows the answer for the drawing as it is now (live updates have caught up)."""
    revision = page.locator(pad).get_attribute("data-revision")
    page.wait_for_selector(f'{result}[data-revision="{revision}"]:not([data-state="busy"])', timeout=15_000)


# ---------------------------------------------------------------- photos: MNIST test digits on paper


def photo_of_number(digits: list[np.ndarray], seed: int = 0) -> tuple[bytes, list[tuple[int, int, int, int]]]:
    """A phone-like JPEG of the digits written on paper: uneven light, blur, noise. Returns it and where each is."""
    rng = np.random.default_rng(seed)
    height, gap = 150, 60
    w = 200 + len(digits) * (height + gap)
    h = 420
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    paper = 232 - 30 * (xx / w) - 18 * (yy / h)  # light from the top left
    paper += rng.normal(0, 3, paper.shape)
    ink = np.zeros((h, w), np.float32)
    places = []
    x = 100
    for d in digits:
        size = int(height * rng.uniform(0.9, 1.1))
        glyph = np.asarray(Image.fromarray(d).resize((size, size), Image.BICUBIC), np.float32) / 255
        y = (h - size) // 2 + int(rng.integers(-15, 16))
        ink[y : y + size, x : x + size] = np.maximum(ink[y : y + size, x : x + size], glyph)
        places.append((x, y, size, size))
        x += size + gap + int(rng.integers(-10, 11))
    rgb = np.stack(
        [paper * (1 - 0.85 * ink) + 20 * ink, paper * (1 - 0.8 * ink) + 25 * ink, paper * (1 - 0.6 * ink)], -1
    )
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.2))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=80)
    return buf.getvalue(), places


# ---------------------------------------------------------------- fixtures: the real server, a real browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def corrections_db(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """The SQLite file where the page's server stores corrections (issue 22)."""
    return tmp_path_factory.mktemp("corrections") / "corrections.sqlite3"


@pytest.fixture(scope="module")
def server(recognizer, corrections_db: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    import uvicorn

    from digitreader.server import create_app

    port = free_port()
    app = create_app(recognizer=recognizer, corrections=corrections_db)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def playwright() -> Iterator:  # type: ignore[type-arg]
    if not Path(CHROMIUM).exists():
        found = shutil.which("chromium")
        pytest.skip(f"Chromium not found at {CHROMIUM} ({found=}): apt-get install -y chromium (make system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright) -> Iterator:  # type: ignore[no-untyped-def,type-arg]
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    yield b
    b.close()


@pytest.fixture(scope="module")
def shots(output_dir: Path) -> Path:
    folder = output_dir / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser, server: str) -> Iterator:  # type: ignore[no-untyped-def,type-arg]
    context = browser.new_context(viewport={"width": 1200, "height": 860})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server + "/")
    pg.wait_for_selector("#model-badge.ok")
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


# ---------------------------------------------------------------- drawing single digits


def chart(page) -> list[float]:  # type: ignore[no-untyped-def]
    bars = page.locator("#draw-chart li")
    assert bars.count() == 10
    return [float(bars.nth(d).get_attribute("data-p")) for d in range(10)]


def test_drawn_digits_are_read(page, shots: Path) -> None:  # type: ignore[no-untyped-def]
    wrong = []
    for i, (digit, cx, cy, height) in enumerate(PLACES):
        if page.locator("#draw-clear").is_enabled():
            page.click("#draw-clear")
        write(page, "#draw-canvas", digit, cx, cy, height)
        settle(page, "#draw-canvas", "#draw-result")
        page.screenshot(path=str(shots / f"draw-{i:02d}-digit{digit}.png"))
        shown = page.locator("#draw-digit").text_content()
        probs = chart(page)
        assert abs(sum(probs) - 1) < 1e-3
        top = page.locator("#draw-chart li.top")
        assert top.count() == 1 and int(top.get_attribute("data-digit")) == int(np.argmax(probs))
        assert page.locator("#draw-seen").is_visible()  # what the model saw
        if shown != str(digit) or int(np.argmax(probs)) != digit:
            wrong.append((i, digit, shown, round(max(probs), 3)))
        else:
            assert page.locator("#draw-title").text_content() == f"Looks like {'an' if digit == 8 else 'a'} {digit}"
    assert not wrong, f"(drawing, meant, read, confidence): {wrong}"


def test_undo_clear_and_keyboard(page) -> None:  # type: ignore[no-untyped-def]
    assert page.locator("#draw-undo").is_disabled()
    write(page, "#draw-canvas", 4, 0.5, 0.5, 0.6)  # two strokes
    settle(page, "#draw-canvas", "#draw-result")
    assert page.locator("#draw-digit").text_content() == "4"
    page.click("#draw-undo")  # the vertical stroke goes: no longer a 4
    settle(page, "#draw-canvas", "#draw-result")
    assert page.locator("#draw-result").get_attribute("data-state") in ("done", "none")
    page.locator("#draw-canvas").focus()
    page.keyboard.press("Control+z")  # the first stroke goes too: empty
    settle(page, "#draw-canvas", "#draw-result")
    assert page.locator("#draw-result").get_attribute("data-state") == "empty"
    assert page.locator("#draw-digit").text_content() == "?"
    write(page, "#draw-canvas", 7, 0.5, 0.5, 0.6)
    settle(page, "#draw-canvas", "#draw-result")
    assert page.locator("#draw-digit").text_content() == "7"
    page.keyboard.press("Escape")
    settle(page, "#draw-canvas", "#draw-result")
    assert page.locator("#draw-result").get_attribute("data-state") == "empty"
    assert chart(page) == [0.0] * 10


def test_live_prediction_while_drawing(page) -> None:  # type: ignore[no-untyped-def]
    """The answer arrives before the pen is lifted."""
    box = page.locator("#draw-canvas").bounding_box()
    stroke = STROKES[7][0]
    page.mouse.move(box["x"] + (0.2 + 0.6 * stroke[0][0]) * box["width"], box["y"] + 0.15 * box["height"])
    page.mouse.down()
    for x, y in stroke[1:]:
        page.mouse.move(box["x"] + (0.2 + 0.42 * x) * box["width"], box["y"] + (0.15 + 0.6 * y) * box["height"])
    page.wait_for_selector('#draw-result[data-state="done"]', timeout=10_000)
    page.mouse.up()


# ---------------------------------------------------------------- a number, a photo, a camera


def test_number_mode_reads_a_drawn_number(page, shots: Path) -> None:  # type: ignore[no-untyped-def]
    page.click("#tab-number")
    for number in ("427", "3059"):
        if page.locator("#number-clear").is_enabled():
            page.click("#number-clear")
        n = len(number)
        for k, ch in enumerate(number):
            write(page, "#number-canvas", int(ch), (k + 0.5) / n * 0.8 + 0.1, 0.5, 0.7)
        settle(page, "#number-canvas", "#number-result")
        page.screenshot(path=str(shots / f"number-{number}.png"))
        assert page.locator("#number-result").get_attribute("data-text") == number
        assert page.locator("#number-text").text_content() == number
        boxes = page.locator("#number-boxes .box")
        assert boxes.count() == n
        assert [boxes.nth(k).get_attribute("data-digit") for k in range(n)] == list(number)
        assert page.locator("#number-digits li").count() == n


def test_uploaded_photo_is_read_with_boxes(page, shots: Path, mnist_test) -> None:  # type: ignore[no-untyped-def]
    images, labels = mnist_test
    picks = [11, 12, 13, 14]  # four test digits, as they come
    expected = "".join(str(labels[i]) for i in picks)
    jpeg, places = photo_of_number([images[i] for i in picks])
    path = shots / "photo-input.jpg"
    path.write_bytes(jpeg)
    page.click("#tab-photo")
    page.set_input_files("#photo-input", str(path))
    page.wait_for_selector('#photo-result[data-state="done"]', timeout=15_000)
    page.screenshot(path=str(shots / "photo.png"))
    assert page.locator("#photo-text").text_content() == expected
    boxes = page.locator("#photo-boxes .box")
    assert boxes.count() == len(picks)
    image = page.locator("#photo-image").bounding_box()
    scale = image["width"] / Image.open(io.BytesIO(jpeg)).width
    for k, (x, y, w, h) in enumerate(places):  # each box lies over its digit
        b = boxes.nth(k).bounding_box()
        cx, cy = (b["x"] - image["x"] + b["width"] / 2) / scale, (b["y"] - image["y"] + b["height"] / 2) / scale
        assert x <= cx <= x + w and y <= cy <= y + h, (k, (cx, cy), (x, y, w, h))


def test_paste_and_drop_an_image(page, mnist_test) -> None:  # type: ignore[no-untyped-def]
    images, labels = mnist_test
    jpeg, _ = photo_of_number([images[20], images[21]], seed=1)
    expected = f"{labels[20]}{labels[21]}"
    script = """async ([bytes, how]) => {
        const file = new File([new Uint8Array(bytes)], "pasted.jpg", { type: "image/jpeg" });
        const data = new DataTransfer();
        data.items.add(file);
        if (how === "paste") document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data }));
        else document.querySelector("#photo-drop").dispatchEvent(
            new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
    }"""
    for how in ("paste", "drop"):
        page.click("#tab-draw")
        page.evaluate("document.querySelector('#photo-result').dataset.state = 'waiting'")
        page.evaluate(script, [list(jpeg), how])
        page.wait_for_selector('#photo-result[data-state="done"]', timeout=15_000)
        assert page.locator("#tab-photo").get_attribute("aria-selected") == "true"
        assert page.locator("#photo-text").text_content() == expected


def test_clear_error_for_a_file_that_is_not_an_image(page, shots: Path) -> None:  # type: ignore[no-untyped-def]
    page.click("#tab-photo")
    page.set_input_files("#photo-input", files=[{"name": "fake.png", "mimeType": "image/png", "buffer": b"not a png"}])
    page.wait_for_selector('#photo-result[data-state="error"]', timeout=15_000)
    toast = page.locator("#toast")
    assert toast.is_visible() and "not an image" in toast.text_content()
    page.screenshot(path=str(shots / "error.png"))
    page.set_input_files("#photo-input", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    page.wait_for_function("document.querySelector('#toast').textContent.includes('notes.txt')")


def y4m_of_number(digits: list[np.ndarray], frames: int = 10) -> bytes:
    """A short Y4M video (Chromium's fake camera plays it in a loop) of the digits on paper."""
    jpeg, _ = photo_of_number(digits, seed=2)
    rgb = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB").resize((640, 480)))
    import cv2

    yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes()
    return b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n" + b"".join(b"FRAME\n" + yuv for _ in range(frames))


def test_camera_reads_continuously(playwright, server: str, shots: Path, mnist_test, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    images, labels = mnist_test
    picks = [30, 31, 32]
    video = tmp_path / "camera.y4m"
    video.write_bytes(y4m_of_number([images[i] for i in picks]))
    fake = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS + fake)
    try:
        context = b.new_context(viewport={"width": 1200, "height": 860}, permissions=["camera"])
        page = context.new_page()
        page.goto(server + "/#camera")
        page.click("#camera-start")
        page.wait_for_selector('#camera-result[data-state="done"]', timeout=20_000)
        page.wait_for_function("document.querySelector('#camera-stats').textContent.includes('readings/s')")
        page.screenshot(path=str(shots / "camera.png"))
        assert page.locator("#camera-text").text_content() == "".join(str(labels[i]) for i in picks)
        assert page.locator("#camera-boxes .box").count() == len(picks)
        page.click("#camera-stop")
        assert page.locator("#camera-start").is_visible()
    finally:
        b.close()


# ---------------------------------------------------------------- phone screens, keyboard


def test_phone_sized_screen(browser, server: str, shots: Path) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, has_touch=True)
    page = context.new_page()
    page.goto(server + "/")
    page.wait_for_selector("#model-badge.ok")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out sideways
    write(page, "#draw-canvas", 3, 0.5, 0.5, 0.6)
    settle(page, "#draw-canvas", "#draw-result")
    page.screenshot(path=str(shots / "phone.png"), full_page=True)
    assert page.locator("#draw-digit").text_content() == "3"
    for tab in ("number", "photo", "camera"):
        page.click(f"#tab-{tab}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, tab
    context.close()


def test_keyboard_moves_between_modes(page) -> None:  # type: ignore[no-untyped-def]
    page.locator("#tab-draw").focus()
    page.keyboard.press("ArrowRight")
    assert page.locator("#tab-number").get_attribute("aria-selected") == "true"
    assert page.locator("#panel-number").is_visible() and not page.locator("#panel-draw").is_visible()
    page.keyboard.press("End")
    assert page.locator("#tab-camera").get_attribute("aria-selected") == "true"
    page.keyboard.press("ArrowRight")  # wraps round
    assert page.locator("#tab-draw").get_attribute("aria-selected") == "true"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert page.locator("#tab-photo").get_attribute("aria-selected") == "true"
    page.keyboard.press("Tab")  # into the panel: the first control is the upload button
    assert page.evaluate("document.activeElement.id") == "photo-choose"


def test_screenshot_for_the_readme(browser, server: str, shots: Path) -> None:  # type: ignore[no-untyped-def]
    """The pictures in docs/ (copied by hand after a look): a digit drawn and read at 1280x800, a number at 390x844.

    They show the model's accuracy as the served model card gives it, not a figure written down somewhere.
    """
    with urllib.request.urlopen(server + "/api/v1/model") as response:
        accuracy = f"{json.load(response)['test_accuracy'] * 100:.2f}%"
    for size, name in ((DESKTOP, "screenshot.png"), (PHONE, "screenshot-phone.png")):
        context = browser.new_context(viewport={"width": size[0], "height": size[1]}, device_scale_factor=1)
        page = context.new_page()
        page.goto(server + ("/" if size == DESKTOP else "/#number"))
        page.wait_for_selector("#model-badge.ok")
        assert accuracy in page.locator("#model-text").inner_text()
        if size == DESKTOP:
            write(page, "#draw-canvas", 5, 0.5, 0.5, 0.5)
            settle(page, "#draw-canvas", "#draw-result")
            assert page.locator("#draw-digit").text_content() == "5"
        else:
            write_number(page, "2025", top=0.2)
            settle(page, "#number-canvas", "#number-result")
            assert page.locator("#number-text").text_content() == "2025"
        page.mouse.move(0, 0)  # no hover effects in the picture
        page.screenshot(path=str(shots / name))
        context.close()


# ---------------------------------------------------------------- the API docs, offline


# ReDoc's menu footer always shows Redocly's logo from their CDN (hard-coded; hidden when it fails to load).
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.mark.parametrize(
    ("path", "rendered", "allowed"),
    [("/docs", ".opblock-summary-path", []), ("/redoc", "[role=menuitem]", [REDOC_LOGO])],
)
def test_api_docs_work_offline(browser, server: str, path: str, rendered: str, allowed: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Swagger UI and ReDoc come from the package: with every request off this server refused, they render."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    outside: list[str] = []

    def local_only(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.url.startswith(server + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", local_only)
    page = context.new_page()
    page.goto(server + path)
    page.wait_for_selector(rendered, timeout=20_000)
    assert "/api/v1/predict" in page.locator("body").inner_text()
    assert "/api/v1/read" in page.locator("body").inner_text()
    assert set(outside) <= set(allowed), f"{path} asked for resources outside the server: {outside}"
    context.close()


# ---------------------------------------------------------------- layout at desktop and phone sizes (issue 20)

DESKTOP = (1280, 800)
PHONE = (390, 844)


@contextmanager
def sized_page(browser, server: str, size: tuple[int, int], path: str = "/") -> Iterator:  # type: ignore[no-untyped-def,type-arg]
    """A page at ``size`` (a phone has touch and a 2x screen), loaded with the model card shown; no JS errors."""
    phone = size[0] < 600
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]}, device_scale_factor=2 if phone else 1, has_touch=phone
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + path)
    page.wait_for_selector("#model-badge.ok")
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def check_tags(page, boxes: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Each box's tag in ``boxes`` lies inside that container and clear of every other tag; returns their texts."""
    found = page.evaluate(
        """(sel) => {
            const rect = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
            const container = document.querySelector(sel);
            return {
                container: rect(container),
                boxes: [...container.querySelectorAll(".box")].map((b) => b.dataset.digit),
                tags: [...container.querySelectorAll(".tag")].map(
                    (t) => [t.hidden, t.dataset.digit, t.textContent, rect(t)]),
            };
        }""",
        boxes,
    )
    left, top, right, bottom = found["container"]
    assert [digit for _, digit, _, _ in found["tags"]] == found["boxes"]  # one tag per box, in order
    shown = [(text, r) for hidden, _, text, r in found["tags"] if not hidden]
    assert len(shown) == len(found["boxes"]), f"tags left out: {found['tags']}"
    for (text, r), digit in zip(shown, found["boxes"], strict=True):
        assert text.split(" ")[0] == digit
        assert left - 0.5 <= r[0] and r[2] <= right + 0.5 and top - 0.5 <= r[1] and r[3] <= bottom + 0.5, (text, r)
    for (a, ra), (b, rb) in itertools.combinations(shown, 2):
        apart = ra[2] <= rb[0] or rb[2] <= ra[0] or ra[3] <= rb[1] or rb[3] <= ra[1]
        assert apart, f"tags {a!r} {ra} and {b!r} {rb} overlap"
    return [text for text, _ in shown]


def write_number(page, number: str, top: float = 0.5) -> None:  # type: ignore[no-untyped-def]
    """Write ``number`` on the number pad, digits side by side as large as its shape allows, their tops at ``top``."""
    box = page.locator("#number-canvas").bounding_box()
    n = len(number)
    height = min(0.93 - top, 0.75 * box["width"] / n / (0.7 * box["height"]))  # each 0.7 times as wide as tall
    for k, ch in enumerate(number):
        write(page, "#number-canvas", int(ch), (k + 0.5) / n * 0.9 + 0.05, top + height / 2, height)


def test_digit_tags_never_overlap_or_clip(browser, server: str, shots: Path, mnist_test) -> None:  # type: ignore[no-untyped-def]
    """Issue 20.6: the tags of many digits close together, on a photo and on the number pad, desktop and phone."""
    images, labels = mnist_test
    picks = list(range(40, 48))  # eight digits in a row: on a phone each box is a few pixels apart
    jpeg, _ = photo_of_number([images[i] for i in picks], seed=3)
    path = shots / "photo-eight.jpg"
    path.write_bytes(jpeg)
    with sized_page(browser, server, DESKTOP) as page:
        page.click("#tab-photo")
        page.set_input_files("#photo-input", str(path))
        page.wait_for_selector('#photo-result[data-state="done"]', timeout=15_000)
        assert len(check_tags(page, "#photo-boxes")) == len(picks)
        page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})  # laid out again for the new size
        page.wait_for_function("document.querySelector('#photo-image').getBoundingClientRect().width < 390")
        page.wait_for_timeout(100)
        check_tags(page, "#photo-boxes")
    for size in (DESKTOP, PHONE):
        with sized_page(browser, server, size) as page:
            page.click("#tab-photo")
            page.set_input_files("#photo-input", str(path))
            page.wait_for_selector('#photo-result[data-state="done"]', timeout=15_000)
            page.screenshot(path=str(shots / f"tags-photo-{size[0]}.png"))
            texts = check_tags(page, "#photo-boxes")
            assert [t.split(" ")[0] for t in texts] == [str(labels[i]) for i in picks]
            page.click("#tab-number")
            write_number(page, "3059", top=0.07)  # tall digits near the top edge: no room above them
            settle(page, "#number-canvas", "#number-result")
            page.screenshot(path=str(shots / f"tags-number-{size[0]}.png"))
            assert page.locator("#number-text").text_content() == "3059"
            check_tags(page, "#number-boxes")


def stroke_width(page, canvas: str) -> float:  # type: ignore[no-untyped-def]
    """How thick the ink is, in CSS pixels, down the middle column of ``canvas``."""
    return page.evaluate(
        """(sel) => {
            const c = document.querySelector(sel);
            const x = Math.round(c.width / 2);
            const alpha = c.getContext("2d").getImageData(x, 0, 1, c.height).data.filter((_, i) => i % 4 === 3);
            return alpha.filter((a) => a > 127).length * c.getBoundingClientRect().height / c.height;
        }""",
        canvas,
    )


def test_phone_number_pad_fits_a_finger_and_the_pen_size_changes(browser, server: str, shots: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 20.7: the number pad on a phone is large enough to write on; thin, medium, thick pens draw as told."""
    with sized_page(browser, server, PHONE) as page:
        page.click("#tab-number")
        pad = page.locator("#number-canvas").bounding_box()
        assert pad["width"] >= 320 and pad["height"] >= 200, pad  # was 334 x 110
        assert pad["x"] >= 0 and pad["x"] + pad["width"] <= PHONE[0]
        widths = {}
        for size in ("thin", "medium", "thick"):
            page.check(f'input[name="number-pen"][value="{size}"]')
            page.mouse.move(pad["x"] + 0.2 * pad["width"], pad["y"] + 0.5 * pad["height"])
            page.mouse.down()
            page.mouse.move(pad["x"] + 0.8 * pad["width"], pad["y"] + 0.5 * pad["height"], steps=10)
            page.mouse.up()
            widths[size] = stroke_width(page, "#number-canvas")
            page.click("#number-clear")
        assert 0 < widths["thin"] < widths["medium"] < widths["thick"], widths
        assert widths["thick"] > 2.5 * widths["thin"], widths
        page.check('input[name="number-pen"][value="medium"]')
        write_number(page, "427", top=0.15)  # round digits stay round: the pad's shape is the image's shape
        settle(page, "#number-canvas", "#number-result")
        page.screenshot(path=str(shots / "phone-number.png"))
        assert page.locator("#number-text").text_content() == "427"
        assert page.locator("#number-toolbar").bounding_box()["height"] < 60  # one row: buttons and pen sizes


def test_article_before_numbers(page) -> None:  # type: ignore[no-untyped-def]
    """Issue 20.8: "an 8", "an 11", "an 18", "an 80".."an 89", "an 800", "an 8000", "an 18000"; "a" otherwise."""
    cases = {
        "an": [8, 11, 18, 80, 83, 89, 800, 871, 8000, 11000, 18000, 80000, 800000, 8000000, 11000000],
        "a": [0, 1, 2, 7, 9, 10, 12, 17, 19, 20, 79, 90, 100, 108, 180, 1000, 1800, 1100, 110, 7000, 90000, 118],
    }
    for want, numbers in cases.items():
        got = page.evaluate(
            "async (ns) => { const m = await import('/static/app.js'); return ns.map(m.article); }", numbers
        )
        assert got == [want] * len(numbers), list(zip(numbers, got, strict=True))


def test_page_fits_the_window_on_a_desktop(browser, server: str, mnist_test) -> None:  # type: ignore[no-untyped-def]
    """Issue 20.8: at 1280x800 no mode scrolls, and a wide photo is shown wide, without empty space round it."""
    images, _ = mnist_test
    jpeg, _ = photo_of_number([images[i] for i in range(50, 56)], seed=4)

    def fits(page, what: str) -> None:  # type: ignore[no-untyped-def]
        size = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        assert size[0] <= DESKTOP[0] and size[1] <= DESKTOP[1], (what, size)

    with sized_page(browser, server, DESKTOP) as page:
        write(page, "#draw-canvas", 8, 0.5, 0.5, 0.6)
        settle(page, "#draw-canvas", "#draw-result")
        fits(page, "draw")
        page.click("#draw-fix-open")  # the correction open too, a digit chosen and the note shown
        page.locator("#draw-fix-digits button").nth(3).click()
        assert page.locator("#draw-fix-note").is_visible()
        fits(page, "draw, corrected")
        page.click("#tab-number")
        write_number(page, "3059", top=0.15)
        settle(page, "#number-canvas", "#number-result")
        fits(page, "number")
        page.click("#tab-photo")
        fits(page, "photo, empty")
        page.set_input_files("#photo-input", files=[{"name": "wide.jpg", "mimeType": "image/jpeg", "buffer": jpeg}])
        page.wait_for_selector('#photo-result[data-state="done"]', timeout=15_000)
        fits(page, "photo")
        drop = page.locator("#photo-drop").bounding_box()
        image = page.locator("#photo-image").bounding_box()
        assert image["width"] >= 0.9 * drop["width"], (image, drop)  # as wide as the frame
        assert drop["height"] <= image["height"] + 40, (image, drop)  # the frame hugs it: no band above and below
        page.click("#tab-camera")
        fits(page, "camera")


def test_model_badge_shows_the_card_on_one_line(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    """Issue 20.8 and the README: the badge shows the served model's accuracy from /api/v1/model, on one line."""
    with urllib.request.urlopen(server + "/api/v1/model") as response:
        card = json.load(response)
    accuracy = f"{card['test_accuracy'] * 100:.2f}% on MNIST"
    for size in (DESKTOP, PHONE):
        with sized_page(browser, server, size) as page:
            text = page.locator("#model-text")
            assert accuracy in text.inner_text()
            if size == DESKTOP:
                assert f"model {card['name']}" in text.inner_text()
            lines = page.evaluate(
                """() => { const t = document.querySelector('#model-text');
                     return t.getBoundingClientRect().height / parseFloat(getComputedStyle(t).lineHeight); }"""
            )
            assert lines < 1.5, (size, lines)
            badge = page.locator("#model-badge").bounding_box()
            assert badge["x"] + badge["width"] <= page.locator(".api-link").bounding_box()["x"], size
            assert page.evaluate("document.documentElement.scrollWidth") <= size[0]


def test_not_what_you_wrote(page) -> None:  # type: ignore[no-untyped-def]
    """Issue 20.9: a wrong answer can be corrected on the page; the correction is shown, and nothing is sent."""
    write(page, "#draw-canvas", 7, 0.5, 0.5, 0.6)
    settle(page, "#draw-canvas", "#draw-result")
    assert page.locator("#draw-digit").text_content() == "7"
    sent: list[str] = []
    page.on("request", lambda r: sent.append(f"{r.method} {r.url}"))
    assert page.locator("#draw-fix-open").is_visible() and not page.locator("#draw-fix-digits").is_visible()
    page.click("#draw-fix-open")
    keys = page.locator("#draw-fix-digits button")
    assert keys.count() == 10 and keys.nth(1).locator("small").text_content().endswith("%")  # the model's odds
    keys.nth(8).click()
    note = page.locator("#draw-fix-note")
    assert note.is_visible()
    assert "you wrote an 8; it read a 7" in note.text_content()
    assert "nothing is sent or stored" in note.text_content()
    assert "meant" in page.locator('#draw-chart li[data-digit="8"]').get_attribute("class")
    keys.nth(7).click()
    assert "read you right" in note.text_content()
    assert "meant" not in (page.locator('#draw-chart li[data-digit="8"]').get_attribute("class") or "")
    assert not sent, f"a correction made requests: {sent}"
    page.keyboard.press("Escape")  # a new drawing: the control starts afresh
    settle(page, "#draw-canvas", "#draw-result")
    assert not page.locator("#draw-fix").is_visible() and not note.is_visible()

    page.click("#tab-number")
    write_number(page, "427", top=0.15)
    settle(page, "#number-canvas", "#number-result")
    assert page.locator("#number-text").text_content() == "427"
    sent.clear()
    page.click("#number-fix-open")
    field = page.locator("#number-fix-input")
    assert field.input_value() == "427"
    field.fill("428")
    page.click("#number-fix-panel button[type=submit]")
    note = page.locator("#number-fix-note")
    assert "you wrote 428; the 3rd read as a 7, not an 8" in note.text_content()
    chips = page.locator("#number-digits li")
    boxes = page.locator("#number-boxes .box")
    assert ["wrong" in (chips.nth(k).get_attribute("class") or "") for k in range(3)] == [False, False, True]
    assert ["wrong" in (boxes.nth(k).get_attribute("class") or "") for k in range(3)] == [False, False, True]
    field.fill("4217")
    page.click("#number-fix-panel button[type=submit]")
    assert "found 3 digits, not 4" in note.text_content()
    field.fill("42x")
    page.click("#number-fix-panel button[type=submit]")
    assert "digits only" in note.text_content()
    assert not sent, f"a correction made requests: {sent}"


# ---------------------------------------------------------------- sending a correction (issue 22)


def stored(db: Path) -> list[tuple]:  # type: ignore[type-arg]
    """The rows of the corrections database, read with sqlite3 itself: (id, mode, label, answer, media type, image)."""
    import sqlite3

    with sqlite3.connect(db) as con:
        return con.execute("SELECT id, mode, label, answer, media_type, image FROM corrections ORDER BY id").fetchall()


def test_a_correction_is_sent_only_when_asked_and_stored(page, corrections_db: Path, shots: Path) -> None:  # type: ignore[no-untyped-def]
    """Draw, say what was written, press Send: the image and the label land in the SQLite file; not before."""
    before = len(stored(corrections_db))
    write(page, "#draw-canvas", 7, 0.5, 0.5, 0.6)
    settle(page, "#draw-canvas", "#draw-result")
    assert page.locator("#draw-digit").text_content() == "7"
    sent: list[str] = []
    page.on("request", lambda r: sent.append(f"{r.method} {r.url}"))
    page.click("#draw-fix-open")
    page.locator("#draw-fix-digits button").nth(1).click()
    send = page.locator("#draw-fix-send")
    assert send.is_visible() and "stores them" in send.text_content()  # says what sending does, by the button
    assert not sent and len(stored(corrections_db)) == before  # choosing a digit sends nothing
    page.screenshot(path=str(shots / "correction-offered.png"))
    page.click("#draw-fix-send-button")
    page.wait_for_selector("#draw-fix[data-sent]", timeout=10_000)
    note = page.locator("#draw-fix-note").text_content()
    assert "Sent, thank you" in note and not send.is_visible()
    page.screenshot(path=str(shots / "correction-sent.png"))
    assert [u for u in sent if "/corrections" in u] == [f"POST {page.url.split('#')[0].rstrip('/')}/api/v1/corrections"]
    rows = stored(corrections_db)
    cid, mode, label, answer, media, image = rows[-1]
    assert len(rows) == before + 1 and str(cid) == page.locator("#draw-fix").get_attribute("data-sent")
    assert (mode, label, media) == ("predict", "1", "image/png") and json.loads(answer)["digit"] == 7
    assert Image.open(io.BytesIO(image)).size[0] >= 28  # the drawing itself

    page.click("#tab-number")
    write_number(page, "427", top=0.15)
    settle(page, "#number-canvas", "#number-result")
    page.click("#number-fix-open")
    page.locator("#number-fix-input").fill("427")
    page.click("#number-fix-panel button[type=submit]")
    assert not page.locator("#number-fix-send").is_visible()  # read right: nothing to send
    page.locator("#number-fix-input").fill("421")
    page.click("#number-fix-panel button[type=submit]")
    page.click("#number-fix-send-button")
    page.wait_for_selector("#number-fix[data-sent]", timeout=10_000)
    mode, label, answer = stored(corrections_db)[-1][1:4]
    assert (mode, label, json.loads(answer)["text"]) == ("read", "421", "427")
    assert len(stored(corrections_db)) == before + 2
