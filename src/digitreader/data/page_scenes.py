"""Pictures of a sheet with its truth mask, for training the page finder (``training.page``).

Broader than the desk set (``data.desk``), which is for measuring: the same sheets and desks, plus
desks split by a table's edge, books and boxes on the desk, coloured and grey light, portrait
frames, sheets that fill the frame (all paper: nothing to find) and desks with no sheet at all.
Each scene is a function of ``(seed, index)`` and of the digits it is given (MNIST **training**
digits when training). Scenes come back as thumbnails, the size the finder looks at.
"""

from __future__ import annotations

import cv2
import numpy as np

from digitreader.data.desk import DESKS, clutter, desk_surface, place, write_sheet
from digitreader.data.render import digit_strokes, finish, ink_style, lay_ink, lighting, paper

THUMB = 160  # the longest side of a scene, as the page finder sees it
FRAMES = ((240, 320), (360, 480), (480, 640))  # (height, width) rendered before shrinking to the thumbnail
FILLS_FRAME, CLOSE_UP, NO_SHEET = 0.06, 0.12, 0.05  # shares of scenes: all paper (a sheet; a close-up) / all desk


def page_scene(images: np.ndarray, labels: np.ndarray, seed: int, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Scene ``index`` of ``seed``: a uint8 RGB thumbnail and its mask (uint8, 1 where the sheet is)."""
    rng = np.random.default_rng([seed, 2601, index])
    h, w = FRAMES[int(rng.integers(len(FRAMES)))]
    roll = rng.random()
    sheet = write_sheet(images, labels, rng, width=int(rng.integers(400, 800)))
    if roll < FILLS_FRAME:  # a crop or a scan: paper to every edge
        y0, x0 = (int(rng.integers(0, max(1, s // 8))) for s in sheet.page.shape[:2])
        scene = cv2.resize(sheet.page[y0:, x0:], (w, h), interpolation=cv2.INTER_AREA)
        mask = np.ones((h, w), np.float32)
    elif roll < FILLS_FRAME + CLOSE_UP:
        scene, mask = _close_up(images, h, w, rng), np.ones((h, w), np.float32)
    else:
        scene = _desk(h, w, rng)
        mask = np.zeros((h, w), np.float32)
        if roll >= FILLS_FRAME + CLOSE_UP + NO_SHEET:
            matrix, corners = place(sheet, (h, w), rng, cut_off=rng.random() < 0.15)
            mask = cv2.warpPerspective(np.ones(sheet.page.shape[:2], np.float32), matrix, (w, h))
            shift = np.float32([[1, 0, rng.uniform(-1, 1) * 0.02 * w], [0, 1, rng.uniform(-0.3, 1) * 0.02 * h]])
            shadow = cv2.GaussianBlur(cv2.warpAffine(mask, shift, (w, h)), (0, 0), rng.uniform(0.004, 0.02) * w)
            scene *= 1.0 - rng.uniform(0.1, 0.55) * shadow[..., None]
            flat = cv2.warpPerspective(
                sheet.page, matrix, (w, h), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
            )
            scene = scene * (1 - mask[..., None]) + flat * mask[..., None]
            clutter(scene, corners, rng)
    scene *= lighting(h, w, rng, shadow=0.4)[..., None]
    scene *= rng.uniform(0.85, 1.1, 3).astype(np.float32) * rng.uniform(0.6, 1.15)  # the light's colour and strength
    blur, noise, quality = rng.uniform(0, 1.5), rng.uniform(0.003, 0.03), int(rng.integers(40, 95))
    picture = finish(scene, rng, blur=blur, noise=noise, quality=quality)
    if rng.random() < 0.3:  # a phone held upright
        picture, mask = np.ascontiguousarray(picture.transpose(1, 0, 2)[:, ::-1]), np.ascontiguousarray(mask.T[:, ::-1])
    f = THUMB / max(picture.shape[:2])
    size = (round(picture.shape[1] * f), round(picture.shape[0] * f))
    thumb = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
    return thumb, (cv2.resize(mask, size, interpolation=cv2.INTER_AREA) > 0.5).astype(np.uint8)


def _close_up(images: np.ndarray, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Paper filling the frame with one digit, large or small, under uneven light and shadow (float32 RGB)."""
    page = paper(h, w, rng, ruled=0.25)
    style = ink_style(rng)
    height = max(24, round(rng.uniform(0.1, 0.7) * min(h, w)))
    alpha = digit_strokes(images[int(rng.integers(len(images)))], height, rng, style.width)
    ah, aw = alpha.shape
    lay_ink(page, alpha, int(rng.integers(0, max(1, w - aw))), int(rng.integers(0, max(1, h - ah))), style, rng)
    return page * lighting(h, w, rng, shadow=0.7)[..., None]


def _desk(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A desk (float32 RGB): one of the desk set's kinds, sometimes two meeting at a table's edge, with
    books, boxes or a keyboard lying about."""
    scene = desk_surface(h, w, str(rng.choice(DESKS)), rng)
    if rng.random() < 0.25:  # the table's edge, and the floor or a wall beyond it
        other = desk_surface(h, w, str(rng.choice(DESKS)), rng)
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        t = rng.uniform(0, 2 * np.pi)
        side = (xs - w / 2) * np.cos(t) + (ys - h / 2) * np.sin(t) > rng.uniform(0.25, 0.5) * min(h, w)
        scene[side] = other[side]
    for _ in range(int(rng.integers(0, 3))):  # a book, a box, a keyboard: a plain or printed rectangle
        centre = (float(rng.uniform(0, w)), float(rng.uniform(0, h)))
        size = (float(rng.uniform(0.1, 0.5) * w), float(rng.uniform(0.1, 0.5) * h))
        box = cv2.boxPoints((centre, size, float(rng.uniform(0, 180)))).astype(np.int32)
        colour = rng.uniform(0.05, 0.95, 3) if rng.random() < 0.8 else np.full(3, rng.uniform(0.85, 1.0))
        cv2.fillPoly(scene, [box], tuple(float(c) for c in colour), cv2.LINE_AA)
    return scene
