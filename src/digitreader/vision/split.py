"""Cut a group of touching digits apart along the paths that cross the least ink.

A straight vertical cut cannot separate digits that lean into each other (a 7's bar over
the next digit), so each cut is a top-to-bottom path that may drift one pixel sideways
per row, found by dynamic programming on the ink. Each path is tied to a starting column
(a valley of the ink's column profile) by a cost for straying from it, so that it cannot
escape around the digits through the blank paper at the sides.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np

PATH_HEIGHT = 64  # paths are searched on the crop shrunk to this height
SIDE_STEP = 0.2  # cost of a diagonal step (in units of one fully inked pixel)
STRAY = 6.0  # cost per row of straying a whole crop width from the starting column


def cut_paths(ink: np.ndarray, parts: int, max_candidates: int) -> list[list[np.ndarray]]:
    """Candidate ways to cut ``ink`` (float HxW) into ``parts`` pieces (2 or 3), best first.

    Each candidate is a list of ``parts - 1`` paths; a path gives, for every row, the column
    at which the cut passes (pixels left of it belong to the piece on the left).
    """
    h, w = ink.shape
    if w < 4 * parts:
        return []
    s = min(1.0, PATH_HEIGHT / h)
    small = (
        ink if s >= 1 else cv2.resize(ink, (max(4, round(w * s)), max(2, round(h * s))), interpolation=cv2.INTER_AREA)
    )
    sw = small.shape[1]
    starts = _valleys(small, parts, max_candidates)
    rows = np.arange(small.shape[0])
    # Each start gives the cheapest winding path and a straight vertical cut (better for upright digits).
    bent = _best_paths(small, starts)
    paths = {(c, 1): p for c, p in zip(starts, bent, strict=True)}
    paths.update({(c, 0): np.full(small.shape[0], c) for c in starts})
    cost = {key: float(small[rows, p].sum()) for key, p in paths.items()}
    combos = []
    for keys in itertools.combinations(sorted(paths), parts - 1):
        cols = [k[0] for k in keys]
        if len(set(cols)) < len(cols) or np.diff((0, *cols, sw)).min() < 0.15 * sw:
            continue
        ends = [paths[k] for k in keys]
        if any((b <= a).any() for a, b in itertools.pairwise(ends)):
            continue  # paths that cross do not make pieces
        combos.append((sum(cost[k] for k in keys), [_rescale(p, h, w, sw) for p in ends]))
    combos.sort(key=lambda t: t[0])
    return [c for _, c in combos[:max_candidates]]


def _valleys(ink: np.ndarray, parts: int, k: int) -> list[int]:
    """Starting columns: the emptiest columns of the (smoothed) column profile, spread apart."""
    w = ink.shape[1]
    profile = cv2.GaussianBlur(ink.sum(axis=0).astype(np.float32)[None, :], (0, 0), sigmaX=max(1.0, w / 40)).ravel()
    lo, hi = max(1, int(0.15 * w)), min(w - 1, int(np.ceil(0.85 * w)))
    order = lo + np.argsort(profile[lo:hi], kind="stable")
    chosen: list[int] = []
    for c in order:
        if all(abs(int(c) - p) >= max(2, int(0.1 * w)) for p in chosen):
            chosen.append(int(c))
        if len(chosen) >= k + (parts - 2) * 2:
            break
    # The even split points help when the profile has no clear valley.
    for j in range(1, parts):
        even = round(j * w / parts)
        if all(abs(even - p) >= 2 for p in chosen):
            chosen.append(even)
    return chosen


def _best_paths(ink: np.ndarray, starts: list[int]) -> list[np.ndarray]:
    """For each start column, the cheapest top-to-bottom path near it (one column per row).

    All starts are searched at once: one dynamic programme over a stack of cost maps.
    """
    h, w = ink.shape
    if not starts:
        return []
    cols = np.arange(w, dtype=np.float32)
    stray = STRAY * np.abs(cols[None, :] - np.asarray(starts, np.float32)[:, None]) / w  # [S, w]
    n = len(starts)
    cost = ink[0][None, :] + stray
    back = np.zeros((h, n, w), np.int8)
    inf = np.full((n, 1), np.inf, np.float32)
    for r in range(1, h):
        left = np.concatenate((inf, cost[:, :-1]), axis=1) + SIDE_STEP
        right = np.concatenate((cost[:, 1:], inf), axis=1) + SIDE_STEP
        best = np.minimum(np.minimum(left, cost), right)
        step = np.where(best == cost, 0, np.where(best == left, -1, 1)).astype(np.int8)
        cost = best + ink[r][None, :] + stray
        back[r] = step
    paths = []
    for i in range(n):
        path = np.empty(h, int)
        path[-1] = int(np.argmin(cost[i]))
        for r in range(h - 1, 0, -1):
            path[r - 1] = path[r] + back[r, i, path[r]]
        paths.append(path)
    return paths


def _rescale(path: np.ndarray, h: int, w: int, sw: int) -> np.ndarray:
    """A path found on the shrunk crop -> one column per row of the full crop."""
    if path.size == h and sw == w:
        return np.clip(path, 1, w - 1)
    rows = np.minimum((np.arange(h) * path.size / h).astype(int), path.size - 1)
    return np.clip(np.round((path[rows] + 0.5) * w / sw).astype(int), 1, w - 1)


def piece_masks(shape: tuple[int, int], paths: list[np.ndarray]) -> list[np.ndarray]:
    """Boolean masks of the pieces between consecutive cut paths, left to right."""
    h, w = shape
    cols = np.arange(w)[None, :]
    bounds = [np.zeros(h, int), *paths, np.full(h, w)]
    return [(cols >= a[:, None]) & (cols < b[:, None]) for a, b in itertools.pairwise(bounds)]
