"""The per-frame pipeline: find and read the digits (one inference call), track them, vote.

Finding and reading is ``vision.segment.read_number`` on the grey frame, reduced to
``detect_width`` pixels wide (a quarter of the pixels of 640x480) as long as the digits stay at
least ``min_digit_px`` tall there; smaller digits are read at full resolution, and with no digit
in view every ``probe_every``-th frame is read at full resolution to look for small ones.
Work is skipped where nothing changed:

- a frame that differs from the last analysed one by at most ``still_threshold`` grey levels
  on a 1/8-size thumbnail reuses that frame's digits (no segmentation, no inference);
- an input (28x28) within ``reuse_threshold`` (mean absolute difference) of one the model read
  in the previous analysed frame keeps its probabilities; only the others go to the model, all
  in ONE ``classify`` call per frame.

The sheet of paper (``vision.page``) is looked for on every analysed frame; where the page finder
misses it on a frame of the same scene as the last frame it was found on (``video.scene``: the
camera moved or the light changed a little, no other sheet came), it is taken to be where it was,
so one missed frame does not read the desk around the sheet as ink.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from digitreader.results import Reading
from digitreader.video.capture import Frame, VideoSource
from digitreader.video.scene import same_scene, signature
from digitreader.video.tracker import Box, Detection, SettledText, Tracker, TrackerConfig, number_text
from digitreader.vision.io import Scaled

Classifier = Callable[[np.ndarray], np.ndarray]  # [N,28,28] in [0,1] -> probabilities [N,10]
NumberReader = Callable[[Scaled, Classifier], Reading]  # (frame and its sheet, classify) -> Reading, like read_number
LineScorer = Callable[[list[np.ndarray]], list[np.ndarray]]  # strips -> log-probabilities (LineReader.log_probs)
STAGES = ("decode", "prepare", "detect", "classify", "track")


@dataclass(frozen=True)
class Settings:
    """The knobs of the video pipeline, in one place."""

    detect_width: int = 320  # find digits on the frame reduced to this width (0: full resolution) ...
    min_digit_px: int = 12  # ... unless the digits are shorter than this there: then at full resolution
    probe_every: int = 8  # with no digit in view, every 8th frame is read at full resolution
    still_threshold: float = 6.0  # grey levels on the thumbnail: at most this much change = nothing moved
    reuse_threshold: float = 0.03  # mean |difference| of two 28x28 inputs in [0,1] that counts as the same
    cuts: int = 5  # candidate cuts per group of touching digits (still images try 10; frames keep to the rate)
    line_reader: bool = True  # touching digits also judged by the CTC line reader, as ``read`` does (when given one)
    follow_sheet: bool = True  # a sheet the page finder misses on a frame of the same scene is where it was
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


class ReuseCache:
    """A ``classify`` that sends the model only inputs unlike those it read on the previous call.

    An input within ``threshold`` (mean absolute difference) of an input the model saw last time
    takes that input's probabilities. Comparing with the input the model *saw* (not with the latest
    look-alike) means slow drift is re-read once it adds up.
    """

    def __init__(self, classify: Classifier, threshold: float) -> None:
        self.model = classify
        self.threshold = threshold
        self._seen = np.zeros((0, 784), np.float32)  # inputs the current probabilities came from
        self._probs = np.zeros((0, 10), np.float64)
        self.count = 0  # inputs sent to the model on the last call
        self.seconds = 0.0  # time spent on the last call

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        t0 = time.perf_counter()
        flat = np.asarray(batch, np.float32).reshape(len(batch), -1)
        nearest = np.full(len(flat), -1)
        if len(self._seen) and len(flat):
            diff = np.abs(flat[:, None, :] - self._seen[None, :, :]).mean(axis=2)
            best = diff.argmin(axis=1)
            nearest = np.where(diff[np.arange(len(flat)), best] <= self.threshold, best, -1)
        fresh = np.flatnonzero(nearest < 0)
        probs = np.empty((len(flat), 10), np.float64)
        seen = flat.copy()
        if len(fresh):
            probs[fresh] = self.model(np.asarray(batch, np.float32)[fresh])  # the one model call
        reused = np.flatnonzero(nearest >= 0)
        probs[reused] = self._probs[nearest[reused]]
        seen[reused] = self._seen[nearest[reused]]
        self._seen, self._probs = seen, probs
        self.count, self.seconds = len(fresh), time.perf_counter() - t0
        return probs

    def reset(self) -> None:
        self._seen, self._probs = self._seen[:0], self._probs[:0]


def default_number_reader(cuts: int = Settings.cuts, line: LineScorer | None = None) -> NumberReader:
    from digitreader.vision.segment import read_number

    return functools.partial(read_number, cuts=cuts, line=line)


class LiveReader:
    """Reads the digits in a stream of frames; keep one per stream (it holds the tracks)."""

    def __init__(
        self,
        classify: Classifier,
        settings: Settings | None = None,
        read_number: NumberReader | None = None,
        line: LineScorer | None = None,
    ) -> None:
        """``line``: the line reader's ``log_probs`` (``Recognizer.line_reader``), used unless settings say not."""
        self.settings = settings or Settings()
        self.classify = ReuseCache(classify, self.settings.reuse_threshold)
        line = line if self.settings.line_reader else None
        self.read_number = read_number or default_number_reader(self.settings.cuts, line)
        self.tracker = Tracker(self.settings.tracker)
        self.number = SettledText(self.settings.tracker.settle)
        self._thumb: np.ndarray | None = None  # thumbnail of the last analysed frame
        self._found: list[Detection] = []  # its digits
        self._sheet: tuple[np.ndarray, np.ndarray] | None = None  # the last sheet found: corners (frame px), scene
        self._fine = False  # reading at full resolution (small digits)
        self._relevel = False  # the level just changed: analyse the next frame whatever it shows
        self._since_fine = 0  # frames since the last look at full resolution

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
        probe = not self._found and self._since_fine >= self.settings.probe_every  # nothing in view: look closer
        analyse = not unchanged or probe or self._relevel
        clock.lap("prepare")
        classified = 0
        if analyse:
            self.classify.count = self.classify.seconds = 0
            fine = self._fine or probe
            self._thumb, self._found = thumb, self._detect(gray, fine)
            self._since_fine = 0 if fine else self._since_fine
            classified = self.classify.count
        self._since_fine += 1
        clock.lap("detect")
        clock.move("detect", "classify", self.classify.seconds if analyse else 0.0)
        tracks = self.tracker.update(self._found)
        digits = [TrackedDigit(t.shown, t.confidence, t.box, t.id, t.seen) for t in tracks if t.shown is not None]
        text = self.number.update(number_text(tracks))
        pending = [t.box for t in tracks if not t.confirmed]
        clock.lap("track")
        return FrameResult(frame.index, frame.time, text, digits, pending, clock.seconds, analyse, classified)

    @property
    def detections(self) -> list[Detection]:
        """The digits found on the last analysed frame (what the tracker was given), in frame pixels."""
        return list(self._found)

    def _detect(self, gray: np.ndarray, fine: bool) -> list[Detection]:
        """The frame's digits (box in frame pixels, probabilities), read in one batch."""
        coarse = self._coarse(gray.shape[1])
        scale = 1.0 if fine else coarse
        small = gray if scale == 1 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        reading = self.read_number(Scaled(small, 1, small.shape[:2], self._find_sheet(small, scale)), self.classify)
        found = []
        for d in reading.digits:
            x, y, w, h = d.box
            box = (x, y, w, h) if scale == 1 else tuple(round(v / scale) for v in (x, y, w, h))
            found.append(Detection(box, _votes(d.digit, d.probabilities)))  # type: ignore[arg-type]
        self._choose_level(found, coarse)
        return found

    def _find_sheet(self, image: np.ndarray, scale: float) -> np.ndarray:
        """The sheet's corners in ``image`` (the frame at ``scale``); where the finder misses it, the last
        sheet found, while the scene is the same as then; an empty array for none."""
        from digitreader.vision.page import find_sheet

        corners = find_sheet(image)
        if not self.settings.follow_sheet:
            return np.empty((0, 2), np.float32) if corners is None else corners
        scene = signature(image)
        if corners is not None:
            self._sheet = (corners / scale, scene)
            return corners
        if self._sheet is not None and same_scene(self._sheet[1], scene):
            return (self._sheet[0] * scale).astype(np.float32)
        self._sheet = None
        return np.empty((0, 2), np.float32)

    def _coarse(self, width: int) -> float:
        target = self.settings.detect_width
        return target / width if 0 < target < width else 1.0

    def _choose_level(self, found: list[Detection], coarse: float) -> None:
        """Full resolution while the digits would be under ``min_digit_px`` at the coarse level (with hysteresis).

        A change of level has the next frame analysed even if nothing moved.
        """
        fine = self._fine
        if found and coarse < 1:
            height = float(np.median([d.box[3] for d in found])) * coarse
            fine = height < self.settings.min_digit_px * (1.33 if self._fine else 1.0)
        self._relevel, self._fine = fine != self._fine, fine

    def reset(self) -> None:
        self.tracker.reset()
        self.classify.reset()
        self.number = SettledText(self.settings.tracker.settle)
        self._thumb, self._found, self._sheet = None, [], None
        self._fine, self._relevel, self._since_fine = False, False, 0


def _votes(digit: int, probabilities: list[float]) -> np.ndarray:
    """A detection's vote: the digit model's probabilities, with the digit the reading chose on top.

    Where the line reader overruled the digit model (touching "09" whose cut-off 9 the model
    took for a 7), the tracker must vote for what was read, not for the model's first choice:
    the two probabilities swap places, so the vote keeps the model's confidence.
    """
    p = np.asarray(probabilities, np.float64).copy()
    top = int(p.argmax())
    p[digit], p[top] = p[top], p[digit]
    return p


class _Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._t
        self._t = now

    def move(self, source: str, target: str, seconds: float) -> None:
        """Book ``seconds`` of ``source`` under ``target`` (inference happens inside read_number)."""
        self.seconds[source] -= seconds
        self.seconds[target] = self.seconds.get(target, 0.0) + seconds


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
