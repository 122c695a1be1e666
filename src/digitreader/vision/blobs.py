"""Ink pixels -> digit-sized groups of connected components, in reading order.

Works on the boolean ink mask at the working resolution: ruled lines are removed,
specks dropped, the separate strokes of one digit (a 5's bar, a broken pencil line)
merged, and the groups sorted into lines (top to bottom) and left to right.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import cv2
import numpy as np

MIN_SIDE = 3  # px at working resolution; anything smaller is noise
SPECK = 0.12  # a component smaller than this fraction of the tallest digit is a speck
FRAGMENT = 0.45  # an isolated group shorter than this fraction of the line height is not a digit
RULE_SPAN = 0.5  # a ruled line is at least this fraction of the image's shorter side long
BOX_WALLS = 3  # vertical lines from one rule to the next, in a row, are the walls of a form's boxes
SMALL = 0.4  # a group less tall than this x the main line's digits is not a digit
MAX_BLOBS = 300  # components kept (the largest) when noise breaks into thousands
# Two components are parts of one digit (stacked, or one a fragment) when their columns overlap by this x the
# narrower one's width (a 5's bar written off to the right) ...
SAME_OVERLAP = 0.15
SAME_GAP = 0.45  # ... that lie at most this x the digit height apart, one above the other ...
SAME_WIDTH = 1.5  # ... and that are together at most this x as wide as tall (a broad 0 in two strokes)
PART_HEIGHT, PART_AREA = 0.8, 0.35  # a fragment: less tall than this x the digit height, or this x the other's area
LONE_MARK = 0.7  # a line that is one group less tall than this x the digits of the tallest line is a stray mark
# A 5's bar written apart (attach_bars): this x as wide as tall, at most this x its digit's height tall, this x
# the height right of the digit, and together with it at most this x as wide as tall.
BAR_FLAT, BAR_HEIGHT, BAR_GAP, BAR_WIDTH = 1.5, 0.35, 0.35, 1.8
ISOLATED = 1.5  # a group on the border further than this x the digit height from every digit is not a digit
SLIVER = 0.8  # a group flush along the border and shorter than this x the digit height is table or shadow
DOT = 0.35  # a component smaller than this x the digit height each way is a dot: two do not make a digit
FLUSH = 0.8  # a component lying along the border for this fraction of its side is the sheet's edge, a table ...
WEDGE = 0.6  # ... when it is a wedge (it fills at most this fraction of its box), spans the side, or continues


@dataclass
class Blob:
    """A group of connected components believed to be one digit (or touching digits)."""

    x: int
    y: int
    w: int
    h: int
    area: int
    labels: list[int] = field(default_factory=list)
    line: int = 0
    flush: bool = False  # lies along the image's border, as the sheet's edge or a table does (see along_border)
    sheet_edge: bool = False  # ... and surely is the sheet's edge, not a 1 cut by a tight crop

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)

    def union(self, other: Blob) -> Blob:
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1 = max(self.x + self.w, other.x + other.w)
        y1 = max(self.y + self.h, other.y + other.h)
        return Blob(
            x0,
            y0,
            x1 - x0,
            y1 - y0,
            self.area + other.area,
            self.labels + other.labels,
            flush=self.flush or other.flush,
            sheet_edge=self.sheet_edge or other.sheet_edge,
        )


def components(mask: np.ndarray) -> tuple[np.ndarray, list[Blob]]:
    """Label the mask (ruled lines removed) and return the labels and one Blob per component."""
    m = mask.view(np.uint8) if mask.dtype == bool else mask
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n > 1 and _has_rules(stats, m.shape):
        m = remove_rules(m)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    flush, sheet = along_border(labels, stats)
    blobs = [
        Blob(int(x), int(y), int(w), int(h), int(a), [i], flush=bool(flush[i]), sheet_edge=bool(sheet[i]))
        for i, (x, y, w, h, a) in enumerate(stats[1:], start=1)
        if max(w, h) >= MIN_SIDE and a >= MIN_SIDE
    ]
    if len(blobs) > MAX_BLOBS:  # noise, not writing: keep the largest
        blobs = sorted(blobs, key=lambda b: -b.area)[:MAX_BLOBS]
    return labels, _drop_specks(blobs)


def along_border(labels: np.ndarray, stats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per label (as ``cv2.connectedComponentsWithStats`` gives them): (flush, sheet edge).

    Flush: the component meets the image's border over ``FLUSH`` of its side, as the sheet's
    edge against a table, or a table's band, does; a digit near the border meets it over a
    stroke's width. A straight 1 cut by a tight crop may lie along it too, so a flush group is
    only dropped when it is also longer than the digits (``drop_edges``) or surely the sheet's
    edge: it runs along half the frame, or the border shows more ink beyond it (the rest of the
    edge, broken by noise), or it is a wedge (the table seen past a tilted sheet); a 1 fills its box.
    """
    n = len(stats)
    flush, sheet = np.zeros(n, bool), np.zeros(n, bool)
    if n <= 1:
        return flush, sheet
    w, h, area = stats[:, 2], stats[:, 3], stats[:, 4]
    wedge = area <= WEDGE * w * h
    for side, extent in ((labels[:, 0], h), (labels[:, -1], h), (labels[0], w), (labels[-1], w)):
        contact = np.bincount(side, minlength=n)
        beyond = int(np.count_nonzero(side)) - contact
        lies = contact >= FLUSH * extent
        flush |= lies
        sheet |= lies & ((contact >= 0.5 * side.size) | (beyond >= 0.5 * contact) | wedge)
    flush[0] = sheet[0] = False
    return flush, sheet


