"""Ink pixels -> digit-sized groups of connected components, in reading order.

Works on the boolean ink mask at the working resolution: ruled lines are removed,
specks dropped, the separate strokes of one digit (a 5's bar, a broken pencil line)
merged, and the groups sorted into lines (top to bottom) and left to right.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

MIN_SIDE = 3  # px at working resolution; anything smaller is noise
SPECK = 0.12  # a component smaller than this fraction of the tallest digit is a speck
FRAGMENT = 0.45  # an isolated group shorter than this fraction of the line height is not a digit
RULE_LENGTH = 1.8  # a straight run this many digit heights long is a ruled line, not a stroke
MAX_BLOBS = 300  # components kept (the largest) when noise breaks into thousands


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

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)

    def union(self, other: Blob) -> Blob:
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1 = max(self.x + self.w, other.x + other.w)
        y1 = max(self.y + self.h, other.y + other.h)
        return Blob(x0, y0, x1 - x0, y1 - y0, self.area + other.area, self.labels + other.labels)


def components(mask: np.ndarray) -> tuple[np.ndarray, list[Blob]]:
    """Label the mask (ruled lines removed) and return the labels and one Blob per component."""
    m = mask.view(np.uint8) if mask.dtype == bool else mask
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n > 1 and _has_rules(stats, m.shape):
        m = remove_rules(m, stats)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    blobs = [
        Blob(int(x), int(y), int(w), int(h), int(a), [i])
        for i, (x, y, w, h, a) in enumerate(stats[1:], start=1)
        if max(w, h) >= MIN_SIDE and a >= MIN_SIDE
    ]
    if len(blobs) > MAX_BLOBS:  # noise, not writing: keep the largest
        blobs = sorted(blobs, key=lambda b: -b.area)[:MAX_BLOBS]
    return labels, _drop_specks(blobs)


def _drop_specks(blobs: list[Blob]) -> list[Blob]:
    if not blobs:
        return blobs
    big = max(blobs, key=lambda b: b.area)
    tall = max(b.h for b in blobs if b.area >= 0.2 * big.area)
    return [b for b in blobs if max(b.w, b.h) >= SPECK * tall or b.area >= 0.05 * big.area]


def _has_rules(stats: np.ndarray, shape: tuple[int, int]) -> bool:
    h, w = shape
    ws, hs = stats[1:, 2], stats[1:, 3]
    return bool(
        ((ws >= 0.3 * w) & (ws >= 4 * hs.clip(1))).any()
        | ((hs >= 0.3 * h) & (hs >= 4 * ws.clip(1))).any()
        | (ws >= 0.5 * w).any()
        | (hs >= 0.6 * h).any()
    )


def remove_rules(mask: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """Remove ruled lines (long straight horizontal or vertical runs) and mend the strokes they crossed."""
    h, w = mask.shape
    out = mask.astype(bool)
    for horizontal in (True, False):
        extent = w if horizontal else h
        kernel = np.ones((1, max(20, extent // 8)) if horizontal else (max(20, extent // 8), 1), np.uint8)
        runs = cv2.morphologyEx(out.view(np.uint8), cv2.MORPH_OPEN, kernel).view(bool)
        if not runs.any():
            continue
        rest = out & ~runs
        _, _, rstats, _ = cv2.connectedComponentsWithStats(rest.view(np.uint8), connectivity=8)
        solid = rstats[1:, 4] >= 8
        # The digits' size across the rule direction: a rule is much longer than a digit is tall.
        digit = float(rstats[1:, 3 if horizontal else 2][solid].max()) if solid.any() else 0.0
        _, labels, lstats, _ = cv2.connectedComponentsWithStats(runs.view(np.uint8), connectivity=8)
        spans = lstats[1:, 2 if horizontal else 3]
        thickness = lstats[1:, 3 if horizontal else 2]
        # A rule is long (longer than any digit is tall, and a good part of the image) and thin.
        is_rule = (spans >= max(RULE_LENGTH * digit, 0.3 * extent)) & (thickness <= np.maximum(3, 0.05 * spans))
        rule_ids = np.flatnonzero(is_rule) + 1
        if rule_ids.size == 0:
            continue
        rules = np.isin(labels, rule_ids)
        thick = int(np.ceil(np.percentile(lstats[rule_ids, 3 if horizontal else 2], 90)))
        bridge = np.ones((thick + 4, 1) if horizontal else (1, thick + 4), np.uint8)
        mended = cv2.morphologyEx(rest.view(np.uint8), cv2.MORPH_CLOSE, bridge).view(bool) & rules
        out = rest | mended | (runs & ~rules)
    return out.view(np.uint8)


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
            for k in range(len(out) - 1, -1, -1):
                a = out[k]
                if a.x + a.w <= b.x and k < len(out) - 8:
                    break  # far to the left (up to 8 groups may overlap in x)
                if _same_digit(a, b, height):
                    out[k] = a.union(b)
                    merged = True
                    break
            else:
                out.append(b)
        groups = sorted(out, key=lambda b: b.x)
    return groups


def _same_digit(a: Blob, b: Blob, height: float) -> bool:
    overlap_x = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    if overlap_x <= 0:
        return False
    overlap_y = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    gap_y = max(0, -overlap_y)
    u = a.union(b)
    if u.h > 1.35 * height or gap_y > 0.3 * height:
        return False
    small = min(a.h, b.h)
    stacked = overlap_y < 0.3 * small
    fragment = small < 0.7 * height or min(a.area, b.area) < 0.25 * max(a.area, b.area)
    return overlap_x >= 0.5 * min(a.w, b.w) and (stacked or fragment) and u.w <= 1.2 * max(u.h, 0.6 * height)


def typical_height(blobs: list[Blob]) -> float:
    """The height of a digit: the median height of the taller components."""
    tallest = max(b.h for b in blobs)
    return float(np.median([b.h for b in blobs if b.h >= 0.5 * tallest]))


def reading_order(groups: list[Blob]) -> list[Blob]:
    """Assign text lines (top to bottom) and sort left to right within each; drop stray fragments."""
    if not groups:
        return groups
    lines: list[list[Blob]] = []
    for g in sorted(groups, key=lambda b: b.y + b.h / 2):
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
    for k, line in enumerate(lines):
        height = float(np.median([b.h for b in line]))
        tallest = max(b.h for b in line)
        for g in sorted(line, key=lambda b: b.x):
            if g.h < FRAGMENT * max(height, 0.6 * tallest) and len(line) > 1:
                continue
            g.line = k
            ordered.append(g)
    return _renumber(ordered)


def _renumber(groups: list[Blob]) -> list[Blob]:
    seen: dict[int, int] = {}
    for g in groups:
        g.line = seen.setdefault(g.line, len(seen))
    return groups
