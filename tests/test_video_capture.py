"""Video in and out with OpenCV: round trips, and a clear VideoError for every way a source can fail."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from digitreader.video.capture import VideoError, VideoSource, VideoWriter
from digitreader.video.window import gui_problem


def write_mjpg(path: Path, frames: int = 6, size: tuple[int, int] = (64, 48)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, size)
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), 30 * i, np.uint8))
    writer.release()
    return path


def test_round_trip_through_writer_and_source(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    with VideoWriter(path, fps=20.0, size=(80, 60)) as writer:
        for i in range(7):
            writer.write(np.full((60, 80, 3), 20 * i, np.uint8))
    with VideoSource(path=path) as source:
        frames = list(source)
        assert (source.width, source.height, source.fps, source.frame_count) == (80, 60, 20.0, 7)
    assert [f.index for f in frames] == list(range(7))
    assert [f.time for f in frames] == pytest.approx([i / 20 for i in range(7)])
    assert [int(f.image.mean()) for f in frames] == pytest.approx([20 * i for i in range(7)], abs=8)  # lossy codec


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="does not exist"):
        VideoSource(path=tmp_path / "nope.mp4")


def test_folder_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="is not a file"):
        VideoSource(path=tmp_path)


def test_text_file_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("not a video at all\n" * 20)
    with pytest.raises(VideoError, match=r"cannot open .*notes\.mp4"):
        VideoSource(path=path)


def test_unsupported_codec(tmp_path: Path) -> None:
    """A valid AVI whose codec tag no decoder knows (MJPG relabelled ZZZZ)."""
    data = write_mjpg(tmp_path / "ok.avi").read_bytes()
    assert b"MJPG" in data
    path = tmp_path / "zz.avi"
    path.write_bytes(data.replace(b"MJPG", b"ZZZZ"))
    with pytest.raises(VideoError, match="unsupported codec"):
        VideoSource(path=path)


def test_video_without_frames(tmp_path: Path) -> None:
    path = write_mjpg(tmp_path / "empty.avi", frames=0)
    with pytest.raises(VideoError, match=r"no frame|cannot open"):
        VideoSource(path=path)


def test_truncated_file(tmp_path: Path) -> None:
    good = tmp_path / "good.mp4"
    with VideoWriter(good, fps=25.0, size=(64, 48)) as writer:
        for _ in range(5):
            writer.write(np.zeros((48, 64, 3), np.uint8))
    bad = tmp_path / "cut.mp4"
    bad.write_bytes(good.read_bytes()[:400])
    with pytest.raises(VideoError, match=r"cut\.mp4"):
        VideoSource(path=bad)


def test_missing_camera() -> None:
    if list(Path("/dev").glob("video*")):
        pytest.skip("this machine has a camera device")
    with pytest.raises(VideoError, match="no camera could be opened at index 7"):
        VideoSource(camera=7)


@pytest.mark.parametrize(("name", "message"), [("out.xyz", "extensions"), ("missing/out.mp4", "does not exist")])
def test_writer_errors(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(VideoError, match=message):
        VideoWriter(tmp_path / name, fps=25.0, size=(64, 48))


def test_gui_problem_is_explained_not_raised() -> None:
    problem = gui_problem()
    assert problem is None or "display" in problem or "GUI" in problem
