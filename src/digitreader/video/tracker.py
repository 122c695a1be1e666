"""Follow digits from frame to frame and smooth their readings, so a still digit never flickers.

Each detection (a box and the model's ten probabilities) is matched to a track by box overlap
(IoU, after moving the track by its recent velocity, weighed by how far the detection reads the
track's digit), or failing that by centre distance between boxes of about the same size, so
pans and shakes keep the same track. A track is *confirmed* after ``confirm_after`` hits (``window``
hits if it was born inside where a confirmed track's ink has been of late: a piece of that digit,
cut off on some frames, must be found on many frames running before it counts as a digit); its
shown digit is the vote (mean probabilities) over its last ``window`` readings and changes
only when another digit beats it by ``switch_margin``: one odd frame cannot flip it. A
confirmed track outlives up to ``max_missed`` frames without a detection (a dropped frame
or a hand passing over), a tentative one none, and none at all once a detection matched to another
track covers its box: it has merged back into that digit (a wide 6 cut into "6" and "1" on some
frames, whole on others), so the piece is gone, not missed. The whole number is reported once it
has stayed the same for ``settle`` frames, so a sheet swapped for another never shows a mix of the two.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

import numpy as np

Box = tuple[int, int, int, int]  # x, y, w, h
USUAL = 1.5  # a box up to this many times a track's median width and height is of its usual size
COVERED = 0.6  # share of a box inside another track's: a piece of that digit (or merged back into it)
LEVEL, SLOPE = 0.6, 0.47  # neighbours on one line: centres this share of a digit's height apart, up or down, plus
# this share of their distance across (a line sloping up to 25 degrees)


@dataclass(frozen=True)
class TrackerConfig:
    """The knobs of tracking and voting, in one place."""

    window: int = 8  # readings voted over
    confirm_after: int = 3  # hits before a track's digit is shown (0.1 s at 30 fps)
    max_missed: int = 3  # frames a confirmed track survives without a detection
    min_iou: float = 0.2  # overlap that counts as the same digit
    max_shift: float = 0.75  # or: centres this close, as a fraction of the larger side
    switch_margin: float = 0.2  # mean probability by which a new digit must beat the shown one
    velocity_smoothing: float = 0.5  # weight of the newest motion in the velocity estimate
    settle: int = 2  # frames the whole number must stay the same before it is reported


@dataclass(frozen=True)
class Detection:
    """One digit found in one frame: its box and the model's probabilities for 0..9."""

    box: Box
    probabilities: np.ndarray


@dataclass
class Track:
    """One digit followed over time."""

    id: int
    box: Box
    votes: deque[np.ndarray]
    needs: int  # hits before its digit is shown
    hits: int = 1
    missed: int = 0
    shown: int | None = None  # the digit reported, once confirmed
    velocity: tuple[float, float] = (0.0, 0.0)
    seen: bool = field(default=True)  # detected in the latest frame
    boxes: deque[Box] = field(default_factory=deque)  # its latest boxes (as many as its votes)

    @property
    def confirmed(self) -> bool:
        return self.shown is not None

    def mean(self) -> np.ndarray:
        return np.mean(self.votes, axis=0)

    @property
    def confidence(self) -> float:
        """Mean probability of the shown digit over the vote window."""
        return float(self.mean()[self.shown]) if self.shown is not None else 0.0

    def usual_box(self) -> Box:
        """Its box with the median width and height of its latest boxes."""
        boxes = self.boxes or [self.box]
        return *self.box[:2], round(np.median([b[2] for b in boxes])), round(np.median([b[3] for b in boxes]))

    def usual(self, box: Box) -> bool:
        """Whether ``box`` has about the size of its latest boxes (not a frame's misreading across the number)."""
        return fits(box, self.usual_box())

    def piece(self, box: Box) -> bool:
        """Whether ``box`` is a piece cut off this digit: where its ink has been of late, and with its
        box now no bigger than it usually is."""
        return covered(box, self.extent()) >= COVERED and self.usual(union(self.box, box))

    def extent(self) -> Box:
        """The box around its latest boxes of the usual size: where its ink has been of late."""
        size = self.usual_box()
        return union(*([b for b in self.boxes if fits(b, size)] or [self.box]))

    def predicted(self) -> Box:
        x, y, w, h = self.box
        return round(x + self.velocity[0]), round(y + self.velocity[1]), w, h


