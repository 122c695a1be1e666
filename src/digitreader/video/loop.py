"""The per-frame pipeline: find the digits, classify them in one batch, track and vote.

Work is skipped where nothing changed:

- a frame that differs from the last analysed one by at most ``still_threshold`` grey levels
  on a 1/8-size thumbnail reuses that frame's digits (no segmentation, no inference);
- a digit whose 28x28 input matches the one at the same place in the previous frame (mean
  difference <= ``reuse_threshold``) keeps its probabilities; only the others go to the model,
  all in ONE ``classify`` call per frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from digitreader.errors import NoDigitError
from digitreader.video.capture import Frame, VideoSource
from digitreader.video.tracker import Box, Detection, SettledText, Tracker, TrackerConfig, iou, number_text

Segmenter = Callable[[np.ndarray], list[Any]]  # image -> segments with .box (x, y, w, h) and .input (28x28)
Classifier = Callable[[np.ndarray], np.ndarray]  # [N,28,28] in [0,1] -> probabilities [N,10]
STAGES = ("decode", "prepare", "detect", "classify", "track")


@dataclass(frozen=True)
class Settings:
    """The knobs of the video pipeline, in one place."""

    detect_scale: float = 1.0  # segment a frame resized by this factor (boxes are scaled back)
    still_threshold: float = 6.0  # grey levels on the thumbnail: at most this much change = nothing moved
    reuse_threshold: float = 0.03  # mean |difference| of two 28x28 inputs in [0,1] that counts as the same
    tracker: TrackerConfig = field(default_factory=TrackerConfig)


@dataclass(frozen=True)
class TrackedDigit:
    """A digit on screen: its voted digit and confidence, its box in this frame, its track id."""

    digit: int
    confidence: float
    box: Box
    track: int
    seen: bool  # detected in this very frame (False while a track coasts over a missed detection)

    def to_dict(self) -> dict[str, Any]:
        return {
            "digit": self.digit,
            "confidence": round(self.confidence, 4),
            "box": list(self.box),
            "track": self.track,
        }


@dataclass
class FrameResult:
    """What one frame reads: the stable number, its digits, digits not yet confirmed, and stage times."""

    frame: int
    time: float
    text: str
    digits: list[TrackedDigit]
    pending: list[Box]  # detected but not yet confirmed
    seconds: dict[str, float]  # stage -> seconds spent on this frame
    analysed: bool  # segmentation ran (False: the frame matched the last analysed one)
    classified: int  # inputs sent to the model

    def to_dict(self) -> dict[str, Any]:
        return {
            "frame": self.frame,
            "time": round(self.time, 4),
            "text": self.text,
            "digits": [d.to_dict() for d in self.digits],
        }


@dataclass
class _Found:
    box: Box
    input: np.ndarray
    probabilities: np.ndarray | None = None
    seen_by_model: np.ndarray | None = None  # the input those probabilities came from


def default_segmenter() -> Segmenter:
    from digitreader.vision.segment import segment

    def find(gray: np.ndarray) -> list[Any]:
        try:
            return segment(gray)
        except NoDigitError:
            return []

    return find


class LiveReader:
    """Reads the digits in a stream of frames; keep one per stream (it holds the tracks)."""

    def __init__(
        self, classify: Classifier, settings: Settings | None = None, segmenter: Segmenter | None = None
    ) -> None:
        self.classify = classify
        self.settings = settings or Settings()
        self.segment = segmenter or default_segmenter()
        self.tracker = Tracker(self.settings.tracker)
        self.number = SettledText(self.settings.tracker.settle)
        self._thumb: np.ndarray | None = None  # thumbnail of the last analysed frame
        self._found: list[_Found] = []  # its digits, with their probabilities

    def process(self, frame: Frame) -> FrameResult:
        clock = _Clock()
        gray = frame.image if frame.image.ndim == 2 else cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
        h, w = gray.shape
        thumb = cv2.resize(gray, (max(1, w // 8), max(1, h // 8)), interpolation=cv2.INTER_AREA)
        unchanged = (
            self._thumb is not None
            and self._thumb.shape == thumb.shape
            and int(cv2.absdiff(thumb, self._thumb).max()) <= self.settings.still_threshold
        )
        clock.lap("prepare")
        if unchanged:
            found, classified = self._found, 0
            clock.lap("detect")
        else:
            found = self._detect(gray)
            clock.lap("detect")
            classified = self._classify(found)
            self._thumb, self._found = thumb, found
        clock.lap("classify")
        tracks = self.tracker.update([Detection(f.box, f.probabilities) for f in found])  # type: ignore[arg-type]
        digits = [TrackedDigit(t.shown, t.confidence, t.box, t.id, t.seen) for t in tracks if t.shown is not None]
        text = self.number.update(number_text(tracks))
        pending = [t.box for t in tracks if not t.confirmed]
        clock.lap("track")
        return FrameResult(frame.index, frame.time, text, digits, pending, clock.seconds, not unchanged, classified)

    def _detect(self, gray: np.ndarray) -> list[_Found]:
        scale = self.settings.detect_scale
        small = gray if scale == 1 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        found = []
        for seg in self.segment(small):
            x, y, w, h = seg.box
            box = (
                (x, y, w, h) if scale == 1 else (round(x / scale), round(y / scale), round(w / scale), round(h / scale))
            )
            found.append(_Found(box, np.asarray(seg.input, np.float32)))
        return found

    def _classify(self, found: list[_Found]) -> int:
        """Fill in every digit's probabilities, reusing the previous frame's where the input is unchanged."""
        todo = []
        for f in found:
            prev = max(self._found, key=lambda p: iou(p.box, f.box), default=None)
            # Compared with the input the model saw, not the last one, so slow drift still gets re-read.
            if (
                prev is not None
                and iou(prev.box, f.box) >= 0.5
                and float(np.abs(prev.seen_by_model - f.input).mean()) <= self.settings.reuse_threshold
            ):
                f.probabilities, f.seen_by_model = prev.probabilities, prev.seen_by_model
            else:
                todo.append(f)
        if todo:
            probs = self.classify(np.stack([f.input for f in todo]))  # one inference call per frame
            for f, p in zip(todo, probs, strict=True):
                f.probabilities, f.seen_by_model = np.asarray(p, np.float64), f.input
        return len(todo)

    def reset(self) -> None:
        self.tracker.reset()
        self.number = SettledText(self.settings.tracker.settle)
        self._thumb, self._found = None, []


class _Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._t
        self._t = now


def frames(
    source: VideoSource, reader: LiveReader, max_frames: int | None = None
) -> Iterator[tuple[Frame, FrameResult]]:
    """Read, analyse and yield each frame with its result; the decode time is added to the result's stages."""
    it = iter(source)
    while max_frames is None or max_frames > 0:
        t0 = time.perf_counter()
        frame = next(it, None)
        if frame is None:
            return
        decode = time.perf_counter() - t0
        result = reader.process(frame)
        result.seconds = {"decode": decode, **result.seconds}
        yield frame, result
        if max_frames is not None:
            max_frames -= 1


class FpsMeter:
    """Frames per second over the last ``span`` frames of wall-clock time."""

    def __init__(self, span: int = 30) -> None:
        self._times: list[float] = []
        self.span = span

    def tick(self) -> float:
        self._times.append(time.perf_counter())
        self._times = self._times[-self.span - 1 :]
        if len(self._times) < 2:
            return 0.0
        return (len(self._times) - 1) / max(self._times[-1] - self._times[0], 1e-9)
