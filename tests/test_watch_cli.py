"""`digitreader watch` end to end: the generated test video read through the CLI, and its errors.

The video (``digitreader.data.synthetic_video``) shows numbers made of MNIST test digits on
paper that pans, shakes and is relit, with digits added and removed, and records the true
number of every frame.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from digitreader.cli import main
from digitreader.data.synthetic_video import FrameTruth, score, write_video

SECONDS = 8.0  # 240 frames of 640x480: every phase of the scenario once


@pytest.fixture(scope="module")
def test_video(mnist_test: tuple[np.ndarray, np.ndarray], tmp_path_factory: pytest.TempPathFactory):
    images, labels = mnist_test
    path = tmp_path_factory.mktemp("video") / "digits.mp4"
    truth = write_video(path, images, labels, seconds=SECONDS, seed=0)
    return path, truth


@pytest.fixture(scope="module")
def watched(test_video: tuple[Path, list[FrameTruth]], tmp_path_factory: pytest.TempPathFactory):
    """`watch --video --json --out` run once through the CLI; its JSON lines, annotated video and log."""
    path, _ = test_video
    out = tmp_path_factory.mktemp("watched") / "annotated.mp4"
    proc = subprocess.run(
        [sys.executable, "-m", "digitreader.cli", "watch", "--video", str(path), "--json", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    return rows, out, proc.stderr


def test_reads_the_number_once_still_for_five_frames(watched, test_video) -> None:
    rows, _, _ = watched
    _, truth = test_video
    result = score(truth, [r["text"] for r in rows], after=5)
    wrong = [
        (t.frame, t.text, r["text"]) for t, r in zip(truth, rows, strict=True) if t.still >= 5 and t.text != r["text"]
    ]
    assert result.frames > 150
    assert result.accuracy >= 0.95, f"{result.correct}/{result.frames} correct; wrong: {wrong[:10]}"


def test_no_flicker_where_the_number_is_still(watched, test_video) -> None:
    rows, _, _ = watched
    _, truth = test_video
    assert score(truth, [r["text"] for r in rows], after=5).changes == 0


def test_every_digit_is_boxed_where_it_is(watched, test_video) -> None:
    """On still frames each true digit has a reported box around it with the right digit."""
    rows, _, _ = watched
    _, truth = test_video
    hits = total = 0
    for t, r in zip(truth, rows, strict=True):
        if t.still < 5:
            continue
        for digit, (x, y, w, h) in zip(t.digits, t.boxes, strict=True):
            total += 1
            cx, cy = x + w / 2, y + h / 2
            hits += any(
                d["digit"] == digit
                and d["box"][0] <= cx <= d["box"][0] + d["box"][2]
                and d["box"][1] <= cy <= d["box"][1] + d["box"][3]
                for d in r["digits"]
            )
    assert hits / total >= 0.95


def test_json_lines_follow_the_contract(watched, test_video) -> None:
    rows, _, _ = watched
    _, truth = test_video
    assert [r["frame"] for r in rows] == list(range(len(truth)))
    assert rows[30]["time"] == pytest.approx(1.0)
    for r in rows:
        assert set(r) == {"frame", "time", "text", "digits"}
        for d in r["digits"]:
            assert set(d) == {"digit", "confidence", "box", "track"}
            assert 0 <= d["digit"] <= 9 and 0 <= d["confidence"] <= 1 and len(d["box"]) == 4
    # The same digit keeps its track id while the paper pans and shakes.
    still = [r for r, t in zip(rows, truth, strict=True) if t.still >= 5 and t.text == truth[20].text]
    assert len({tuple(sorted(d["track"] for d in r["digits"])) for r in still}) == 1


def test_annotated_video_is_written(watched, test_video) -> None:
    _, out, stderr = watched
    _, truth = test_video
    cap = cv2.VideoCapture(str(out))
    count = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert frame.shape == (480, 640, 3)
        count += 1
    cap.release()
    assert count == len(truth)
    assert f"wrote {out}" in " ".join(stderr.split())


def test_plain_output_lists_the_numbers_as_they_change(test_video, capsys: pytest.CaptureFixture[str]) -> None:
    path, truth = test_video
    assert main(["watch", "--video", str(path), "--no-show", "--max-frames", "30"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-1] == "number)"  # "(no number)" before the first digits are confirmed
    assert lines[-1].split()[-1] == truth[29].text


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digitreader.cli", "watch", *args], capture_output=True, text=True, timeout=60
    )


def _zz_avi(folder: Path) -> Path:
    """An AVI whose codec no decoder knows (MJPG relabelled ZZZZ)."""
    ok = folder / "ok.avi"
    writer = cv2.VideoWriter(str(ok), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48))
    for _ in range(3):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    bad = folder / "zz.avi"
    bad.write_bytes(ok.read_bytes().replace(b"MJPG", b"ZZZZ"))
    return bad


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda d: ["--video", str(d / "missing.mp4")], "does not exist"),
        (lambda d: ["--video", str(d)], "is not a file"),
        (lambda d: ["--video", str(_write(d / "notes.mp4", b"hello"))], "cannot open"),
        (lambda d: ["--video", str(_zz_avi(d))], "unsupported codec"),
        (lambda d: ["--video", str(_zz_avi(d)), "--out", str(d / "x.mp4")], "unsupported codec"),
        (lambda d: ["--video", str(_zz_avi(d)), "--max-frames", "0"], "--max-frames"),
    ],
    ids=["missing", "folder", "not-a-video", "unsupported-codec", "codec-with-out", "bad-option"],
)
def test_bad_input_gives_a_clear_error(tmp_path: Path, make_args, message: str) -> None:
    proc = _cli(*make_args(tmp_path))
    stderr = " ".join(proc.stderr.split())
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "error: " in stderr and message in stderr


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_missing_camera_is_a_clear_error() -> None:
    if list(Path("/dev").glob("video*")):
        pytest.skip("this machine has a camera device")
    proc = _cli("--camera", "0", "--json", "--max-frames", "1")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no camera could be opened at index 0" in " ".join(proc.stderr.split())


def test_no_gui_is_explained(test_video) -> None:
    from digitreader.video.window import gui_problem

    if gui_problem() is None:
        pytest.skip("this machine can open windows")
    path, _ = test_video
    for args in (["--camera", "0"], ["--video", str(path), "--show"]):
        proc = _cli(*args)
        stderr = " ".join(proc.stderr.split())
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert "cannot open a window" in stderr
