"""Cut a group of touching digits apart along the paths that cross the least ink.

A straight vertical cut cannot separate digits that lean into each other (a 7's bar over
the next digit), so each cut is a top-to-bottom path that may drift one pixel sideways
per row, found by dynamic programming on the ink (the classic "drop-fall" idea with the
cheapest path instead of a falling drop).
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np

PATH_HEIGHT = 64  # paths are searched on the crop shrunk to this height
SIDE_STEP = 0.15  # extra cost of a diagonal step (keeps cuts straight on blank paper)


def cut_paths(ink: np.ndarray, parts: int, max_candidates: int = 3) -> list[list[np.ndarray]]:
    """Candidate ways to cut ``ink`` (float HxW) into ``parts`` pieces (2 or 3).

    Each candidate is a list of ``parts - 1`` paths; a path gives, for every row, the column
    at which the cut passes (pixels left of it belong to the piece on the left).
    """
    h, w = ink.shape
    if w < 2 * parts:
        return []
    s = min(1.0, PATH_HEIGHT / h)
    small = (
        cv2.resize(ink, (max(2, round(w * s)), max(2, round(h * s))), interpolation=cv2.INTER_AREA) if s < 1 else ink
    )
    cost, back = _accumulate(small)
    ends = _cheap_ends(cost[-1], parts, max_candidates + 2)
    paths = {int(e): _trace(back, int(e)) for e in ends}
    sw = small.shape[1]
    candidates: list[list[np.ndarray]] = []
    if parts == 2:
        for e in ends[:max_candidates]:
            candidates.append([_rescale(paths[int(e)], h, w, sw)])
        return candidates
    ranked = sorted(paths, key=lambda e: cost[-1][e])
    for i, a in enumerate(ranked):
        for b in ranked[i + 1 :]:
            lo, hi = sorted((a, b))
            if hi - lo >= 0.2 * sw and lo >= 0.15 * sw and hi <= 0.85 * sw:
                candidates.append([_rescale(paths[lo], h, w, sw), _rescale(paths[hi], h, w, sw)])
            if len(candidates) >= max_candidates:
                return candidates
    return candidates


def _accumulate(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cheapest top-to-bottom path cost ending at each pixel, and the step that got there."""
    h, w = ink.shape
    cost = np.empty((h, w), np.float32)
    back = np.zeros((h, w), np.int8)
    cost[0] = ink[0]
    inf = np.float32(np.inf)
    for r in range(1, h):
        prev = cost[r - 1]
        left = np.concatenate(([inf], prev[:-1])) + SIDE_STEP
        right = np.concatenate((prev[1:], [inf])) + SIDE_STEP
        stacked = np.stack((left, prev, right))
        step = stacked.argmin(axis=0)
        cost[r] = ink[r] + stacked[step, np.arange(w)]
        back[r] = step - 1
    return cost, back


def _cheap_ends(final: np.ndarray, parts: int, k: int) -> np.ndarray:
    """Columns (local minima of the final cost, away from the edges) where good paths end."""
    w = final.size
    lo, hi = max(1, int(0.15 * w)), min(w - 1, int(np.ceil(0.85 * w)))
    if parts == 2:
        lo, hi = max(1, int(0.2 * w)), min(w - 1, int(np.ceil(0.8 * w)))
    idx = np.arange(lo, hi)
    if idx.size == 0:
        return idx
    vals = final[lo:hi]
    order = idx[np.argsort(vals, kind="stable")]
    chosen: list[int] = []
    spacing = max(1, int(0.08 * w))
    for c in order:
        if all(abs(int(c) - p) >= spacing for p in chosen):
            chosen.append(int(c))
        if len(chosen) >= k:
            break
    return np.array(chosen, dtype=int)


def _trace(back: np.ndarray, end: int) -> np.ndarray:
    h = back.shape[0]
    path = np.empty(h, int)
    path[-1] = end
    for r in range(h - 1, 0, -1):
        path[r - 1] = path[r] + back[r, path[r]]
    return path


def _rescale(path: np.ndarray, h: int, w: int, sw: int) -> np.ndarray:
    """A path found on the shrunk crop -> one column per row of the full crop."""
    if path.size == h and sw == w:
        return path
    rows = np.minimum((np.arange(h) * path.size / h).astype(int), path.size - 1)
    return np.clip(np.round((path[rows] + 0.5) * w / sw).astype(int), 1, w - 1)


def piece_masks(shape: tuple[int, int], paths: list[np.ndarray]) -> list[np.ndarray]:
    """Boolean masks of the pieces between consecutive cut paths, left to right."""
    h, w = shape
    cols = np.arange(w)[None, :]
    bounds = [np.zeros(h, int), *paths, np.full(h, w)]
    return [(cols >= a[:, None]) & (cols < b[:, None]) for a, b in itertools.pairwise(bounds)]
