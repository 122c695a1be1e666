"""A test video made from MNIST **test** digits, with the truth for every frame.

Handwritten numbers inked on a sheet of paper, filmed by a camera that holds still, pans
and shakes, under light that dims, brightens and moves; digits are added, removed and
whole numbers replaced. Each frame's truth records the number in view, the digits' boxes
and how many frames the number has been unchanged (``still``), which is what the
video tests and benchmark score against.

    python -m digitreader.data.synthetic_video OUT.mp4 [--seconds 8] [--seed 0]

writes ``OUT.mp4`` and ``OUT.truth.jsonl`` (one JSON object per frame).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

SIZE = (640, 480)  # frame width, height
FPS = 30.0
PHASE_SECONDS = 1.5  # each phase holds one motion, one light and one number
MARGIN = (110, 70)  # paper beyond the view on each side: room to pan and shake
PAN = (70, 30)  # the farthest a pan takes the camera from home, x and y
MOTIONS = ("still", "pan", "shake", "light", "pan", "still", "shake", "light")
ACTIONS = ("new", "keep", "add", "keep", "remove", "new", "add", "keep")


@dataclass(frozen=True)
class FrameTruth:
    """What one frame shows: the number, its digits' boxes (x, y, w, h) and how long it has been unchanged."""

    frame: int
    time: float
    text: str
    digits: list[int]
    boxes: list[tuple[int, int, int, int]]
    still: int  # frames since the number last changed (0 on the frame it changes)
    motion: str

    def to_dict(self) -> dict:
        return {**asdict(self), "boxes": [list(b) for b in self.boxes]}


@dataclass
class _Ink:
    """One digit inked on the paper: its MNIST index and label, and where it sits on the paper."""

    index: int
    label: int
    x: int
    y: int
    size: int
    box: tuple[int, int, int, int] = field(default=(0, 0, 0, 0))  # tight box of the ink, paper coordinates


