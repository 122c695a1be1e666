"""Find the sheet of paper in a photo or a frame and flatten it: the desk, the sheet's edge and shadow are no ink.

As document scanners do: on a thumbnail, a small network (``models.page``, trained on generated
scenes by ``training.page``) marks the pixels of the sheet; the sheet is the largest region it
marks that is (in perspective) a quadrilateral with straight edges, or one running out of the frame.
Its four corners give the map that flattens it, turned upright, in the image's own resolution.
A picture that is all paper (a crop, a scan, a sheet filling the frame) has no page to find and
is read whole, as before.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from digitreader.errors import ModelError
from digitreader.runtime import open_session

THUMB = 160  # the longest side the sheet is looked for at (as data.page_scenes draws them)
WORK = 2  # the network's half-resolution logits are drawn out to this many times the thumbnail for the outline
UNSURE = 0.2  # no sheet is found where more than this share of the thumbnail's pixels are in doubt ...
SURE_LOGIT = float(np.log(9.0))  # ... with a probability of being the sheet between 0.1 and 0.9
MIN_SIDE = 240  # pictures smaller than this (a crop of one digit or one row) are never searched
MIN_AREA, MAX_AREA = 0.05, 0.9  # of the frame: a sheet this large at least, and leaving a desk around it
FILL = 0.9  # the sheet's region covers this share of its quadrilateral, and the quadrilateral of it
MAX_SKEW = 40.0  # degrees: no corner angle further than this from a right angle
MAX_SIDES = 8  # an outline simplified to more sides than this is no sheet at that tolerance
BEND = 0.2  # sin of the largest bend (about 12 degrees) along one side of a sheet (perspective, a hand)
INSET = 0.012  # of the sheet's smaller side, left off each edge: the edge itself and its shadow


@dataclass(frozen=True)
class Page:
    """A sheet found in a picture: its corners there, the flattened sheet, and the map back."""

    corners: np.ndarray  # 4x2 float32 in the picture's pixels: top-left, top-right, bottom-right, bottom-left
    image: np.ndarray  # the sheet flattened and turned upright, uint8 (as many channels as the picture)
    to_picture: np.ndarray  # 3x3: a pixel of ``image`` -> the picture's pixels


def find_page(pixels: np.ndarray) -> Page | None:
    """The sheet in ``pixels`` (uint8 grey, RGB or RGBA), flattened; None when there is no sheet to find."""
    corners = find_sheet(pixels)
    return None if corners is None else flatten(pixels, corners)


def find_sheet(pixels: np.ndarray) -> np.ndarray | None:
    """The sheet's corners (4x2, the picture's pixels), or None."""
    h, w = pixels.shape[:2]
    if max(h, w) < MIN_SIDE:
        return None
    f = THUMB / max(h, w)
    thumb = cv2.resize(_rgb(pixels), (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    logits = sheet_logits(thumb)
    if float((np.abs(logits) < SURE_LOGIT).mean()) > UNSURE:
        return None  # not a picture the finder knows (a close-up of paper, a scene unlike any desk): read it whole
    size = (thumb.shape[1] * WORK, thumb.shape[0] * WORK)
    sheet = (cv2.resize(logits, size, interpolation=cv2.INTER_LINEAR) > 0).astype(np.uint8)
    regions, _ = cv2.findContours(sheet, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    quads = _quads(regions, sheet.shape)
    return (quads[0] / (f * WORK)).astype(np.float32) if quads else None


def sheet_logits(thumb: np.ndarray) -> np.ndarray:
    """The page network's logits (is this pixel the sheet?) of a uint8 RGB thumbnail: float32, half its size."""
    h, w = thumb.shape[:2]
    x = np.ascontiguousarray(padded(thumb).transpose(2, 0, 1)[None], dtype=np.float32) / np.float32(255)
    out = _session().run(None, {"image": x})[0][0, 0]
    return out[: (h + 1) // 2, : (w + 1) // 2]


def padded(thumb: np.ndarray) -> np.ndarray:
    """The thumbnail (or its mask) grown to multiples of 16, the network's stride, by repeating its last rows and
    columns: as the network sees it in training (``training.page``) and here."""
    h, w = thumb.shape[:2]
    return np.pad(thumb, ((0, -h % 16), (0, -w % 16)) + ((0, 0),) * (thumb.ndim - 2), mode="edge")


def bundled_page_model() -> Path:
    return Path(__file__).resolve().parent.parent / "assets" / "page" / "default.onnx"


@lru_cache(maxsize=1)
def _session() -> ort.InferenceSession:
    path = bundled_page_model()
    if not path.is_file():
        raise ModelError(f"the page finder {path} does not exist")
    return open_session(path, threads=1)


def _rgb(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim == 2:
        return cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(pixels[..., :3])


def flatten(pixels: np.ndarray, corners: np.ndarray) -> Page:
    """The quadrilateral ``corners`` of ``pixels`` warped to an upright rectangle of about its own size."""
    tl, tr, br, bl = corners.astype(np.float32)
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    inset = INSET * min(width, height)
    size = (max(8, round(width - 2 * inset)), max(8, round(height - 2 * inset)))
    target = np.float32([[0, 0], [width, 0], [width, height], [0, height]]) - np.float32(inset)
    to_flat = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    image = cv2.warpPerspective(pixels, to_flat, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return Page(corners.astype(np.float32), image, np.linalg.inv(to_flat))


def _quads(contours: Sequence[np.ndarray], shape: tuple[int, int]) -> list[np.ndarray]:
    """The contours that are a quadrilateral's outline of a sheet's size, as ordered corners, largest first."""
    h, w = shape
    frame = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    quads = []
    for contour in contours:
        region = cv2.contourArea(contour)
        if not MIN_AREA * h * w <= region <= MAX_AREA * h * w:
            continue
        quad = _quadrilateral(cv2.convexHull(contour), shape)
        if quad is None or not _square_enough(quad):
            continue
        covered, _ = cv2.intersectConvexConvex(quad, frame)  # a sheet may run out of the frame
        if min(region, covered) >= FILL * max(region, covered) and covered <= MAX_AREA * h * w:
            quads.append((covered, quad))
    return [q for _, q in sorted(quads, key=lambda aq: -aq[0])]


def _quadrilateral(hull: np.ndarray, shape: tuple[int, int]) -> np.ndarray | None:
    """The sheet's four corners (top-left, top-right, bottom-right, bottom-left) from its outline, or None.

    The outline is simplified at several tolerances into sides; or it runs along the frame's border
    where the sheet leaves the picture: each side of the frame it runs along then stands for one side
    of the sheet (the part beyond is out of sight anyway). Any four of the sides (up to ``MAX_SIDES``:
    a corner cut off by the simplification or by a thumb is a short fifth side) give corners where
    their lines cross; the quadrilateral that overlaps the outline best is the sheet.
    """
    perimeter = cv2.arcLength(hull, True)
    outline = hull.reshape(-1, 2).astype(np.float32)
    area = cv2.contourArea(outline)
    best, best_overlap = None, 0.0
    for eps in (0.01, 0.02, 0.03, 0.05, 0.08):
        polygon = cv2.approxPolyDP(hull, eps * perimeter, True).reshape(-1, 2).astype(np.float32)
        if len(polygon) < 3:
            break
        lines = _sides(polygon, shape)
        inner = [(p, d) for p, d, side in lines if side is None]
        lines = inner if len(inner) == 4 else [(p, d) for p, d, _ in lines]  # a corner out of sight
        if len(lines) < 4:
            break
        if len(lines) > MAX_SIDES:
            continue
        for four in itertools.combinations(lines, 4):
            corners = [_meet(four[i - 1], four[i]) for i in range(4)]
            if any(c is None for c in corners):
                continue
            quad = _ordered(np.float32(corners))
            overlap = _overlap(quad, outline, area)
            if overlap > best_overlap:
                best, best_overlap = quad, overlap
    return best


def _overlap(quad: np.ndarray, outline: np.ndarray, area: float) -> float:
    """Intersection over union of a quadrilateral and a convex outline of ``area`` (0 for a quadrilateral that
    folds over)."""
    if not cv2.isContourConvex(quad.reshape(-1, 1, 2)):
        return 0.0
    inter, _ = cv2.intersectConvexConvex(quad, outline)
    union = cv2.contourArea(quad) + area - inter
    return float(inter / union) if union > 0 else 0.0


def _sides(polygon: np.ndarray, shape: tuple[int, int]) -> list[tuple[np.ndarray, np.ndarray, int | None]]:
    """The polygon's sides as lines (a point, a direction, the frame's side it runs along or None), in
    order; a run along one side of the frame is one line, and consecutive sides that continue each other
    are one."""
    h, w = shape
    near = 2.0

    def frame_side(p: np.ndarray, q: np.ndarray) -> int | None:
        for k, on in enumerate(
            (
                lambda v: v[1] <= near,
                lambda v: v[0] >= w - 1 - near,
                lambda v: v[1] >= h - 1 - near,
                lambda v: v[0] <= near,
            )
        ):
            if on(p) and on(q):
                return k
        return None

    lines: list[tuple[np.ndarray, np.ndarray, int | None]] = []
    for i in range(len(polygon)):
        p, q = polygon[i], polygon[(i + 1) % len(polygon)]
        d = q - p
        if float(np.hypot(*d)) < 1:
            continue
        side = frame_side(p, q)
        d = d / float(np.hypot(*d))
        if lines and (
            (side is not None and lines[-1][2] == side)
            or (side is None and lines[-1][2] is None and abs(_cross2(lines[-1][1], d)) < BEND)
        ):
            continue  # the same line goes on
        lines.append((p, d, side))
    if len(lines) > 1 and lines[0][2] is not None and lines[0][2] == lines[-1][2]:
        lines.pop()
    return lines


def _cross2(u: np.ndarray, v: np.ndarray) -> float:
    """The z of the cross product of two 2-D vectors: the sine of the angle between unit vectors."""
    return float(u[0] * v[1] - u[1] * v[0])


def _meet(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> tuple[float, float] | None:
    """Where two lines (a point, a direction) cross; None when they are nearly parallel."""
    (p, d), (q, e) = a, b
    det = float(d[0] * -e[1] + e[0] * d[1])
    if abs(det) < 0.05:
        return None
    t = float((q[0] - p[0]) * -e[1] + e[0] * (q[1] - p[1])) / det
    return float(p[0] + t * d[0]), float(p[1] + t * d[1])


def _ordered(quad: np.ndarray) -> np.ndarray:
    """Corners in the order top-left, top-right, bottom-right, bottom-left (the sheet's upright reading)."""
    centre = quad.mean(axis=0)
    angles = np.arctan2(quad[:, 1] - centre[1], quad[:, 0] - centre[0])
    ring = quad[np.argsort(angles)]  # clockwise on screen, from the left
    start = int(np.argmin(ring.sum(axis=1)))  # the corner nearest the top-left
    return np.roll(ring, -start, axis=0)


def _square_enough(quad: np.ndarray) -> bool:
    """Every corner within ``MAX_SKEW`` degrees of a right angle: a sheet seen from a little off-axis."""
    for i in range(4):
        a, b, c = quad[i - 1], quad[i], quad[(i + 1) % 4]
        u, v = a - b, c - b
        cos = float(np.dot(u, v) / max(np.linalg.norm(u) * np.linalg.norm(v), 1e-6))
        if abs(np.degrees(np.arccos(np.clip(cos, -1, 1))) - 90) > MAX_SKEW:
            return False
    return True
