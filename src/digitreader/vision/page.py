"""Find the sheet of paper in a photo or a frame and flatten it: the desk, the sheet's edge and shadow are no ink.

As document scanners do: on a thumbnail, the sheet is the largest bright, neutral region that
stands out from what surrounds it and is (in perspective) a quadrilateral with straight edges.
Its four corners give the map that flattens it, turned upright, in the image's own resolution.
A picture that is all paper (a crop, a scan, a sheet filling the frame) has no page to find and
is read whole, as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

THUMB = 320  # the longest side the sheet is looked for at
MIN_SIDE = 240  # pictures smaller than this (a crop of one digit or one row) are never searched
MIN_AREA, MAX_AREA = 0.05, 0.9  # of the frame: a sheet this large at least, and leaving a desk around it
CHROMA = 0.6  # paper is bright and neutral: paperness = lightness - CHROMA x chroma
MIN_STEP = 8.0  # paperness levels (0-255) between the sheet and what lies just outside its edges
FILL = 0.9  # the bright region covers this share of its quadrilateral, and the quadrilateral of it
EDGE_SHARE = 0.6  # of each side inside the frame, this share has a clear step across it ...
SHARP = 0.6  # ... and of those, this share makes most of the step within 4 thumbnail pixels
MAX_SKEW = 40.0  # degrees: no corner angle further than this from a right angle
BEND = 0.2  # sin of the largest bend (about 12 degrees) along one side of a sheet (perspective, a hand)
LINES = 24  # the longest straight edges tried as a sheet's sides
PATCH_DARK, PATCH_SHARE = 0.8, 0.08  # inside a sheet, at most 8% is 20% darker than its surroundings
STROKE_SPAN = 0.025  # of the thumbnail's longest side: strokes thinner than this are writing ...
STROKE_CONTRAST = 0.3  # ... when at least this much darker than around them (grain and shadows are less)
PAPER_LIKE = 0.6  # ... on something at least this bright against the page's paper
BAR_LENGTH, BAR_ASPECT = 0.12, 4.0  # ... not counting long straight bars (a pen beside the sheet)
OUTSIDE_INK = 0.5  # a page with more than half as much writing outside it as inside is not the page
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
    thumb = cv2.resize(pixels, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    level = _paperness(thumb)
    patches: np.ndarray | None = None  # computed once, for the first candidate that gets this far
    strokes: tuple[np.ndarray, np.ndarray] | None = None
    for quad in _candidates(level):
        if not _stands_out(level, quad):
            continue
        inside = np.zeros(level.shape, np.uint8)
        cv2.fillPoly(inside, [np.round(quad).astype(np.int32)], 1)
        patches = _patches(level) if patches is None else patches
        if not _plain_inside(patches, inside):
            continue
        strokes = _strokes(thumb) if strokes is None else strokes
        if not _leaves_writing_out(strokes, inside):
            return (quad / f).astype(np.float32)
    return None


def _patches(level: np.ndarray) -> np.ndarray:
    """Pixels much darker than their surroundings (bool): a patterned desk's squares and stripes, not soft shadows."""
    smooth = cv2.GaussianBlur(level.astype(np.float32), (0, 0), 0.05 * max(level.shape))
    return level.astype(np.float32) < PATCH_DARK * smooth


def _plain_inside(patches: np.ndarray, inside: np.ndarray) -> bool:
    """Is the inside (uint8 mask) plain paper (writing and soft shadows aside), not a patch of patterned desk?"""
    core = cv2.erode(inside, np.ones((7, 7), np.uint8)).view(bool)
    return bool(core.any()) and float(patches[core].mean()) <= PATCH_SHARE