def paper_texture(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """Off-white paper (BGR float32 0..255): a warm tint, uneven tone, fibres and grain."""
    tone = cv2.resize(
        rng.normal(0, 1, (height // 150 + 2, width // 150 + 2)).astype(np.float32),
        (width, height),
        interpolation=cv2.INTER_CUBIC,
    )
    fibres = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 1.2)
    grey = 226 + 4 * tone + 4 * fibres + rng.normal(0, 1.5, (height, width)).astype(np.float32)
    tint = np.array([0.93, 0.98, 1.0], np.float32) * rng.uniform(0.97, 1.03, 3).astype(np.float32)
    return np.clip(grey[..., None] * tint, 0, 255).astype(np.float32)


def _safe_area(paper: tuple[int, int]) -> tuple[int, int, int, int]:
    """x0, y0, x1, y1 on the paper that stay in view however the camera pans or shakes."""
    pad = 10
    return (
        MARGIN[0] + PAN[0] + pad,
        MARGIN[1] + PAN[1] + pad,
        paper[0] - MARGIN[0] - PAN[0] - pad,
        paper[1] - MARGIN[1] - PAN[1] - pad,
    )


def _layout(count: int, paper: tuple[int, int], rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """x, y, size of ``count`` digits written side by side somewhere in the safe area."""
    x0, y0, x1, y1 = _safe_area(paper)
    size = int(rng.integers(64, 101))
    gaps = [int(size * rng.uniform(0.08, 0.3)) for _ in range(count)]
    width = count * (size + 6) + sum(gaps[1:])
    x = int(rng.integers(x0, max(x0, x1 - width) + 1))
    y = int(rng.integers(y0 + 6, max(y0 + 6, y1 - size - 12) + 1))
    spots = []
    for i in range(count):
        spots.append((x, y + int(rng.integers(-6, 7)), size + int(rng.integers(-6, 7))))
        x += spots[-1][2] + gaps[(i + 1) % count]
    return spots


def _ink_sheet(paper: np.ndarray, inks: list[_Ink], images: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """The paper with the digits written on it in ``colour`` (BGR); fills in each ink's tight box."""
    sheet = paper.copy()
    for ink in inks:
        alpha = cv2.resize(
            images[ink.index].astype(np.float32) / 255, (ink.size, ink.size), interpolation=cv2.INTER_CUBIC
        )
        alpha = np.clip(alpha * 1.15, 0, 1)[..., None]
        region = sheet[ink.y : ink.y + ink.size, ink.x : ink.x + ink.size]
        region[:] = region * (1 - alpha) + colour * alpha
        ys, xs = np.nonzero(alpha[..., 0] > 0.25)
        ink.box = (ink.x + int(xs.min()), ink.y + int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1)
    return sheet


def _next_number(
    action: str, current: list[_Ink], labels: np.ndarray, paper: tuple[int, int], rng: np.random.Generator
) -> list[_Ink]:
    """Apply one phase's action: a new number, one digit added, the first removed, or none."""
    if action == "new" or not current:
        count = int(rng.integers(2, 5))
        picks = rng.choice(len(labels), count, replace=False)
        return [
            _Ink(int(i), int(labels[i]), x, y, s)
            for i, (x, y, s) in zip(picks, _layout(count, paper, rng), strict=True)
        ]
    if action == "add":  # at the end of the number, or at its start when there is no room at the end
        first, last, (x0, _, x1, _) = current[0], current[-1], _safe_area(paper)
        gap = int(last.size * rng.uniform(0.08, 0.3))
        i = int(rng.integers(len(labels)))
        y = last.y + int(rng.integers(-6, 7))
        if last.x + last.size + gap + last.size <= x1:
            return [*current, _Ink(i, int(labels[i]), last.x + last.size + gap, y, last.size)]
        if first.x - gap - first.size >= x0:
            return [_Ink(i, int(labels[i]), first.x - gap - first.size, y, first.size), *current]
    if action == "remove" and len(current) > 2:
        return current[1:]
    return current


def _offset(motion: str, phase: int, phase_t: float, start: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera offset (x, y) on the paper at phase time ``phase_t`` (0..1) of phase number ``phase``."""
    if motion == "pan":  # a smooth sweep out and back, alternating direction
        return start + np.array(PAN, np.float64) * np.sin(np.pi * phase_t) * (-1) ** (phase // 2)
    if motion == "shake":  # a hand-held camera: a few pixels of jitter
        return start + rng.normal(0, 2.5, 2)
    return start


def _lighting(motion: str, phase_t: float, size: tuple[int, int], t: float) -> np.ndarray:
    """Per-pixel gain: a gentle vignette, plus dimming and a moving shadow in "light" phases."""
    w, h = size
    xs = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    ys = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    gain = 1.0 - 0.12 * (xs**2 + ys**2) / 2
    if motion == "light":
        dim = 1.0 - 0.45 * np.sin(np.pi * phase_t)  # down to 55% and back
        angle = 2 * np.pi * phase_t + t
        shadow = 0.25 * np.clip(np.cos(angle) * xs + np.sin(angle) * ys, 0, 1)
        gain = gain * (dim - shadow)
    return gain


def generate(
    images: np.ndarray,
    labels: np.ndarray,
    seconds: float = 8.0,
    fps: float = FPS,
    size: tuple[int, int] = SIZE,
    seed: int = 0,
) -> Iterator[tuple[np.ndarray, FrameTruth]]:
    """Yield (BGR uint8 frame, truth) pairs; the same inputs and seed give the same video."""
    rng = np.random.default_rng(seed)
    cv2.setRNGSeed(seed)  # sensor noise comes from cv2.randn (4x faster than numpy's)
    noise = np.empty((size[1], size[0], 3), np.float32)
    paper_size = (size[0] + 2 * MARGIN[0], size[1] + 2 * MARGIN[1])
    paper = paper_texture(*paper_size, rng)
    home = np.array(MARGIN, np.float64)
    ink = np.array([70, 45, 35], np.float32) * np.float32(rng.uniform(0.6, 1.1))
    per_phase = round(PHASE_SECONDS * fps)
    inks: list[_Ink] = []
    sheet, text, still = paper, "", 0
    for n in range(round(seconds * fps)):
        phase, k = divmod(n, per_phase)
        motion = MOTIONS[phase % len(MOTIONS)]
        if k == 0:
            before = text
            changed = _next_number(ACTIONS[phase % len(ACTIONS)], inks, labels, paper_size, rng)
            if changed is not inks:
                inks, sheet = changed, _ink_sheet(paper, changed, images, ink)
            text = "".join(str(i.label) for i in inks)
            still = 0 if text != before or n == 0 else still
        t, phase_t = n / fps, k / per_phase
        off = _offset(motion, phase, phase_t, home, rng)
        warp = np.float32([[1, 0, -off[0]], [0, 1, -off[1]]])
        view = cv2.warpAffine(sheet, warp, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        if k == 0 or motion == "light":
            gain = cv2.merge([_lighting(motion, phase_t, size, t).astype(np.float32)] * 3)
        cv2.randn(noise, 0, 2.0)  # sensor noise
        frame = cv2.convertScaleAbs(cv2.multiply(view, gain) + noise)  # rounds and saturates to 0..255
        boxes = [(round(b[0] - off[0]), round(b[1] - off[1]), b[2], b[3]) for b in (i.box for i in inks)]
        yield frame, FrameTruth(n, t, text, [i.label for i in inks], boxes, still, motion)
        still += 1


def number_frame(
    images: np.ndarray,
    indices: list[int],
    digit_size: int = 80,
    size: tuple[int, int] = SIZE,
    seed: int = 0,
    noise: float = 2.0,
    slots: int | None = None,
) -> np.ndarray:
    """One still BGR frame: the MNIST digits ``indices`` in a row in the middle of the paper.

    The row is laid out for ``slots`` digits (default: as many as given), so frames with more
    digits appended keep the first ones exactly where they were.
    """
    rng = np.random.default_rng(seed)
    paper = paper_texture(*size, rng)
    step = int(digit_size * 1.15)
    x, y = size[0] // 2 - step * (slots or len(indices)) // 2, size[1] // 2 - digit_size // 2
    inks = [_Ink(i, -1, x + k * step, y, digit_size) for k, i in enumerate(indices)]
    sheet = _ink_sheet(paper, inks, images, np.array([70, 45, 35], np.float32))
    return np.clip(sheet + rng.normal(0, noise, sheet.shape), 0, 255).astype(np.uint8)


def write_video(
    path: Path,
    images: np.ndarray,
    labels: np.ndarray,
    seconds: float = 8.0,
    fps: float = FPS,
    size: tuple[int, int] = SIZE,
    seed: int = 0,
) -> list[FrameTruth]:
    """Write the video (mp4v) and its truth beside it (``<stem>.truth.jsonl``); return the truth."""
    return write_frames(path, generate(images, labels, seconds, fps, size, seed), fps, size)


def write_frames(
    path: Path, frames: Iterator[tuple[np.ndarray, FrameTruth]], fps: float, size: tuple[int, int]
) -> list[FrameTruth]:
    """Write (BGR frame, truth) pairs as a video (mp4v) and the truth beside it; return the truth."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise OSError(f"cannot write a video to {path}")
    truth = []
    try:
        for frame, t in frames:
            writer.write(frame)
            truth.append(t)
    finally:
        writer.release()
    truth_path(path).write_text("".join(json.dumps(t.to_dict()) + "\n" for t in truth))
    return truth


def truth_path(video: Path) -> Path:
    return Path(video).with_suffix(".truth.jsonl")


def read_truth(path: Path) -> list[FrameTruth]:
    """The truth written by ``write_video`` (give the video or the .truth.jsonl file)."""
    path = Path(path)
    if path.suffix != ".jsonl":
        path = truth_path(path)
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [FrameTruth(**{**r, "boxes": [tuple(b) for b in r["boxes"]]}) for r in rows]


@dataclass(frozen=True)
class Score:
    """Readings scored against the truth, over the frames whose number has been still ``after`` frames."""

    frames: int  # frames scored
    correct: int  # of those, frames whose reported text is the true number
    changes: int  # times the reported text changed between two scored frames of one still stretch (flicker)

    @property
    def accuracy(self) -> float:
        return self.correct / self.frames if self.frames else 0.0


def score(truth: list[FrameTruth], texts: list[str], after: int = 5) -> Score:
    """Score one reported text per frame: correct on frames still for ``after`` frames, and no change there."""
    if len(texts) != len(truth):
        raise ValueError(f"{len(texts)} readings for {len(truth)} frames")
    frames = correct = changes = 0
    for i, (t, text) in enumerate(zip(truth, texts, strict=True)):
        if t.still < after:
            continue
        frames += 1
        correct += text == t.text
        changes += i > 0 and truth[i - 1].still >= after and texts[i - 1] != text
    return Score(frames, correct, changes)


def main(argv: list[str] | None = None) -> int:
    from digitreader.data import load_mnist

    p = argparse.ArgumentParser(description="Write the synthetic test video (MNIST test digits) and its truth.")
    p.add_argument("out", type=Path, help="the .mp4 file to write (the truth goes beside it as .truth.jsonl)")
    p.add_argument("--seconds", type=float, default=8.0, help="length of the video")
    p.add_argument("--seed", type=int, default=0, help="random seed (the same seed writes the same video)")
    p.add_argument("--data-dir", default=None, help="folder holding MNIST (else $DIGITREADER_DATA, else the cache)")
    args = p.parse_args(argv)
    images, labels = load_mnist("test", args.data_dir)
    truth = write_video(args.out, images, labels, seconds=args.seconds, seed=args.seed)
    print(f"wrote {args.out} ({len(truth)} frames) and {truth_path(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
