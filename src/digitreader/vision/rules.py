"""Ruled lines in the ink mask: notebook rules, squares, a margin, the walls of a form's boxes.

They are found as thin straight lines (``cv2.HoughLinesP``) near the axes, removed, and the
strokes of the digits that crossed them mended, before the ink is split into digits.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np

RULE_SPAN = 0.5  # a ruled line is at least this fraction of the image's shorter side long
PIECE_RATIO = 4  # a piece of a rule is at least 4x longer than thick ...
RULE_PIECES = 2.0  # ... and such pieces, together as long as two lines across the image, are worth a look
WHOLE_GAP = 50  # gaps up to 1/50 of the image's shorter side are bridged along whole lines (noise) ...
BROKEN_GAP = 12  # ... up to 1/12 along broken lines ...
BROKEN_SPAN = 0.35  # ... and pieces this fraction of it long are enough (with a parallel partner)
PIECE_GAP = 0.1  # pieces of one line with gaps up to this fraction of the image's side between them are one line
OUTLINE_FILL = 0.15  # a component across most of the image that fills at most this share of its box is an outline
BOX_WALLS = 3  # vertical lines from one rule to the next, in a row, are the walls of a form's boxes
BOX_FILL = 0.5  # ink covers at most this fraction of the inside of a printed box (a digit in it)
BOX_SIDE = 12  # px: smaller quadrilaterals are left alone
BOX_HOLDS = 0.02  # ... and ink covers at least this fraction of it (something is written in it)


def rule_search(stats: np.ndarray, shape: tuple[int, int]) -> tuple[int, float] | None:
    """Cheap test for ruled lines: None when there are surely none, else how to look for them
    (``remove_rules``' ``gap`` and ``span``).

    A component that spans most of the image is a whole line: gaps are short (noise). Flat
    (or tall) thin pieces that add up to two lines across the image are broken lines: a
    shadow's edge or a faint print leaves wide gaps in them, and pieces shorter than a line.
    """
    h, w = shape
    ws, hs, area = stats[1:, 2], stats[1:, 3], stats[1:, 4]
    outline = ((ws >= 0.75 * w) | (hs >= 0.75 * h)) & (area <= OUTLINE_FILL * ws * hs)  # a frame's corner
    if ((ws >= 0.75 * w) | ((hs >= 0.75 * h) & (ws <= 0.25 * w)) | outline).any():
        return WHOLE_GAP, RULE_SPAN
    flat, tall = ws >= PIECE_RATIO * hs, hs >= PIECE_RATIO * ws
    if ws[flat].sum() >= RULE_PIECES * w or hs[tall].sum() >= RULE_PIECES * h:
        return BROKEN_GAP, BROKEN_SPAN
    return None


def remove_rules(mask: np.ndarray, gap: int = WHOLE_GAP, span: float = RULE_SPAN) -> np.ndarray:
    """Remove ruled lines (notebook rules, squares, a margin) and mend the strokes they crossed.

    A rule is a thin straight line (within 20 degrees of the axes) at least ``span`` of
    the image's shorter side long, with a parallel partner, or one that crosses almost the whole image.
    A long straight stroke of a digit (a big 1) has neither. Gaps along a line up to 1/``gap``
    of the shorter side are bridged; ``rule_search`` says which ``gap`` and ``span`` to use.
    """
    m = mask.view(np.uint8) if mask.dtype == bool else mask.astype(np.uint8)
    h, w = m.shape
    shortest = int(span * min(h, w))
    bridge = max(3, min(h, w) // gap)
    found = cv2.HoughLinesP(
        m, 1, np.pi / 360, threshold=max(10, shortest // 2), minLineLength=shortest, maxLineGap=bridge
    )
    if found is None:
        return m
    segments = []
    for x0, y0, x1, y1 in found.reshape(-1, 4)[:200]:
        angle = np.degrees(np.arctan2(y1 - y0, x1 - x0)) % 180
        horizontal = min(angle, 180 - angle) <= 20
        if horizontal or abs(angle - 90) <= 20:
            length = float(np.hypot(x1 - x0, y1 - y0))
            thick = _thickness(m, (x0, y0, x1, y1), horizontal)
            if thick <= max(5, 0.04 * length):  # rules are thin
                segments.append((x0, y0, x1, y1, angle, horizontal, length / (w if horizontal else h), thick))
    apart = max(8, 0.04 * min(h, w))  # a partner is another line, not the same one found twice
    rules = [
        seg
        for seg in segments
        if _extent(seg, segments, apart, w if seg[5] else h) >= 0.9
        or any(o[5] == seg[5] and _turn(o[4], seg[4]) < 3 and _distance(o, seg) >= apart for o in segments)
    ]
    rules += _box_walls(m, [r for r in rules if r[5]], apart)
    out = m.copy()
    for horizontal in (True, False):
        mine = [r for r in rules if r[5] == horizontal]
        if not mine:
            continue
        band = np.zeros_like(m)
        for x0, y0, x1, y1, *_, thick in mine:
            cv2.line(band, (int(x0), int(y0)), (int(x1), int(y1)), 1, thick)
        band &= m
        out &= 1 - band
        # Mend: a stroke that crosses the rule has ink on both sides of it: close the gap there.
        across = int(2 * cv2.distanceTransform(band, cv2.DIST_L2, 3).max()) + 3
        k = np.ones((across, 1) if horizontal else (1, across), np.uint8)
        out |= band & cv2.morphologyEx(out, cv2.MORPH_CLOSE, k)
    return out


def _extent(seg: tuple, segments: list[tuple], apart: float, side: int) -> float:
    """The share of the image's side that ``seg``'s line covers: with the segments on the same line (Hough finds
    a long line in pieces where a digit crosses it or it fades), their gaps up to ``PIECE_GAP`` of the side bridged."""
    axis = 0 if seg[5] else 1  # x along a horizontal line, y along a vertical one
    spans = sorted(
        (min(o[axis], o[axis + 2]), max(o[axis], o[axis + 2]))
        for o in segments
        if o[5] == seg[5] and _turn(o[4], seg[4]) < 3 and _distance(seg, o) < apart
    )
    best, (lo, hi) = 0.0, spans[0]
    for a, b in spans[1:]:
        if a - hi > PIECE_GAP * side:
            best, lo = max(best, hi - lo), a
        hi = max(hi, b)
    return max(best, hi - lo) / side


def _turn(a: float, b: float) -> float:
    """The angle between two lines given by their directions in degrees (0-180): 179.5 and 0.4 are 0.9 apart."""
    d = abs(a - b) % 180
    return min(d, 180 - d)


def _box_walls(m: np.ndarray, horizontal: list[tuple], apart: float) -> list[tuple]:
    """The walls of a row of boxes (a form's boxes, one per digit) between two horizontal rules.

    They are too short to be rules themselves, but each is a straight line as thin as the
    rules, within 10 degrees of vertical, that runs from one rule to the next, and there are
    at least ``BOX_WALLS`` of them: a written 1 between two rules is rarely straight and as
    tall as the gap, and never in a row of them.
    """
    printed = max(5.0, 1.25 * float(np.median([r[7] for r in horizontal]))) if horizontal else 0.0  # as thin as rules
    rows: list[tuple] = []  # one segment per rule (the longest of those found on it), top to bottom
    for r in sorted(horizontal, key=lambda r: (r[1] + r[3]) / 2):
        if rows and (r[1] + r[3]) / 2 - (rows[-1][1] + rows[-1][3]) / 2 < apart:
            rows[-1] = max(rows[-1], r, key=lambda q: abs(q[2] - q[0]))
        else:
            rows.append(r)
    walls: list[tuple] = []
    for upper, lower in itertools.pairwise(rows):
        y0, y1 = int(max(upper[1], upper[3]) + apart / 2), int(min(lower[1], lower[3]) - apart / 2)
        gap = y1 - y0  # the band between the two rules, clear of both even where they slope
        if gap < 10:
            continue
        band = np.ascontiguousarray(m[y0:y1])
        lines = [
            found.reshape(-1, 2)
            for lo, hi in ((0.0, np.radians(10)), (np.radians(170), np.pi))
            if (found := cv2.HoughLines(band, 1, np.pi / 360, threshold=int(0.8 * gap), min_theta=lo, max_theta=hi))
            is not None
        ]
        mine: list[tuple] = []
        for rho, theta in np.concatenate(lines) if lines else []:
            fit = _fit_wall(m, y0, (rho - np.arange(gap) * np.sin(theta)) / np.cos(theta), apart)
            if fit is None:
                continue
            slope, x0, thick = fit  # the wall's column at row y is x0 + slope * (y - y0)
            x_mid = x0 + slope * gap / 2
            # it runs from one rule to the other, where they cross its column
            top, bottom = _y_at(upper, x_mid) - 2, _y_at(lower, x_mid) + 2
            xa, xb = (x0 + slope * (y - y0) for y in (top, bottom))
            seg = (round(xa), round(top), round(xb), round(bottom))
            inside = min(seg[0], seg[2]) >= 0 and max(seg[0], seg[2]) < m.shape[1]
            if inside and thick <= printed and all(abs(x_mid - (o[0] + o[2]) / 2) >= apart for o in mine):
                mine.append((*seg, float(np.degrees(np.arctan2(1.0, slope))), False, gap / m.shape[0], thick))
        if len(mine) >= BOX_WALLS:
            walls += mine
    return walls


def _fit_wall(m: np.ndarray, y0: int, guess: np.ndarray, reach: float) -> tuple[float, float, int] | None:
    """Fit a near-vertical line to the ink within ``reach`` of the columns ``guess`` (one per row from ``y0``).

    Returns (slope, column at ``y0``, thickness to draw it with), or None when most rows have no ink there.
    """
    h, w = m.shape
    k = np.arange(min(len(guess), max(0, h - y0)))  # the rows inside the mask
    lo = np.clip((guess[: k.size] - reach).astype(int), 0, w)
    hi = np.clip((guess[: k.size] + reach).astype(int) + 1, 0, w)
    cols = lo[:, None] + np.arange(int(2 * reach) + 2)[None, :]  # each row's window, [lo, hi)
    ink = (cols < hi[:, None]) & (m[(y0 + k)[:, None], np.minimum(cols, w - 1)] > 0)
    runs = ink.sum(axis=1)
    if np.count_nonzero(runs) < 0.9 * len(guess):  # a wall is unbroken from rule to rule
        return None
    rows, runs = k[runs > 0], runs[runs > 0]
    centres = lo[rows] + (ink[rows] * np.arange(cols.shape[1])).sum(axis=1) / runs
    clean = runs <= 1.5 * np.median(runs)  # rows where a digit's stroke meets the wall do not count
    slope, x0 = np.polyfit(rows[clean], centres[clean], 1)
    return float(slope), float(x0), int(np.percentile(runs[clean], 90)) + 2


def _y_at(seg: tuple, x: float) -> float:
    """The row at column ``x`` of the (near horizontal) line through segment ``seg``."""
    x0, y0, x1, y1 = (float(v) for v in seg[:4])
    return y0 if x1 == x0 else y0 + (x - x0) * (y1 - y0) / (x1 - x0)


def _distance(a: tuple, b: tuple) -> float:
    """Distance from segment b's midpoint to the line through segment a."""
    x0, y0, x1, y1 = (float(v) for v in a[:4])
    mx, my = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    n = np.hypot(x1 - x0, y1 - y0) or 1.0
    return abs((x1 - x0) * (y0 - my) - (x0 - mx) * (y1 - y0)) / n


def _thickness(m: np.ndarray, seg: tuple, horizontal: bool) -> int:
    """The rule's thickness: a low percentile of the ink runs across it at points along it, plus a margin."""
    x0, y0, x1, y1 = seg
    runs = []
    for t in np.linspace(0.05, 0.95, 25):
        x, y = round(x0 + t * (x1 - x0)), round(y0 + t * (y1 - y0))
        line = m[:, x] if horizontal else m[y, :]
        c = y if horizontal else x
        if not line[c]:
            continue
        lo = hi = c
        while lo > 0 and line[lo - 1] and c - lo < 30:
            lo -= 1
        while hi < line.size - 1 and line[hi + 1] and hi - c < 30:
            hi += 1
        runs.append(hi - lo + 1)
    return int(np.percentile(runs, 30)) + 2 if runs else 3  # low: crossings with other lines are long


def box_outlines(labels: np.ndarray, stats: np.ndarray) -> np.ndarray | None:
    """The pixels of printed boxes drawn around digits one by one (a form's separate boxes), or None.

    A box is a component whose outer contour is a convex quadrilateral with straight sides,
    traced all round by a line, with something written inside but mostly paper (``BOX_HOLDS``,
    ``BOX_FILL``); a handwritten 0 is neither so straight nor filled. A digit touching its box
    is kept: only the box's line is taken away.
    """
    found = None
    for i in range(1, len(stats)):
        x, y, w, h, area = (int(v) for v in stats[i])
        if min(w, h) < BOX_SIDE or area > 0.6 * w * h:
            continue  # too small, or a blot
        comp = np.pad((labels[y : y + h, x : x + w] == i).astype(np.uint8), 1)
        contours, _ = cv2.findContours(comp, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        outer = max(contours, key=cv2.contourArea)
        poly = cv2.approxPolyDP(outer, 0.02 * cv2.arcLength(outer, True), True)
        if len(poly) != 4 or not cv2.isContourConvex(poly):
            continue
        off = [abs(cv2.pointPolygonTest(poly, (float(px), float(py)), True)) for px, py in outer.reshape(-1, 2)]
        if np.percentile(off, 90) > 2.0 + 0.01 * max(w, h):
            continue  # sides not straight: drawn by hand (a square 0), not printed
        filled = np.zeros_like(comp)  # everything within the outer contour itself (the polygon only approximates it)
        cv2.drawContours(filled, [outer], -1, 1, cv2.FILLED)
        width = _line_width(comp, filled)
        if width is None:
            continue  # not traced all round
        inside = cv2.erode(filled, np.ones((2 * width + 5, 2 * width + 5), np.uint8))
        room = max(1, np.count_nonzero(inside))
        if np.count_nonzero(comp & inside) > BOX_FILL * room:
            continue  # mostly ink inside: a blot or a filled shape, not a box around a digit
        if np.count_nonzero(np.pad(labels[y : y + h, x : x + w] > 0, 1) & inside.astype(bool)) < BOX_HOLDS * room:
            continue  # nothing written in it: an empty box, or a square drawn as a 0, stays as it is
        ring = comp & (filled - cv2.erode(filled, np.ones((2 * width + 3, 2 * width + 3), np.uint8)))
        if found is None:
            found = np.zeros(labels.shape, np.uint8)
        found[y : y + h, x : x + w] |= ring[1:-1, 1:-1]
    return found


def _line_width(comp: np.ndarray, filled: np.ndarray) -> int | None:
    """How far in from its outer edge a box's line reaches (px), or None when the line is not closed all round.

    The outline of the filled outer contour is followed inwards a pixel at a time until less
    than half of it is ink: a digit touching the box covers only a little of it.
    """
    k = np.ones((3, 3), np.uint8)
    region = filled
    for depth in range(1, max(2, min(filled.shape) // 4)):
        inner = cv2.erode(region, k)
        edge = (region - inner).astype(bool)
        if not edge.any():
            return None
        covered = np.count_nonzero(comp[edge]) / np.count_nonzero(edge)
        if depth == 1 and covered < 0.9:
            return None
        if covered < 0.5:
            return depth
        region = inner
    return None
