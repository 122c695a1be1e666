"""A sheet of paper on a desk: the commonest real picture of handwriting, made from MNIST **test** digits.

Each sample is one sheet with a number (sometimes two rows) written on it, seen two ways:

- ``sheet``: the sheet alone, frontal, at the resolution it has in the desk picture (a perfect crop);
- ``desk``: the same sheet lying on a desk (plain, wood, patterned; light or dark), filling 30-80% of
  the frame's width, turned up to 20 degrees, seen in perspective, with its shadow, the room's light,
  and sometimes a hand holding it or a pen or a phone beside it; sometimes cut off by the frame.

Everything is reproducible by ``(seed, index)``. ``write_desk_set`` writes PNGs and ``labels.csv``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from digitreader.data.render import finish, ink_style, lay_ink, lighting, paper, smooth_noise
from digitreader.data.synthetic import KINDS, number_strokes
from digitreader.data.synthetic_video import FrameTruth, write_frames

DESK_FRAMES = ((480, 640), (600, 800), (960, 1280))  # (height, width)
DESKS = ("plain", "white", "dark", "wood", "pattern")
SHEET_WIDTH = (0.3, 0.8)  # of the frame's width
MAX_TURN = 20.0  # degrees
HOLD_SECONDS = 2.5  # each sheet of the video is held this long


@dataclass(frozen=True)
class Sheet:
    """A sheet with its number: float32 RGB in [0, 1] (no light, no lens yet) and the truth."""

    page: np.ndarray
    label: str  # rows joined by a newline
    sources: tuple[int, ...]
    ink: tuple[int, int, int, int] = (0, 0, 0, 0)  # the box (x, y, w, h) around the writing, sheet pixels


@dataclass(frozen=True)
class DeskSample:
    index: int
    desk: np.ndarray  # uint8 RGB, the frame
    sheet: np.ndarray  # uint8 RGB, the same sheet alone
    label: str
    desk_kind: str
    corners: np.ndarray  # the sheet's corners in the frame (4x2: top-left, top-right, bottom-right, bottom-left)
    sources: tuple[int, ...]


def write_sheet(
    images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, width: int, rows: int | None = None
) -> Sheet:
    """A sheet ``width`` pixels wide (a portrait, landscape or square note) with ``rows`` rows of digits
    (default: one, or two in a quarter of the sheets)."""
    aspect = float(rng.choice([1.414, 1 / 1.414, 1.0, 1.3, 0.75]))  # height / width
    h = round(width * aspect)
    page = paper(h, width, rng, ruled=0.25)
    style = ink_style(rng)
    rows = rows or (1 if rng.random() < 0.75 else 2)
    text, sources, boxes = [], [], []
    band = h / (rows + 1)
    for r in range(rows):
        n = int(rng.integers(2, 7))
        idx = rng.integers(0, len(images), n)
        height = round((rng.uniform(0.14, 0.25) if rows == 1 else rng.uniform(0.1, 0.15)) * min(h, width))
        alpha = number_strokes([images[i] for i in idx], rng, str(rng.choice(KINDS, p=[0.5, 0.35, 0.15])), height)
        fit = min(1.0, 0.8 * width / alpha.shape[1], 0.8 * band / alpha.shape[0])
        if fit < 1.0:
            size = (max(2, round(alpha.shape[1] * fit)), max(2, round(alpha.shape[0] * fit)))
            alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
        x = int(
            rng.integers(round(0.1 * width), max(round(0.1 * width) + 1, width - alpha.shape[1] - round(0.1 * width)))
        )
        y = round(band * (r + 1) - alpha.shape[0] / 2 + rng.uniform(-0.15, 0.15) * band)
        y = max(0, min(h - alpha.shape[0], y))
        lay_ink(page, alpha, x, y, style, rng)
        boxes.append((x, y, x + alpha.shape[1], y + alpha.shape[0]))
        text.append("".join(str(int(labels[i])) for i in idx))
        sources.extend(int(i) for i in idx)
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return Sheet(page, "\n".join(text), tuple(sources), (x0, y0, x1 - x0, y1 - y0))


def desk_surface(h: int, w: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """A desk filling an HxW frame: float32 RGB in [0, 1]."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "white":  # a white table under a white sheet: low contrast
        base = np.full((h, w, 3), rng.uniform(0.78, 0.92), np.float32) * rng.uniform(0.96, 1.02, 3).astype(np.float32)
    elif kind == "dark":
        base = np.full((h, w, 3), rng.uniform(0.05, 0.2), np.float32) * rng.uniform(0.8, 1.2, 3).astype(np.float32)
    elif kind == "wood":
        colour = np.array(rng.choice([[0.55, 0.38, 0.22], [0.35, 0.22, 0.12], [0.75, 0.6, 0.42], [0.25, 0.15, 0.1]]))
        t = np.deg2rad(rng.uniform(0, 180))
        along = xs * np.float32(np.cos(t)) + ys * np.float32(np.sin(t))
        across = -xs * np.float32(np.sin(t)) + ys * np.float32(np.cos(t))
        warp = smooth_noise(h, w, rng, 6, 8.0)
        grain = np.sin((across + warp) * np.float32(rng.uniform(0.15, 0.5))) * 0.5 + 0.5
        fine = smooth_noise(h, w, rng, max(8, w // 6), 0.04) + 0.02 * np.sin(along * 0.05)
        base = colour.astype(np.float32) * (0.8 + 0.25 * grain + fine)[..., None]
    elif kind == "pattern":
        a, b = (rng.uniform(0.1, 0.9, 3).astype(np.float32) for _ in range(2))
        period = rng.uniform(0.03, 0.12) * w
        t = np.deg2rad(rng.uniform(0, 180))
        u = (xs * np.float32(np.cos(t)) + ys * np.float32(np.sin(t))) / period
        v = (-xs * np.float32(np.sin(t)) + ys * np.float32(np.cos(t))) / period
        style = rng.integers(3)
        if style == 0:  # checks
            m = ((np.floor(u) + np.floor(v)) % 2).astype(np.float32)
        elif style == 1:  # stripes
            m = (np.sin(u * 2 * np.pi) > 0).astype(np.float32)
        else:  # a speckled stone or a tablecloth print
            m = (smooth_noise(h, w, rng, int(w / period * 2) + 2, 1.0) > 0.3).astype(np.float32)
        m = cv2.GaussianBlur(m, (0, 0), 1.0)[..., None]
        base = a * (1 - m) + b * m
    else:  # plain: grey or a colour
        base = np.full((h, w, 3), 1.0, np.float32) * rng.uniform(0.2, 0.75, 3).astype(np.float32)
    base = base * (1.0 + smooth_noise(h, w, rng, 10, 0.05))[..., None]
    return np.clip(base, 0.0, 1.0).astype(np.float32)


def place(
    sheet: Sheet, frame: tuple[int, int], rng: np.random.Generator, cut_off: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Where the sheet lies in the frame: the 3x3 map from the sheet to the frame, and its corners there.

    A sheet ``cut_off`` runs out of the frame on one side, its writing still in view."""
    h, w = frame
    sh, sw = sheet.page.shape[:2]
    turn = np.deg2rad(rng.uniform(-MAX_TURN, MAX_TURN))
    rot = np.float32([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    corners = np.float32([[0, 0], [sw, 0], [sw, sh], [0, sh]])
    turned = (corners - np.float32([sw / 2, sh / 2])) @ rot.T
    extent = turned.max(0) - turned.min(0)
    scale = min(rng.uniform(*SHEET_WIDTH) * w / extent[0], 0.88 * h / extent[1], 0.88 * w / extent[0])
    centred = turned * np.float32(scale)
    span = extent * np.float32(scale)
    room = np.maximum(np.float32([w, h]) - span, 0)
    centre = np.float32([w / 2, h / 2]) + (rng.uniform(-0.45, 0.45, 2) * room).astype(np.float32)
    skew = rng.uniform(-0.06, 0.06, (4, 2)).astype(np.float32) * span  # a camera a little off-axis
    push = np.zeros(2, np.float32)
    if cut_off:  # pushed past one side of the frame
        axis = int(rng.integers(2))
        push[axis] = float(rng.choice([-1, 1])) * (room[axis] / 2 + rng.uniform(0.08, 0.25) * span[axis])
    x, y, iw, ih = sheet.ink
    ink = np.float32([[x, y], [x + iw, y], [x + iw, y + ih], [x, y + ih]]).reshape(-1, 1, 2)
    for _ in range(6):
        dst = (centred + centre + skew + push).astype(np.float32)
        matrix = cv2.getPerspectiveTransform(corners, dst)
        seen = cv2.perspectiveTransform(ink, matrix).reshape(-1, 2)
        if (seen.min(0) >= 0.02 * np.float32([w, h])).all() and (seen.max(0) <= 0.98 * np.float32([w, h])).all():
            break
        push /= 2  # the writing stays in view
    return matrix, dst


def on_desk(
    sheet: Sheet, frame: tuple[int, int], kind: str, rng: np.random.Generator, cut_off: bool = False
) -> tuple[np.ndarray, np.ndarray, float]:
    """The frame (float32 RGB) of ``sheet`` lying on a desk, its corners, and the sheet's scale in it."""
    h, w = frame
    matrix, corners = place(sheet, frame, rng, cut_off)
    scene = desk_surface(h, w, kind, rng)
    mask = cv2.warpPerspective(np.ones(sheet.page.shape[:2], np.float32), matrix, (w, h), flags=cv2.INTER_LINEAR)
    shadow_at = np.float32([[1, 0, rng.uniform(-1, 1) * 0.02 * w], [0, 1, rng.uniform(0.2, 1) * 0.02 * h]])
    shadow = cv2.warpAffine(mask, shadow_at, (w, h))
    shadow = cv2.GaussianBlur(shadow, (0, 0), rng.uniform(0.004, 0.02) * w)
    scene *= 1.0 - rng.uniform(0.2, 0.5) * shadow[..., None]
    # Shrink the sheet to about its size in the frame first (area averaging), then warp the rest of the way.
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:2, :2]))))
    sh, sw = sheet.page.shape[:2]
    small = cv2.resize(sheet.page, (max(2, round(sw * scale)), max(2, round(sh * scale))), interpolation=cv2.INTER_AREA)
    back = np.diag([sw / small.shape[1], sh / small.shape[0], 1.0])
    flat = cv2.warpPerspective(small, matrix @ back, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    scene = scene * (1 - mask[..., None]) + flat * mask[..., None]
    clutter(scene, corners, rng)
    scene *= lighting(h, w, rng, shadow=0.3)[..., None]
    scene *= rng.uniform(0.92, 1.06, 3).astype(np.float32)
    return scene, corners, scale


def clutter(scene: np.ndarray, corners: np.ndarray, rng: np.random.Generator) -> None:
    """Sometimes a hand holding the sheet by an edge, or a pen or a phone on the desk (in place)."""
    h, w = scene.shape[:2]
    roll = rng.random()
    if roll < 0.25:  # a thumb and fingers over the middle of one edge, from outside
        i = int(rng.integers(4))
        a, b = corners[i], corners[(i + 1) % 4]
        t = rng.uniform(0.3, 0.7)
        at = a + t * (b - a)
        out = at - corners.mean(0)
        out = out / max(float(np.linalg.norm(out)), 1e-6)
        size = rng.uniform(0.03, 0.05) * w
        skin = np.array(rng.choice([[0.93, 0.75, 0.62], [0.78, 0.57, 0.42], [0.45, 0.3, 0.22]]), np.float32)
        mask = np.zeros((h, w), np.float32)
        tip = at + out * size * 0.4  # the thumb reaches the edge, not the writing
        base = at + out * size * 3
        cv2.line(mask, tuple(int(v) for v in tip), tuple(int(v) for v in base), 1.0, int(size), cv2.LINE_AA)
        cv2.circle(mask, tuple(int(v) for v in base), int(size * 1.6), 1.0, -1, cv2.LINE_AA)
        mask = cv2.GaussianBlur(mask, (0, 0), 1.5)[..., None]
        scene[:] = scene * (1 - mask) + skin * (0.85 + 0.15 * mask) * mask
    elif roll < 0.45:  # a pen or a phone beside the sheet
        colour = np.array(rng.choice([[0.1, 0.1, 0.12], [0.1, 0.2, 0.6], [0.7, 0.1, 0.1]]), np.float32)
        length, thick = (rng.uniform(0.2, 0.35) * w, rng.uniform(0.01, 0.02) * w)
        if rng.random() < 0.4:
            length, thick = rng.uniform(0.15, 0.22) * w, rng.uniform(0.07, 0.1) * w
        for _ in range(20):
            c = rng.uniform(0, 1, 2) * (w, h)
            if cv2.pointPolygonTest(corners.reshape(-1, 1, 2), tuple(float(v) for v in c), True) < -length / 2:
                break
        else:
            return
        box = cv2.boxPoints(((float(c[0]), float(c[1])), (float(length), float(thick)), float(rng.uniform(0, 180))))
        mask = np.zeros((h, w), np.float32)
        cv2.fillPoly(mask, [box.astype(np.int32)], 1.0, cv2.LINE_AA)
        scene[:] = scene * (1 - mask[..., None]) + colour * mask[..., None]


def desk_sample(images: np.ndarray, labels: np.ndarray, seed: int, index: int) -> DeskSample:
    """Sample ``index`` of the desk set of ``seed``: the desk frame and the same sheet alone."""
    rng = np.random.default_rng([seed, 25, index])
    frame = DESK_FRAMES[int(rng.choice(len(DESK_FRAMES), p=[0.5, 0.25, 0.25]))]
    kind = str(DESKS[index % len(DESKS)])
    sheet = write_sheet(images, labels, rng, width=int(rng.integers(500, 900)))
    cut_off = rng.random() < 0.1
    scene, corners, scale = on_desk(sheet, frame, kind, rng, cut_off)
    blur, noise, quality = rng.uniform(0.0, 1.0), rng.uniform(0.004, 0.02), int(rng.integers(50, 95))
    lens = np.random.default_rng([seed, 25, index, 1])
    desk = finish(scene, lens, blur=blur, noise=noise, quality=quality)
    # The same sheet alone at the size it has in the frame, under the same kind of light and lens.
    sh, sw = sheet.page.shape[:2]
    size = (max(8, round(sw * scale)), max(8, round(sh * scale)))
    alone = cv2.resize(sheet.page, size, interpolation=cv2.INTER_AREA)
    alone = alone * lighting(size[1], size[0], np.random.default_rng([seed, 25, index, 2]), shadow=0.3)[..., None]
    crop = finish(alone, np.random.default_rng([seed, 25, index, 3]), blur=blur, noise=noise, quality=quality)
    return DeskSample(index, desk, crop, sheet.label, kind + (" cut off" if cut_off else ""), corners, sheet.sources)


def write_desk_set(out: Path, images: np.ndarray, labels: np.ndarray, count: int, seed: int) -> Path:
    """Write ``desk/NNNNN.png`` and ``sheet/NNNNN.png`` and ``labels.csv`` (file, sheet, label, desk, corners)."""
    out = Path(out)
    (out / "desk").mkdir(parents=True, exist_ok=True)
    (out / "sheet").mkdir(parents=True, exist_ok=True)
    with open(out / "labels.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "sheet", "label", "desk", "corners", "mnist_test_indices"])
        for i in range(count):
            s = desk_sample(images, labels, seed, i)
            name = f"{i:05d}.png"
            cv2.imwrite(str(out / "desk" / name), cv2.cvtColor(s.desk, cv2.COLOR_RGB2BGR))
            cv2.imwrite(str(out / "sheet" / name), cv2.cvtColor(s.sheet, cv2.COLOR_RGB2BGR))
            corners = " ".join(f"{v:.1f}" for v in s.corners.reshape(-1))
            writer.writerow(
                [f"desk/{name}", f"sheet/{name}", s.label, s.desk_kind, corners, " ".join(map(str, s.sources))]
            )
    return out / "labels.csv"


def desk_video(
    images: np.ndarray,
    labels: np.ndarray,
    seconds: float = 15.0,
    fps: float = 30.0,
    size: tuple[int, int] = (640, 480),
    seed: int = 0,
) -> Iterator[tuple[np.ndarray, FrameTruth]]:
    """Yield (BGR uint8 frame, truth): sheets on desks, each held ``HOLD_SECONDS`` while the camera pans
    and zooms slowly and the light drifts; ``truth.still`` counts the frames since the sheet came."""
    w, h = size
    rng = np.random.default_rng([seed, 2525])
    per = max(1, round(HOLD_SECONDS * fps))
    centre = np.array([[1, 0, w / 2], [0, 1, h / 2], [0, 0, 1]])
    cv2.setRNGSeed(seed)
    noise = np.empty((h, w, 3), np.float32)
    for n in range(round(seconds * fps)):
        k, i = divmod(n, per)
        if i == 0:
            sheet = write_sheet(images, labels, rng, width=int(rng.integers(500, 800)), rows=1)
            desk = desk_surface(h, w, DESKS[k % len(DESKS)], rng)
            matrix, _ = place(sheet, (h, w), rng)
            scale = float(np.sqrt(abs(np.linalg.det(matrix[:2, :2]))))
            sh, sw = sheet.page.shape[:2]
            small = cv2.resize(
                sheet.page, (max(2, round(sw * scale)), max(2, round(sh * scale))), interpolation=cv2.INTER_AREA
            )
            base = matrix @ np.diag([sw / small.shape[1], sh / small.shape[0], 1.0])
            pan, zoom = rng.uniform(-0.04, 0.04, 2) * (w, h), rng.uniform(-0.06, 0.06)
            lights = [lighting(h, w, rng, shadow=0.0) for _ in range(2)]
            drop = (rng.uniform(-1, 1) * 0.02 * w, rng.uniform(0.2, 1) * 0.02 * h, rng.uniform(0.2, 0.45))
            ink = sheet.label
        t = i / per
        move = np.array([[1, 0, pan[0] * t], [0, 1, pan[1] * t], [0, 0, 1]])
        view = centre @ np.diag([1 + zoom * t, 1 + zoom * t, 1]) @ np.linalg.inv(centre) @ move @ base
        mask = cv2.warpPerspective(np.ones(small.shape[:2], np.float32), view, size, flags=cv2.INTER_LINEAR)
        shadow = cv2.GaussianBlur(cv2.warpAffine(mask, np.float32([[1, 0, drop[0]], [0, 1, drop[1]]]), size), (0, 0), 4)
        flat = cv2.warpPerspective(small, view, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        scene = desk * (1 - drop[2] * shadow[..., None])
        scene = scene * (1 - mask[..., None]) + flat * mask[..., None]
        scene *= ((1 - t) * lights[0] + t * lights[1])[..., None]
        frame = cv2.cvtColor(scene * 255, cv2.COLOR_RGB2BGR)
        cv2.randn(noise, 0, 2.0)  # sensor noise (cv2's generator: 4x faster than numpy's)
        frame = cv2.convertScaleAbs(frame + noise)
        yield frame, FrameTruth(n, n / fps, ink, [int(c) for c in ink], [], i, "held")


def write_desk_video(
    path: Path, images: np.ndarray, labels: np.ndarray, seconds: float, fps: float, size: tuple[int, int], seed: int
) -> list[FrameTruth]:
    """Write ``desk_video`` as an mp4 and its truth beside it (``<stem>.truth.jsonl``)."""
    return write_frames(path, desk_video(images, labels, seconds, fps, size, seed), fps, size)