def _strokes(thumb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dark thin strokes of the thumbnail (bool; handwriting, not a desk's grain or a shadow), and the
    brightness around each pixel (what the strokes lie on)."""
    grey = thumb if thumb.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(thumb[..., :3]), cv2.COLOR_RGB2GRAY)
    size = max(5, round(STROKE_SPAN * max(grey.shape))) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    around = cv2.morphologyEx(grey, cv2.MORPH_CLOSE, kernel).astype(np.float32)
    return (around - grey.astype(np.float32)) > STROKE_CONTRAST * np.maximum(around, 32.0), around


def _leaves_writing_out(strokes: tuple[np.ndarray, np.ndarray], inside: np.ndarray) -> bool:
    """Would reading only inside the page (uint8 mask) lose writing? Strokes on paper as bright as the
    page's, outside it (a shadow's edge taken for the sheet's, a line through a scanned number), are
    writing the page would drop; a desk has hardly any."""
    marks, around = strokes
    h, w = marks.shape
    margin = np.ones((5, 5), np.uint8)
    within = cv2.erode(inside, margin).view(bool)
    if not within.any():
        return True
    on_paper = marks & (around >= PAPER_LIKE * float(np.median(around[within])))
    outside = (on_paper & ~cv2.dilate(inside, margin).view(bool)).view(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(outside, connectivity=8)
    beyond = 0
    for k in range(1, n):
        ys, xs = np.nonzero(labels == k) if stats[k, cv2.CC_STAT_AREA] >= 20 else ((), ())
        if len(xs) and _bar(np.column_stack([xs, ys]).astype(np.float32), max(h, w)):
            continue  # a pen or a ruler on the desk, not writing
        beyond += int(stats[k, cv2.CC_STAT_AREA])
    return beyond > max(OUTSIDE_INK * int((on_paper & within).sum()), 0.001 * h * w)


def _bar(points: np.ndarray, side: int) -> bool:
    """Is this mark a long straight bar (a pen, a ruler, a table's edge) rather than a stroke of writing?"""
    (_, _), (a, b), _ = cv2.minAreaRect(points)
    long, short = max(a, b), max(min(a, b), 1.0)
    return long >= BAR_LENGTH * side and long >= BAR_ASPECT * short


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


def _paperness(thumb: np.ndarray) -> np.ndarray:
    """Lightness less chroma (uint8, 0-255), ink strokes smoothed away."""
    if thumb.ndim == 2:
        return cv2.medianBlur(thumb, 5)
    r, g, b = (thumb[..., i] for i in range(3))
    grey = cv2.cvtColor(np.ascontiguousarray(thumb[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    chroma = cv2.subtract(cv2.max(cv2.max(r, g), b), cv2.min(cv2.min(r, g), b)).astype(np.float32)
    value = grey - CHROMA * chroma
    return cv2.medianBlur(np.clip(value, 0, 255).astype(np.uint8), 5)


def _candidates(level: np.ndarray) -> Iterator[np.ndarray]:
    """Quadrilaterals (4x2, thumbnail pixels) that may be the sheet: the outlines of the bright regions
    (a sheet on a darker or coloured desk), then, only if needed, closed outlines of edges (a white sheet
    on a pale desk, where brightness alone does not tell them apart). Largest first within each."""
    _, bright = cv2.threshold(level, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    bright = cv2.morphologyEx(bright, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    regions, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    yield from _quads(regions, level.shape)
    edges = cv2.Canny(level, 10, 30)
    outlines, _ = cv2.findContours(cv2.dilate(edges, np.ones((3, 3), np.uint8)), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    yield from _quads(outlines, level.shape)
    yield from _line_quads(edges)


def _line_quads(edges: np.ndarray) -> list[np.ndarray]:
    """Quadrilaterals made of four long straight edges, two roughly parallel pairs across each other
    (a sheet whose outline is broken: a pale desk, a hand over an edge), largest first."""
    h, w = edges.shape
    found = cv2.HoughLinesP(edges, 1, np.pi / 180, 30, minLineLength=0.2 * min(h, w), maxLineGap=8)
    if found is None:
        return []
    lines: list[tuple[float, float, float]] = []  # (angle, distance from the origin, length)
    segments = found.reshape(-1, 4).astype(np.float32)
    segments = segments[np.argsort(-np.hypot(segments[:, 2] - segments[:, 0], segments[:, 3] - segments[:, 1]))]
    for x1, y1, x2, y2 in segments:
        angle = float(np.arctan2(y2 - y1, x2 - x1)) % np.pi
        rho = float(-np.sin(angle) * x1 + np.cos(angle) * y1)
        length = float(np.hypot(x2 - x1, y2 - y1))
        if not any(_same_line(line, (angle, rho), min(h, w)) for line in lines):
            lines.append((angle, rho, length))
        if len(lines) == LINES:
            break
    # The frame's own sides stand for the sides of a sheet that runs out of the picture.
    lines += [(0.0, 0.0, 0.0), (0.0, float(h - 1), 0.0), (np.pi / 2, 0.0, 0.0), (np.pi / 2, -float(w - 1), 0.0)]
    pairs = [
        (a, b)
        for i, a in enumerate(lines)
        for b in lines[i + 1 :]
        if _angle_gap(a[0], b[0]) < np.radians(25) and abs(a[1] - b[1]) > 0.15 * min(h, w)
    ]
    quads = []
    for i, (a, b) in enumerate(pairs):
        for c, d in pairs[i + 1 :]:
            if _angle_gap(a[0], c[0]) < np.radians(50):
                continue
            corners = [_meet(_ray(p), _ray(q)) for p, q in ((a, c), (c, b), (b, d), (d, a))]
            if any(p is None for p in corners):
                continue
            quad = _ordered(np.float32(corners))
            area = cv2.contourArea(quad.reshape(-1, 1, 2))
            if MIN_AREA * h * w <= area <= MAX_AREA * h * w and _square_enough(quad):
                framed = sum(line[2] == 0.0 for line in (a, b, c, d))
                quads.append(((framed, -area), quad))
    return [q for _, q in sorted(quads, key=lambda kq: kq[0])]  # the fewest sides borrowed from the frame first


def _same_line(a: tuple[float, ...], b: tuple[float, ...], side: int) -> bool:
    return _angle_gap(a[0], b[0]) < np.radians(5) and abs(a[1] - b[1]) < 0.03 * side


def _angle_gap(a: float, b: float) -> float:
    d = abs(a - b) % np.pi
    return min(d, np.pi - d)


def _ray(line: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """A line given as (angle, distance from the origin, ...) as a point on it and its direction."""
    angle, rho = line[0], line[1]
    return np.array([-np.sin(angle), np.cos(angle)]) * rho, np.array([np.cos(angle), np.sin(angle)])


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

    The outline, simplified, has four sides; or it runs along the frame's border where the sheet
    leaves the picture: each side of the frame it runs along then stands for one side of the sheet
    (the part beyond is out of sight anyway), and the corners are where the sides' lines cross.
    """
    perimeter = cv2.arcLength(hull, True)
    for eps in (0.01, 0.02, 0.03, 0.05, 0.08):
        polygon = cv2.approxPolyDP(hull, eps * perimeter, True).reshape(-1, 2).astype(np.float32)
        if len(polygon) < 3:
            return None
        lines = _sides(polygon, shape)
        inner = [(p, d) for p, d, side in lines if side is None]
        lines = inner if len(inner) == 4 else [(p, d) for p, d, _ in lines]  # a corner out of sight
        if len(lines) == 4:
            corners = [_meet(lines[i - 1], lines[i]) for i in range(4)]
            if all(c is not None for c in corners):
                return _ordered(np.float32(corners))
        if len(lines) < 4:
            return None
    return None


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


def _stands_out(level: np.ndarray, quad: np.ndarray) -> bool:
    """Is the quadrilateral a sheet's outline? At least two of its sides lie inside the frame, and along
    each of those the inside is brighter than the outside by ``MIN_STEP``, in a sharp step (a paper
    edge) rather than a soft one (a shadow's edge across the paper)."""
    h, w = level.shape
    centre = quad.mean(axis=0)
    reach = max(3.0, 0.02 * max(h, w))
    offsets = np.arange(-reach, reach + 1, dtype=np.float32)
    t = np.linspace(0.1, 0.9, 9, dtype=np.float32)[:, None]
    sides = 0
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        normal = np.float32([-(b - a)[1], (b - a)[0]])
        normal /= max(float(np.linalg.norm(normal)), 1e-6)
        if np.dot(normal, centre - (a + b) / 2) < 0:
            normal = -normal
        points = a + t * (b - a)  # 9 x 2
        outer = points - reach * normal
        inside = (outer[:, 0] >= 0) & (outer[:, 0] < w) & (outer[:, 1] >= 0) & (outer[:, 1] < h)
        if inside.sum() < 6:
            continue  # the sheet runs out of the frame on this side
        across = points[inside, None, :] + offsets[None, :, None] * normal  # samples x offsets x 2
        xs = np.clip(np.rint(across[..., 0]), 0, w - 1).astype(np.intp)
        ys = np.clip(np.rint(across[..., 1]), 0, h - 1).astype(np.intp)
        profile = level[ys, xs].astype(np.float32)
        step = profile[:, -1] - profile[:, 0]
        steepest = (profile[:, 4:] - profile[:, :-4]).max(axis=1)
        steps = step >= MIN_STEP
        sharp = steps & (steepest >= SHARP * step)
        if steps.sum() < EDGE_SHARE * len(step) or sharp.sum() < EDGE_SHARE * steps.sum():
            return False  # a side inside the frame that is no paper edge
        sides += 1
    return sides >= 2
