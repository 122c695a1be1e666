"""Ink pixels -> digit-sized groups of connected components, in reading order.

Works on the boolean ink mask at the working resolution: ruled lines are removed,
specks dropped, the separate strokes of one digit (a 5's bar, a broken pencil line)
merged, what is no writing left out (a stain, an ink blot), and the groups
sorted into lines (top to bottom) and left to right.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from digitreader.vision.rules import box_outlines, remove_rules, rule_search

MIN_SIDE = 3  # px at working resolution; anything smaller is noise
SPECK = 0.12  # a component smaller than this fraction of the tallest digit is a speck
FRAGMENT = 0.45  # an isolated group shorter than this fraction of the line height is not a digit
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
# A blot (a stain, a smudge, the shadow of a finger): a piece that fills this share of its box, is at most this x
# as long as wide, has no loop (``BLOT_LOOP``), and whose strokes are at least this x as thick as the piece is wide.
BLOT_FILL, BLOT_ASPECT, BLOT_THICK = 0.6, 2.0, 0.5
BLOT_LOOP = 0.005  # a loop is a hole of at least this share of the piece (smaller ones are the grain of its edge)
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
    """Label the mask (ruled lines and printed boxes removed) and return the labels and one Blob per component."""
    m = mask.view(np.uint8) if mask.dtype == bool else mask
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    search = rule_search(stats, m.shape) if n > 1 else None
    if search is not None:
        m = remove_rules(m, *search)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    boxes = box_outlines(labels, stats) if n > 1 else None
    if boxes is not None:
        m = m & (1 - boxes)
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

    def out_of_size(g: Blob) -> bool:
        if g.h > 1.5 * typical or g.w > 3 * typical:
            return True  # longer than any digit
        # Lying flush along the border: the sheet's edge or a band of table, unless as long as a digit (a 1 cut
        # by a tight crop); a sliver shorter than a digit is a piece of table seen past the sheet's edge.
        return g.flush and not SLIVER * typical <= max(g.w, g.h) <= 1.1 * typical

    return [g for g in groups if not (edge(g) and (g.sheet_edge or out_of_size(g) or isolated(g)))]


def drop_blots(groups: list[Blob], labels: np.ndarray) -> list[Blob]:
    """Leave out the blots (``_blot``) that lie apart from everything else: a digit is written in strokes.

    A stain or a smudge on the sheet can be the largest piece of ink, and no one writes a
    digit as a solid round patch; a broad marker's 0 or 8 keeps a loop, however small. A blot
    that touches the frame, or lies within another group's box, stays: a bold digit cropped
    tight may fill its box, and the paper between the strokes of one read with the wrong
    polarity is no stain.
    """
    if len(groups) < 2:
        return groups
    blots = [g for g in groups if not touches_border(g, labels.shape) and _blot(labels, g)]
    strokes = [g for g in groups if g not in blots]
    apart = [b for b in blots if all(gap(b, g) > 0 for g in strokes)]
    return [g for g in groups if g not in apart] if strokes else groups


def _blot(labels: np.ndarray, g: Blob) -> bool:
    """Is group ``g`` a solid, roundish patch without a loop, as thick as it is wide?"""
    if g.area < BLOT_FILL * g.w * g.h or max(g.w, g.h) > BLOT_ASPECT * min(g.w, g.h):
        return False
    x, y, w, h = g.box
    own = np.pad(np.isin(labels[y : y + h, x : x + w], g.labels).astype(np.uint8), 1)
    _, _, stats, _ = cv2.connectedComponentsWithStats(1 - own, connectivity=4)
    if (stats[2:, cv2.CC_STAT_AREA] >= max(9, BLOT_LOOP * g.area)).any():  # a loop (label 1 is the outside)
        return False
    thickness = 2.0 * float(cv2.distanceTransform(own, cv2.DIST_L2, 3).max())
    return thickness >= BLOT_THICK * min(w, h)


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
