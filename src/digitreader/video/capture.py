"""Frames in and out: open a camera or a video file, write an annotated video, with clear errors.

OpenCV reports failures by returning False (and logging warnings to stderr); here every
failure becomes a ``VideoError`` whose message says what went wrong and what to try.
Decoding a file and encoding the output run on their own threads (OpenCV releases the GIL),
so on two cores they overlap with the reading of the frames instead of adding to it.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from digitreader.errors import DigitReaderError


class VideoError(DigitReaderError):
    """A camera or video file could not be opened, decoded or written."""


CONVERT_HINT = "converting it to MP4 (H.264) or AVI (MJPG) helps, e.g. ffmpeg -i IN -c:v libx264 OUT.mp4"


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own log while opening: the VideoError raised instead says it plainly."""
    logging = cv2.utils.logging
    before = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(before)


PREFETCH = 4  # frames decoded ahead of the reader
WRITE_QUEUE = 8  # frames waiting to be encoded


def _put(q: queue.Queue, item: object, stop: threading.Event) -> None:
    """Put, giving up once ``stop`` is set (the consumer has gone)."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


@dataclass(frozen=True)
class Frame:
    """One frame: its index from 0, its time in seconds, and the BGR pixels."""

    index: int
    time: float
    image: np.ndarray


class VideoSource:
    """Frames from a camera (``camera=0``) or a video file (``path=...``), as an iterator of ``Frame``."""

    def __init__(self, *, camera: int | None = None, path: str | os.PathLike[str] | None = None) -> None:
        if (camera is None) == (path is None):
            raise ValueError("give exactly one of camera= or path=")
        self.name = f"camera {camera}" if camera is not None else str(path)
        self.live = camera is not None
        self._cap = _open_camera(camera) if camera is not None else _open_file(Path(path))  # type: ignore[arg-type]
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise VideoError(_no_frame_message(self.name, self.live))
        self._first: np.ndarray | None = first
        self._closed = False
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.height, self.width = first.shape[:2]
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 1 <= fps <= 1000 else 30.0
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)) if not self.live else 0
        self.frame_count: int | None = count if count > 0 else None

    def __iter__(self) -> Iterator[Frame]:
        images = self._camera_images() if self.live else self._prefetched_images()
        start = time.perf_counter()
        for index, image in enumerate(images):
            if image.ndim == 2:
                image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
            t = time.perf_counter() - start if self.live else index / self.fps
            yield Frame(index, t, image)

    def _camera_images(self) -> Iterator[np.ndarray]:
        """Read in step with the caller: a live camera drops what is not read, so the latest frame is shown."""
        while self._first is not None or not self._closed:
            if self._first is not None:
                image, self._first = self._first, None
            else:
                ok, image = self._cap.read()
                if not ok or image is None:
                    return
            yield image

    def _prefetched_images(self) -> Iterator[np.ndarray]:
        """Frames decoded ahead on a thread (a few at most), in order."""
        frames: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=PREFETCH)
        stop = threading.Event()

        def decode() -> None:
            image = self._first
            self._first = None
            while image is not None and not stop.is_set():
                _put(frames, image, stop)
                ok, image = self._cap.read()
                image = image if ok else None
            _put(frames, None, stop)

        worker = threading.Thread(target=decode, name="digitreader-decode", daemon=True)
        self._stop, self._worker = stop, worker
        worker.start()
        try:
            while (image := frames.get()) is not None:
                yield image
        finally:
            stop.set()
            while not frames.empty():  # let a blocked put finish
                frames.get_nowait()
            worker.join()

    def close(self) -> None:
        self._closed = True
        if self._worker is not None:
            self._stop.set()
            self._worker.join(timeout=5)
        self._cap.release()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open_camera(index: int) -> cv2.VideoCapture:
    with _quiet_opencv():
        cap = cv2.VideoCapture(index)
    if not cap.isOpened():
        cap.release()
        hint = " (no /dev/video* device exists)" if sys.platform.startswith("linux") and not _linux_cameras() else ""
        raise VideoError(
            f"no camera could be opened at index {index}{hint}: check that a camera is connected "
            "and not in use by another program, or read a file with --video"
        )
    return cap


def _linux_cameras() -> list[str]:
    return sorted(str(p) for p in Path("/dev").glob("video*"))


def _open_file(path: Path) -> cv2.VideoCapture:
    if not path.exists():
        raise VideoError(f"video file {path} does not exist")
    if not path.is_file():
        raise VideoError(f"{path} is not a file")
    if not os.access(path, os.R_OK):
        raise VideoError(f"video file {path} is not readable (permission denied)")
    with _quiet_opencv():
        cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise VideoError(
            f"cannot open {path}: not a video OpenCV can decode (unknown container, unsupported codec, "
            f"or a corrupt file); {CONVERT_HINT}"
        )
    return cap


def _no_frame_message(name: str, live: bool) -> str:
    if live:
        return f"{name} opened but gave no frame: it may be in use by another program or need a different index"
    return f"{name}: no frame could be decoded (unsupported codec, or a corrupt or empty file); {CONVERT_HINT}"


FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "mp4v"}


class VideoWriter:
    """Writes BGR frames to a video file on a background thread; the codec follows the extension."""

    def __init__(self, path: str | os.PathLike[str], fps: float, size: tuple[int, int]) -> None:
        self.path = Path(path)
        fourcc = FOURCC.get(self.path.suffix.lower())
        if fourcc is None:
            raise VideoError(f"cannot write {self.path}: use one of the extensions {sorted(FOURCC)}")
        if not self.path.parent.is_dir():
            raise VideoError(f"cannot write {self.path}: folder {self.path.parent} does not exist")
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
        if not self._writer.isOpened():
            raise VideoError(f"cannot write {self.path} with codec {fourcc} (is the folder writable?)")
        self.size = size
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=WRITE_QUEUE)
        self._worker = threading.Thread(target=self._encode, name="digitreader-encode", daemon=True)
        self._worker.start()

    def _encode(self) -> None:
        while (image := self._queue.get()) is not None:
            self._writer.write(image)

    def write(self, image: np.ndarray) -> None:
        """Queue one frame (BGR, the writer's size); the caller must not change it afterwards."""
        h, w = image.shape[:2]
        if (w, h) != self.size:
            raise VideoError(f"frame of {w}x{h} does not fit a video of {self.size[0]}x{self.size[1]}")
        self._queue.put(image)

    def close(self) -> None:
        if self._worker.is_alive():
            self._queue.put(None)
            self._worker.join()
        self._writer.release()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