def intersection(a: Box, b: Box) -> int:
    """The area two boxes share."""
    w = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    h = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return w * h


def iou(a: Box, b: Box) -> float:
    inter = intersection(a, b)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def fits(box: Box, size: Box) -> bool:
    """Whether ``box`` is at most ``USUAL`` times as wide and as tall as ``size``."""
    return box[2] <= USUAL * size[2] and box[3] <= USUAL * size[3]


def union(*boxes: Box) -> Box:
    """The box around ``boxes``."""
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def covered(inner: Box, outer: Box) -> float:
    """The share of ``inner``'s area that lies inside ``outer``."""
    area = inner[2] * inner[3]
    return intersection(inner, outer) / area if area > 0 else 0.0


def alike(a: Box, b: Box) -> bool:
    """Boxes whose widths and heights are within a factor of ``USUAL`` squared of each other."""
    limit = USUAL * USUAL
    return all(max(p, q) <= limit * max(min(p, q), 1) for p, q in ((a[2], b[2]), (a[3], b[3])))


def centre(box: Box) -> tuple[float, float]:
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def match(
    tracks: list[Box],
    detections: list[Box],
    min_iou: float,
    max_shift: float,
    sizes: list[Box] | None = None,
    agree: np.ndarray | None = None,
) -> list[tuple[int, int]]:
    """Greedy one-to-one pairs (track index, detection index): best overlap first, then nearest centre.

    ``agree[i, j]`` (0..1): how far detection j reads the digit track i shows. It weighs the overlap
    (by up to twice), so where a badly cut frame leaves a box across two digits, the digit read there
    keeps its own track and the neighbour's is not taken over.
    A pair by distance needs boxes of about the same size: a box across the whole number (a frame
    misread) does not take over the track of a digit near its centre, nor the other way round.
    ``sizes``: each track's usual box (``Track.usual_box``), else its box.
    """
    sizes = sizes or tracks
    pairs: list[tuple[int, int]] = []
    used_t: set[int] = set()
    used_d: set[int] = set()
    overlaps = [(iou(t, d), i, j) for (i, t), (j, d) in itertools.product(enumerate(tracks), enumerate(detections))]
    by_iou = sorted(
        ((o * (1 + (agree[i, j] if agree is not None else 0.0)), i, j) for o, i, j in overlaps if o >= min_iou),
        reverse=True,
    )
    for _, i, j in by_iou:
        if i not in used_t and j not in used_d:
            pairs.append((i, j))
            used_t.add(i)
            used_d.add(j)
    by_distance = []
    for i, t in enumerate(tracks):
        if i in used_t:
            continue
        (tx, ty), reach = centre(t), max_shift * max(t[2], t[3])
        for j, d in enumerate(detections):
            if j not in used_d and alike(sizes[i], d):
                dx, dy = centre(d)
                dist = float(np.hypot(dx - tx, dy - ty))
                if dist <= reach:
                    by_distance.append((dist, i, j))
    for _, i, j in sorted(by_distance):
        if i not in used_t and j not in used_d:
            pairs.append((i, j))
            used_t.add(i)
            used_d.add(j)
    return pairs


