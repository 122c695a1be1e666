"""Finding the sheet of paper: a sheet on a desk reads like the sheet alone; pictures without a desk are left alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from digitreader.data.desk import desk_sample
from digitreader.data.page_scenes import page_scene
from digitreader.runtime import open_session
from digitreader.training.page import PageConfig, export
from digitreader.training.page import train as train_page
from digitreader.vision.page import find_page, find_sheet

SEED = 4242  # nothing was chosen on this seed


def _iou(a: np.ndarray, b: np.ndarray, shape: tuple[int, int]) -> float:
    ma, mb = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    cv2.fillPoly(ma, [a.astype(np.int32)], 1)
    cv2.fillPoly(mb, [b.astype(np.int32)], 1)
    return float((ma & mb).sum() / max((ma | mb).sum(), 1))


@pytest.fixture(scope="module")
def desks(mnist_test: tuple[np.ndarray, np.ndarray]) -> list:  # type: ignore[type-arg]
    images, labels = mnist_test
    return [desk_sample(images, labels, SEED, i) for i in range(20)]


def test_the_sheet_is_found_on_a_desk_and_never_in_the_sheet_alone(desks: list) -> None:  # type: ignore[type-arg]
    found = 0
    for s in desks:
        corners = find_sheet(s.desk)
        if corners is not None and _iou(corners, s.corners, s.desk.shape[:2]) > 0.85:
            found += 1
        assert find_sheet(s.sheet) is None, f"a page found inside sheet {s.index} alone"
    assert found >= 16, f"{found} of 20 sheets found"


def test_a_sheet_on_a_desk_reads_as_the_sheet_alone(desks: list, recognizer) -> None:  # type: ignore[no-untyped-def, type-arg]
    on_desk = sum(recognizer.read(s.desk).text == s.label for s in desks)
    alone = sum(recognizer.read(s.sheet).text == s.label for s in desks)
    assert on_desk >= alone - 2, f"{on_desk} of 20 read on a desk, {alone} alone"
    assert on_desk >= 15


def test_boxes_are_in_the_pictures_pixels(desks: list, recognizer) -> None:  # type: ignore[no-untyped-def, type-arg]
    """Digits read on the flattened sheet are boxed where they are in the picture: inside the sheet."""
    checked = 0
    for s in desks:
        if find_sheet(s.desk) is None:
            continue
        reading = recognizer.read(s.desk)
        for d in reading.digits:
            x, y, w, h = d.box
            centre = (float(x + w / 2), float(y + h / 2))
            assert cv2.pointPolygonTest(s.corners.reshape(-1, 1, 2), centre, True) > 0, (s.index, d.box)
            assert min(x, y) >= 0 and x + w <= s.desk.shape[1] and y + h <= s.desk.shape[0]
            checked += 1
    assert checked > 40


def test_pictures_without_a_desk_are_read_whole() -> None:
    """A blank sheet filling the frame, a canvas, a small crop, a dark photo: no page to find."""
    rng = np.random.default_rng(0)
    paper = np.clip(rng.normal(235, 4, (480, 640, 3)), 0, 255).astype(np.uint8)
    cv2.putText(paper, "4096", (150, 300), cv2.FONT_HERSHEY_SIMPLEX, 4, (30, 30, 30), 12)
    assert find_page(paper) is None
    canvas = np.full((280, 280), 255, np.uint8)
    cv2.circle(canvas, (140, 140), 80, 0, 18)
    assert find_page(canvas) is None
    assert find_page(paper[:100, :200]) is None  # smaller than a sheet search is worth
    assert find_page(np.zeros((480, 640, 3), np.uint8)) is None


def test_a_page_maps_back_to_the_picture(desks: list) -> None:  # type: ignore[type-arg]
    s = next(s for s in desks if find_sheet(s.desk) is not None)
    page = find_page(s.desk)
    assert page is not None
    h, w = page.image.shape[:2]
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]]).reshape(-1, 1, 2)
    back = cv2.perspectiveTransform(corners, page.to_picture).reshape(-1, 2)
    # the flattened sheet, mapped back, lies just inside the corners found (the edge is left off)
    assert _iou(back, page.corners, s.desk.shape[:2]) > 0.9
    assert page.image.shape[2] == 3


def test_data_desk_writes_the_set_and_a_video(tmp_path: Path, mnist_path: Path) -> None:
    out = tmp_path / "desk"
    cmd = [sys.executable, "-m", "digitreader", "data", "desk", "--out", str(out), "--count", "3", "--seed", "5"]
    done = subprocess.run([*cmd, "--data-dir", str(mnist_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = (out / "labels.csv").read_text().splitlines()
    assert rows[0].startswith("file,sheet,label,desk,corners")
    assert len(rows) == 4 and all((out / f"{k}/0000{i}.png").is_file() for k in ("desk", "sheet") for i in range(3))
    video = tmp_path / "held.mp4"
    cmd = [sys.executable, "-m", "digitreader", "data", "desk-video", str(video), "--seconds", "3", "--seed", "5"]
    done = subprocess.run([*cmd, "--data-dir", str(mnist_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    truth = [json.loads(line) for line in video.with_suffix(".truth.jsonl").read_text().splitlines()]
    assert len(truth) == 90 and truth[0]["still"] == 0 and truth[-1]["still"] == 14
    assert truth[0]["text"] and truth[0]["text"] != truth[-1]["text"]


def test_page_scenes_are_reproducible_and_their_masks_mark_the_sheet(mnist_test: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = mnist_test
    a, mask = page_scene(images, labels, 3, 7)
    b, _ = page_scene(images, labels, 3, 7)
    assert np.array_equal(a, b) and max(a.shape[:2]) == 160 and mask.shape == a.shape[:2]
    shares = [page_scene(images, labels, 3, i)[1].mean() for i in range(40)]
    assert sum(0.02 < s < 0.95 for s in shares) >= 30  # most scenes: a sheet with desk around it


def test_the_page_finder_trains_and_exports_a_network_of_any_size(tmp_path: Path, mnist_path: Path) -> None:
    cfg = PageConfig(out=tmp_path, scenes=48, epochs=1, batch_size=16, jobs=1, data_dir=str(mnist_path))
    model, figures = train_page(cfg, log=False)
    assert figures["scenes"] == 47 and np.isfinite(figures["epoch_losses"][0])
    path = export(model, cfg, figures, "test")
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["name"] == "page" and card["params"] > 0
    session = open_session(path)
    for h, w in ((128, 160), (160, 96)):
        out = session.run(None, {"image": np.random.default_rng(0).random((1, 3, h, w), np.float32)})[0]
        assert out.shape == (1, 1, h // 2, w // 2)


def test_a_sheet_with_a_corner_cut_off_keeps_its_corners() -> None:
    """A corner of the outline rounded or cut (a thumb, a dog-ear, the network's soft corner) is a short fifth
    side: the four sides that fit the outline best still meet where the sheet's corners are."""
    from digitreader.vision.page import _quadrilateral

    sheet = np.float32([[40, 60], [400, 30], [420, 300], [60, 320]])
    cut = np.float32([[40, 60], [360, 33], [403, 80], [420, 300], [60, 320]])  # the top-right corner cut off
    mask = np.zeros((360, 480), np.uint8)
    cv2.fillPoly(mask, [cut.astype(np.int32)], 1)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    quad = _quadrilateral(cv2.convexHull(contours[0]), mask.shape)
    assert quad is not None
    assert float(np.abs(quad - sheet).max()) < 4