def digit_like(blobs: list[Blob], sure: bool = False) -> list[Blob]:
    """The blobs that may be digits, to measure sizes on: all but those flush with the border
    (with ``sure``: all but those surely the sheet's edge), if any are left."""
    inner = [b for b in blobs if not (b.sheet_edge if sure else b.flush)]
    return inner or blobs


def _drop_specks(blobs: list[Blob]) -> list[Blob]:
    if not blobs:
        return blobs
    reference = digit_like(blobs)
    big = max(reference, key=lambda b: b.area)
    tall = max(b.h for b in reference if b.area >= 0.2 * big.area)
    return [b for b in blobs if max(b.w, b.h) >= SPECK * tall or b.area >= 0.05 * big.area]


def _has_rules(stats: np.ndarray, shape: tuple[int, int]) -> bool:
    """Cheap test: does any component span most of the image, as a ruled line does?"""
    h, w = shape
    ws, hs = stats[1:, 2], stats[1:, 3]
    return bool(((ws >= 0.75 * w) | ((hs >= 0.75 * h) & (ws <= 0.25 * w))).any())


def remove_rules(mask: np.ndarray) -> np.ndarray:
    """Remove ruled lines (notebook rules, squares, a margin) and mend the strokes they crossed.

    A rule is a thin straight line (within 20 degrees of the axes) at least ``RULE_SPAN`` of
    the image long, with a parallel partner, or one that crosses almost the whole image.
    A long straight stroke of a digit (a big 1) has neither.
    """
    m = mask.view(np.uint8) if mask.dtype == bool else mask.astype(np.uint8)
    h, w = m.shape
    shortest = int(RULE_SPAN * min(h, w))
    found = cv2.HoughLinesP(
        m, 1, np.pi / 360, threshold=max(10, shortest // 2), minLineLength=shortest, maxLineGap=max(3, min(h, w) // 50)
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
        if seg[6] >= 0.9
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
    rows, centres, runs = [], [], []
    for k, x in enumerate(guess):
        lo, hi = max(0, int(x - reach)), min(w, int(x + reach) + 1)
        ink = np.flatnonzero(m[y0 + k, lo:hi]) if y0 + k < h and lo < hi else np.empty(0, int)
        if ink.size:
            rows.append(k)
            centres.append(lo + float(ink.mean()))
            runs.append(ink.size)
    if len(rows) < 0.9 * len(guess):  # a wall is unbroken from rule to rule
        return None
    runs_arr = np.asarray(runs)
    clean = runs_arr <= 1.5 * np.median(runs_arr)  # rows where a digit's stroke meets the wall do not count
    slope, x0 = np.polyfit(np.asarray(rows)[clean], np.asarray(centres)[clean], 1)
    return float(slope), float(x0), int(np.percentile(runs_arr[clean], 90)) + 2


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


def merge_strokes(blobs: list[Blob]) -> list[Blob]:
    """Merge components that belong to one digit: stacked pieces, a bar above its body, broken strokes."""
    if len(blobs) < 2:
        return blobs
    height = typical_height(blobs)
    groups = sorted(blobs, key=lambda b: b.x)
    merged = True
    while merged:  # until no pair merges; only neighbours in x are compared (sweep)
        merged = False
        out: list[Blob] = []
        for b in groups:
            into = None
            for k in range(len(out) - 1, -1, -1):
                a = out[k]
                if a.x + a.w <= b.x and k < len(out) - 8:
                    break  # far to the left (up to 8 groups may overlap in x)
                if _same_digit(a, b, height):
                    into = k
                    break
            if into is None:
                out.append(b)
            else:
                out[into] = out[into].union(b)
                merged = True
        groups = sorted(out, key=lambda b: b.x)
    return groups


def _same_digit(a: Blob, b: Blob, height: float) -> bool:
    """Two components of one digit: overlapping columns, stacked or one a fragment, together digit-sized."""
    overlap_x = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    if overlap_x <= 0 or a.flush or b.flush:  # the sheet's edge is no part of a digit
        return False
    overlap_y = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    gap_y = max(0, -overlap_y)
    u = a.union(b)
    if u.h > 1.35 * height or gap_y > SAME_GAP * height:
        return False
    if max(a.w, a.h, b.w, b.h) < DOT * height:
        return False  # two dots (a colon, dust) are not the parts of one digit
    small = min(a.h, b.h)
    stacked = overlap_y < 0.3 * small
    fragment = small < PART_HEIGHT * height or min(a.area, b.area) < PART_AREA * max(a.area, b.area)
    narrow = u.w <= SAME_WIDTH * max(u.h, 0.6 * height)
    return overlap_x >= SAME_OVERLAP * min(a.w, b.w) and (stacked or fragment) and narrow


def typical_height(blobs: list[Blob]) -> float:
    """The height of a digit: the median height of the taller components (not those flush with the border)."""
    blobs = digit_like(blobs)
    tallest = max(b.h for b in blobs)
    return float(np.median([b.h for b in blobs if b.h >= 0.5 * tallest]))


def drop_edges(groups: list[Blob], shape: tuple[int, int]) -> list[Blob]:
    """Drop what touches the image's border and is not the size of a digit of this image.

    The edge of the sheet against a table, or a shadow's edge, shows as a long stroke along
    the border, or lies flush along it; a digit is about as tall as the other digits. A short
    sliver of the table seen past the sheet's edge lies flush along the border too, but is
    shorter than a digit, and a piece of table far from the digits is dropped however near
    other pieces of it. A lone group is always kept.
    """
    if len(groups) < 2:
        return groups

    def edge(g: Blob) -> bool:
        return touches_border(g, shape)

    # The digits' height, from the groups clear of the border when there are any (edges are no measure),
    # and from the taller of them (the dashes of a ruled line are no measure either).
    inner = [g for g in groups if not edge(g)]
    typical = typical_height(inner or groups)

    def isolated(g: Blob) -> bool:  # a mark on the border far from the digits (other marks on it do not count)
        return all(gap(g, o) > ISOLATED * typical for o in (inner or groups) if o is not g)

    def out_of_size(g: Blob) -> bool:  # longer than a digit, or a sliver along the border shorter than one
        if g.flush and not SLIVER * typical <= max(g.w, g.h) <= 1.1 * typical:
            return True
        return g.h > 1.5 * typical or g.w > 3 * typical

    return [g for g in groups if not (edge(g) and (g.sheet_edge or out_of_size(g) or isolated(g)))]


def touches_border(b: Blob, shape: tuple[int, int]) -> bool:
    """Does the box reach the edge of an image of this (height, width)?"""
    return b.x == 0 or b.y == 0 or b.x + b.w >= shape[1] or b.y + b.h >= shape[0]


def gap(a: Blob, b: Blob) -> float:
    """The distance between two boxes (0 when they overlap), along the axis where they are furthest apart."""
    dx = max(0, max(a.x, b.x) - min(a.x + a.w, b.x + b.w))
    dy = max(0, max(a.y, b.y) - min(a.y + a.h, b.y + b.h))
    return float(max(dx, dy))


def reading_order(groups: list[Blob]) -> list[Blob]:
    """Assign text lines (top to bottom) and sort left to right within each; drop stray fragments."""
    if not groups:
        return groups
    lines: list[list[Blob]] = []
    # Digit-sized groups found the lines; small marks (a 5's detached bar, a dot) join them after,
    # so that a mark above a digit cannot start a line of its own that then takes in the digits.
    tall = SMALL * typical_height(groups)
    ranked = sorted(groups, key=lambda b: (b.h < tall, b.y + b.h / 2))
    for g in ranked:
        for line in lines:
            top = min(b.y for b in line)
            bottom = max(b.y + b.h for b in line)
            centre = g.y + g.h / 2
            overlap = min(bottom, g.y + g.h) - max(top, g.y)
            if top <= centre <= bottom or overlap >= 0.5 * min(g.h, bottom - top):
                line.append(g)
                break
        else:
            lines.append([g])
    ordered: list[Blob] = []
    lines.sort(key=lambda ln: float(np.mean([b.y + b.h / 2 for b in ln])))
    # Digits are about as tall as the digits of the main line: much smaller marks (texture of
    # a table, dust, the dots of a shadow's edge) are not digits, on any line.
    main_height = max(float(np.median([b.h for b in ln])) for ln in lines)
    marks = [b for ln in lines for b in ln if b.h < SMALL * main_height]
    lines = [[b for b in ln if b.h >= SMALL * main_height] for ln in lines]
    lines = [ln for ln in lines if ln]
    for k, line in enumerate(lines):
        height = float(np.median([b.h for b in line]))
        tallest = max(b.h for b in line)
        for g in sorted(line, key=lambda b: b.x):
            if g.h < FRAGMENT * max(height, 0.6 * tallest) and len(line) > 1:
                marks.append(g)
                continue
            g.line = k
            ordered.append(g)
    return _renumber(attach_bars(ordered, marks))


def attach_bars(groups: list[Blob], marks: list[Blob]) -> list[Blob]:
    """Give a digit back the bar it was written with, off to its upper right (an MNIST 5's usual bar).

    A short flat mark is not a digit, but when it starts at a digit's right side, near its top,
    and is closer to that digit than to the next one, it is the bar of a 5 written apart from
    its body: without it the body reads as a 1 or a 3. Any other mark stays dropped.
    """
    if not groups or not marks:
        return groups
    out = list(groups)
    line_height = {k: float(np.median([g.h for g in groups if g.line == k])) for k in {g.line for g in groups}}
    for m in marks:
        if m.flush or m.w < BAR_FLAT * m.h:
            continue
        fits = [(m.x - (g.x + g.w), k) for k, g in enumerate(out) if _bar_of(m, g, out, line_height[g.line])]
        if fits:
            k = min(fits)[1]
            line = out[k].line
            out[k] = out[k].union(m)
            out[k].line = line
    return out


def _bar_of(m: Blob, g: Blob, groups: list[Blob], line_height: float) -> bool:
    """Is the flat mark ``m`` placed as the bar of digit ``g``: from its right half, near its top?"""
    height = max(g.h, line_height)
    if m.h > BAR_HEIGHT * height or m.w > height or m.x < g.x + 0.3 * g.w:
        return False
    gap_x = m.x - (g.x + g.w)
    if gap_x > BAR_GAP * height or m.y + m.h / 2 > g.y + 0.35 * g.h or m.y + m.h < g.y - SAME_GAP * height:
        return False
    after = [o for o in groups if o is not g and o.line == g.line and o.x >= g.x + g.w]
    if any(o.x - (m.x + m.w) < max(gap_x, 0) for o in after):
        return False  # nearer the next digit
    u = g.union(m)
    return u.w <= BAR_WIDTH * max(u.h, 0.6 * height) and u.h <= 1.35 * height


def drop_stray_lines(groups: list[Blob], shape: tuple[int, int]) -> list[Blob]:
    """Drop a line that is one group touching the image's border, or one small mark, when other lines hold digits.

    In a photo the sliver of table between the sheet's edge and the frame, or a shadow's
    edge, shows as one stroke against the border, alone beside the written lines; a nick in
    the sheet's edge or a speck of dirt shows as one mark, much smaller than the digits
    (``LONE_MARK``), on a line of its own.
    """
    lines: dict[int, list[Blob]] = {}
    for g in groups:
        lines.setdefault(g.line, []).append(g)
    if len(lines) < 2:
        return groups

    def on_border(line: list[Blob]) -> bool:
        return len(line) == 1 and touches_border(line[0], shape)

    inner = [line for line in lines.values() if not on_border(line)]
    digits = max((float(np.median([b.h for b in line])) for line in inner), default=0.0)

    def stray(line: list[Blob]) -> bool:
        return on_border(line) or (len(line) == 1 and len(inner) > 1 and line[0].h < LONE_MARK * digits)

    kept = [g for g in groups if not stray(lines[g.line])]
    return _renumber(kept) if kept else groups


def _renumber(groups: list[Blob]) -> list[Blob]:
    seen: dict[int, int] = {}
    for g in groups:
        g.line = seen.setdefault(g.line, len(seen))
    return groups