class Tracker:
    """Keeps the tracks; call ``update`` once per frame with that frame's detections."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.tracks: list[Track] = []
        self._ids = itertools.count(1)

    def update(self, detections: list[Detection]) -> list[Track]:
        """Match, vote, confirm and retire; returns the live tracks (confirmed or not)."""
        cfg = self.config
        boxes, sizes = [t.predicted() for t in self.tracks], [t.usual_box() for t in self.tracks]
        agree = np.array([[float(t.mean() @ d.probabilities) for d in detections] for t in self.tracks])
        detected = [d.box for d in detections]
        pairs = match(boxes, detected, cfg.min_iou, cfg.max_shift, sizes, agree.reshape(len(boxes), len(detected)))
        matched = {i: j for i, j in pairs}
        seen = [  # boxes a missed track may have merged into: those of confirmed tracks, of their usual size
            detections[j].box
            for i, j in matched.items()
            if self.tracks[i].confirmed and self.tracks[i].usual(detections[j].box)
        ]
        survivors = []
        for i, track in enumerate(self.tracks):
            if i in matched:
                self._observe(track, detections[matched[i]])
                survivors.append(track)
            else:
                track.missed += 1
                track.seen = False
                merged = any(covered(track.predicted(), box) >= COVERED for box in seen)
                if track.confirmed and track.missed <= cfg.max_missed and not merged:
                    survivors.append(track)
        taken = set(matched.values())
        found = [t for t in survivors if t.confirmed and t.seen]
        for j, det in enumerate(detections):
            if j not in taken:
                piece = any(t.piece(det.box) for t in found)
                needs = cfg.window if piece else cfg.confirm_after
                votes, boxes = deque([det.probabilities], maxlen=cfg.window), deque([det.box], maxlen=cfg.window)
                track = Track(next(self._ids), det.box, votes, needs, boxes=boxes)
                self._settle(track)
                survivors.append(track)
        self.tracks = survivors
        return survivors

    def _observe(self, track: Track, det: Detection) -> None:
        a = self.config.velocity_smoothing
        (ox, oy), (nx, ny) = centre(track.box), centre(det.box)
        track.velocity = (a * (nx - ox) + (1 - a) * track.velocity[0], a * (ny - oy) + (1 - a) * track.velocity[1])
        track.box = det.box
        track.boxes.append(det.box)
        track.votes.append(det.probabilities)
        track.hits += 1
        track.missed = 0
        track.seen = True
        self._settle(track)

    def _settle(self, track: Track) -> None:
        """Confirm a track once it has enough hits; switch its digit only on a clear majority."""
        mean = track.mean()
        best = int(mean.argmax())
        if track.shown is None:
            if track.hits >= track.needs:
                track.shown = best
        elif best != track.shown and mean[best] >= mean[track.shown] + self.config.switch_margin:
            track.shown = best

    def confirmed(self) -> list[Track]:
        return [t for t in self.tracks if t.confirmed]

    def reset(self) -> None:
        self.tracks = []


def reading_order(tracks: list[Track]) -> list[list[Track]]:
    """Tracks grouped into lines (top to bottom), each line left to right.

    Left to right, a box joins the line whose last box is nearest in height and level with it:
    centres at most ``LEVEL`` of the taller one's height apart, plus ``SLOPE`` of their distance
    across. So a line may slope: the digits of a sheet held at a slant, read on the flattened
    sheet (``vision.page``) and boxed in the frame, stay one line.
    """
    lines: list[list[Track]] = []
    for t in sorted(tracks, key=lambda t: t.box[0]):
        (cx, cy), near = centre(t.box), []
        for k, line in enumerate(lines):
            (lx, ly), last = centre(line[-1].box), line[-1].box
            if abs(cy - ly) <= LEVEL * max(t.box[3], last[3]) + SLOPE * abs(cx - lx):
                near.append((abs(cy - ly), k))
        if near:
            lines[min(near)[1]].append(t)
        else:
            lines.append([t])
    return sorted(lines, key=lambda line: float(np.mean([centre(t.box)[1] for t in line])))


def number_text(tracks: list[Track]) -> str:
    """The number the confirmed tracks show: digits in reading order, lines joined by newlines."""
    shown = [t for t in tracks if t.confirmed]
    return "\n".join("".join(str(t.shown) for t in line) for line in reading_order(shown))


class SettledText:
    """Reports a text only after it has stayed the same for ``settle`` consecutive frames."""

    def __init__(self, settle: int) -> None:
        self.settle = settle
        self.shown = ""
        self._candidate = ""
        self._count = 0

    def update(self, text: str) -> str:
        if text == self._candidate:
            self._count += 1
        else:
            self._candidate, self._count = text, 1
        if self._count >= self.settle:
            self.shown = text
        return self.shown
