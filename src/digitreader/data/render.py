"""Render handwriting as a camera or a scanner would see it: paper, ink, light, lens, sensor, JPEG.

Pure functions of a ``numpy.random.Generator``: the same generator state gives the same
pixels. Images are float32 RGB in [0, 1] until ``finish`` turns them into uint8 through
blur, noise and JPEG. Used by the evaluation set (``data.synthetic``) and the test video.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# MNIST strokes are about 2.2 px wide on a 20 px tall digit.
MNIST_STROKE_FRACTION = 2.2 / 20


@dataclass(frozen=True)
class InkStyle:
    """How a pen marks the paper: its colour (RGB in [0, 1]), how dark, and whether it is a pencil."""

    colour: tuple[float, float, float]
    opacity: float
    pencil: bool = False
    width: float = 1.0  # stroke width relative to MNIST's


def ink_style(rng: np.random.Generator) -> InkStyle:
    """A random pen: black or blue ball-point, felt-tip, or pencil, thin to thick."""
    kind = rng.choice(["black", "blue", "pencil", "marker", "red"], p=[0.35, 0.3, 0.15, 0.15, 0.05])
    if kind == "black":
        c = rng.uniform(0.02, 0.18)
        return InkStyle((c, c, c + rng.uniform(0, 0.05)), rng.uniform(0.85, 1.0), width=rng.uniform(0.45, 1.3))
    if kind == "blue":
        return InkStyle(
            (rng.uniform(0.05, 0.2), rng.uniform(0.1, 0.3), rng.uniform(0.45, 0.75)),
            rng.uniform(0.8, 1.0),
            width=rng.uniform(0.45, 1.2),
        )
    if kind == "pencil":
        c = rng.uniform(0.2, 0.45)
        return InkStyle((c, c, c), rng.uniform(0.6, 0.9), pencil=True, width=rng.uniform(0.5, 1.1))
    if kind == "marker":
        c = rng.uniform(0.0, 0.12)
        return InkStyle((c, c, c), 1.0, width=rng.uniform(1.2, 2.0))
    return InkStyle(
        (rng.uniform(0.6, 0.8), rng.uniform(0.05, 0.2), rng.uniform(0.05, 0.2)), 0.95, width=rng.uniform(0.6, 1.2)
    )


def digit_strokes(digit28: np.ndarray, height: int, rng: np.random.Generator, width: float = 1.0) -> np.ndarray:
    """An MNIST digit redrawn ``height`` pixels tall with a pen: float32 ink coverage in [0, 1].

    ``width`` is the pen's width relative to MNIST's strokes. A fine pen (width < 1) traces
    the digit's skeleton with a round nib of that width, so thin strokes stay unbroken as
    real pen lines do; a broad pen (width >= 1) keeps MNIST's own shape, grown to width.
    """
    d = np.asarray(digit28, np.float32)
    d = d / 255.0 if d.max() > 1.0 else d
    rows, cols = np.flatnonzero(d.max(1) > 0.1), np.flatnonzero(d.max(0) > 0.1)
    d = np.pad(d[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], 2)
    s = height / (d.shape[0] - 4)
    size = (max(3, round(d.shape[1] * s)), max(3, round(d.shape[0] * s)))
    stroke = MNIST_STROKE_FRACTION * height
    big = cv2.resize(d, size, interpolation=cv2.INTER_CUBIC)
    big = cv2.GaussianBlur(big, (0, 0), sigmaX=max(0.5, 0.25 * s))
    alpha = _edge(big, 0.45)
    if width < 1.0 and not _blobby(d):
        traced = _pen_trace(d, size, width * stroke)
        # A trace that closes or opens a loop would change the digit (a 9 into a 7): keep MNIST's strokes then.
        if _holes(traced > 0.5) == _holes(alpha > 0.5):
            return traced
    grow = (width - 1.0) * stroke / 2
    if grow >= 0.75:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * round(grow) + 1,) * 2)
        alpha = cv2.dilate(alpha, k)
    edge = max(0.6, 0.02 * height)
    return np.clip(cv2.GaussianBlur(alpha, (0, 0), sigmaX=edge * 0.5), 0, 1).astype(np.float32)


def _pen_trace(d: np.ndarray, size: tuple[int, int], pen: float) -> np.ndarray:
    """Ink of a round pen ``pen`` px wide run along the skeleton of digit ``d``, drawn at ``size``."""
    fine = cv2.resize(d, (d.shape[1] * 4, d.shape[0] * 4), interpolation=cv2.INTER_CUBIC)
    skeleton = thin(cv2.GaussianBlur(fine, (0, 0), 0.8) > 0.5)
    dist = cv2.distanceTransform((~skeleton).astype(np.uint8), cv2.DIST_L2, 5)
    dist = cv2.resize(dist, size, interpolation=cv2.INTER_LINEAR) * (size[1] / fine.shape[0])
    return np.clip(max(pen, 1.0) / 2 - dist + 0.5, 0.0, 1.0).astype(np.float32)


def _blobby(d: np.ndarray) -> bool:
    """True for a digit with ink blots (a loop filled in): a fine pen could not have drawn it.

    The skeleton, traced with a pen as wide as the digit's own strokes, covers much less
    than the digit when part of it is a blot; tracing would lose the blot and change the
    digit (a filled 9 becomes a 7), so those are drawn with MNIST's own strokes instead.
    """
    fine = cv2.GaussianBlur(cv2.resize(d, (d.shape[1] * 4, d.shape[0] * 4), interpolation=cv2.INTER_CUBIC), (0, 0), 1.5)
    mask = fine > 0.45
    skeleton = thin(mask)
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    if not skeleton.any():
        return True
    radius = float(np.median(dist[skeleton]))
    to_skeleton = cv2.distanceTransform((~skeleton).astype(np.uint8), cv2.DIST_L2, 5)
    traced = to_skeleton <= radius
    return int(traced.sum()) < 0.9 * int(mask.sum())


def _holes(mask: np.ndarray) -> int:
    """Number of loops (enclosed background regions) of a binary mask."""
    background = np.pad(~mask, 1, constant_values=True).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(background, connectivity=4)
    return int((stats[1:, cv2.CC_STAT_AREA] >= 4).sum()) - 1  # the outside is one region; tiny pinholes do not count


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a boolean mask to a one-pixel skeleton (the pen's path)."""
    img = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = img
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:], p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]]
            c = p[1:-1, 1:-1]
            b = sum(v.astype(np.int32) for v in n)
            a = sum(((n[i] == 0) & (n[(i + 1) % 8] == 1)).astype(np.int32) for i in range(8))
            if step == 0:
                cond = (n[0] * n[2] * n[4] == 0) & (n[2] * n[4] * n[6] == 0)
            else:
                cond = (n[0] * n[2] * n[6] == 0) & (n[0] * n[4] * n[6] == 0)
            remove = (c == 1) & (b >= 2) & (b <= 6) & (a == 1) & cond
            if remove.any():
                img = img.copy()
                img[1:-1, 1:-1][remove] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1].astype(bool)


def _edge(v: np.ndarray, level: float) -> np.ndarray:
    return np.clip((v - level) / 0.12 + 0.5, 0.0, 1.0).astype(np.float32)


def tilt(alpha: np.ndarray, degrees: float, shear: float = 0.0) -> np.ndarray:
    """Rotate (and shear) an ink patch about its centre, growing the patch so nothing is cut."""
    h, w = alpha.shape
    pad = int(0.3 * max(h, w)) + 2
    a = np.pad(alpha, pad)
    c = (a.shape[1] / 2, a.shape[0] / 2)
    m = cv2.getRotationMatrix2D(c, degrees, 1.0)
    m[0, 1] += shear
    m[0, 2] -= shear * c[1]
    out = cv2.warpAffine(a, m, (a.shape[1], a.shape[0]), flags=cv2.INTER_LINEAR)
    rows, cols = np.flatnonzero(out.max(1) > 0.02), np.flatnonzero(out.max(0) > 0.02)
    return out[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def paper(h: int, w: int, rng: np.random.Generator, ruled: float = 0.0) -> np.ndarray:
    """A sheet of paper filling an HxW frame: tint, fibre texture; ruled or squared with probability ``ruled``."""
    tints = np.array([[0.97, 0.97, 0.96], [0.99, 0.97, 0.9], [0.9, 0.9, 0.88], [1.0, 0.97, 0.8], [0.95, 0.96, 0.98]])
    base = tints[rng.choice(len(tints), p=[0.45, 0.2, 0.15, 0.1, 0.1])] * rng.uniform(0.92, 1.02)
    page = np.empty((h, w, 3), np.float32)
    page[:] = base
    page *= 1.0 + smooth_noise(h, w, rng, cells=rng.integers(3, 9), amp=rng.uniform(0.005, 0.03))[..., None]
    grain = rng.standard_normal((h, w), dtype=np.float32) * np.float32(rng.uniform(0.003, 0.015))
    page *= 1.0 + cv2.GaussianBlur(grain, (0, 0), sigmaX=0.7)[..., None]
    if rng.random() < ruled:
        page = _rules(page, rng)
    return page


def _rules(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = page.shape[:2]
    spacing = rng.uniform(0.06, 0.14) * min(h, w)
    colour = np.array([rng.uniform(0.45, 0.75), rng.uniform(0.65, 0.85), rng.uniform(0.85, 1.0)], np.float32)
    strength = rng.uniform(0.25, 0.6)
    lines = np.zeros((h, w), np.float32)
    thick = max(1, round(min(h, w) / 500))
    offset = rng.uniform(0, spacing)
    for y in np.arange(offset, h, spacing):
        cv2.line(lines, (0, round(y)), (w - 1, round(y)), 1.0, thick, cv2.LINE_AA)
    if rng.random() < 0.3:  # squared paper
        for x in np.arange(rng.uniform(0, spacing), w, spacing):
            cv2.line(lines, (round(x), 0), (round(x), h - 1), 1.0, thick, cv2.LINE_AA)
    elif rng.random() < 0.3:  # a margin line
        x = round(rng.uniform(0.05, 0.2) * w)
        cv2.line(lines, (x, 0), (x, h - 1), 1.0, thick, cv2.LINE_AA)
    lines *= strength
    return page * (1 - lines[..., None]) + colour * page * lines[..., None]


def lay_ink(page: np.ndarray, alpha: np.ndarray, x: int, y: int, style: InkStyle, rng: np.random.Generator) -> None:
    """Draw ink coverage ``alpha`` onto ``page`` (in place) with its top-left corner at (x, y)."""
    h, w = alpha.shape
    H, W = page.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x0 >= x1 or y0 >= y1:
        return
    a = alpha[y0 - y : y1 - y, x0 - x : x1 - x] * style.opacity
    if style.pencil:  # graphite leaves grain: the paper shows through the stroke
        a = a * np.clip(0.8 + 0.2 * rng.standard_normal(a.shape, dtype=np.float32), 0.2, 1.0)
    region = page[y0:y1, x0:x1]
    ink = np.asarray(style.colour, np.float32)
    # Ink absorbs light: the paper's colour times the ink's, where the stroke covers it.
    region *= 1.0 - a[..., None] * (1.0 - ink)


def lighting(h: int, w: int, rng: np.random.Generator, shadow: float = 0.5) -> np.ndarray:
    """A multiplicative light field: a gradient across the sheet, a vignette and (maybe) a soft shadow."""
    ys = (np.arange(h, dtype=np.float32) / h)[:, None]
    xs = (np.arange(w, dtype=np.float32) / w)[None, :]
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.float32(np.cos(angle)) * xs + np.float32(np.sin(angle)) * ys
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    light = 1.0 - rng.uniform(0.0, 0.35) * ramp
    r2 = ((xs - 0.5) ** 2 + (ys - 0.5) ** 2) * 2
    light *= 1.0 - rng.uniform(0.0, 0.25) * r2
    if rng.random() < shadow:
        light *= 1.0 - rng.uniform(0.15, 0.45) * _shadow_mask(h, w, rng)
    return light.astype(np.float32)


def _shadow_mask(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A soft-edged shadow (a hand or a phone) reaching in from one side."""
    mask = np.zeros((h, w), np.float32)
    side = rng.integers(4)
    depth = rng.uniform(0.15, 0.5)
    pts = rng.uniform(0, 1, (3, 2))
    if side == 0:
        poly = [(0, 0), (w, 0), (w, int(depth * h * (1 + pts[0, 0]))), (0, int(depth * h * pts[0, 1]))]
    elif side == 1:
        poly = [(0, h), (w, h), (w, int(h * (1 - depth * pts[1, 0]))), (0, int(h * (1 - depth * (1 + pts[1, 1]))))]
    elif side == 2:
        poly = [(0, 0), (int(depth * w * (1 + pts[2, 0])), 0), (int(depth * w * pts[2, 1]), h), (0, h)]
    else:
        poly = [(w, 0), (int(w * (1 - depth * pts[0, 0])), 0), (int(w * (1 - depth * (1 + pts[1, 0]))), h), (w, h)]
    cv2.fillPoly(mask, [np.array(poly, np.int32)], 1.0, cv2.LINE_AA)
    return cv2.GaussianBlur(mask, (0, 0), sigmaX=rng.uniform(0.01, 0.08) * max(h, w))


def desk(page: np.ndarray, rng: np.random.Generator, keep: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Show a table around the sheet along one or two edges, never over the box ``keep`` (x, y, w, h)."""
    h, w = page.shape[:2]
    kx, ky, kw, kh = keep if keep is not None else (w // 2, h // 2, 0, 0)
    room = {0: ky / h, 1: (h - ky - kh) / h, 2: kx / w, 3: (w - kx - kw) / w}  # free fraction at each side
    colour = np.array(rng.choice([[0.35, 0.25, 0.18], [0.2, 0.2, 0.22], [0.55, 0.45, 0.35], [0.75, 0.75, 0.72]]))
    table = np.empty_like(page)
    table[:] = colour * rng.uniform(0.8, 1.1)
    table *= 1.0 + smooth_noise(h, w, rng, cells=12, amp=0.08)[..., None]
    mask = np.zeros((h, w), np.float32)
    for side in rng.permutation(4)[: rng.integers(1, 3)]:
        d = min(rng.uniform(0.04, 0.14), 0.6 * room[int(side)])
        if d < 0.02:
            continue
        a, b = rng.uniform(0.6, 1.0, 2) * d
        poly = {
            0: [(0, 0), (w, 0), (w, int(a * h)), (0, int(b * h))],
            1: [(0, h), (w, h), (w, int(h * (1 - a))), (0, int(h * (1 - b)))],
            2: [(0, 0), (int(a * w), 0), (int(b * w), h), (0, h)],
            3: [(w, 0), (int(w * (1 - a)), 0), (int(w * (1 - b)), h), (w, h)],
        }[int(side)]
        cv2.fillPoly(mask, [np.array(poly, np.int32)], 1.0, cv2.LINE_AA)
    return page * (1 - mask[..., None]) + table * mask[..., None]


def smooth_noise(h: int, w: int, rng: np.random.Generator, cells: int, amp: float) -> np.ndarray:
    coarse = rng.normal(0.0, 1.0, (int(cells) + 1, int(cells) + 1)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC) * np.float32(amp)


def view_matrix(h: int, w: int, rng: np.random.Generator, amount: float, degrees: float) -> np.ndarray:
    """A camera slightly off-axis and rotated: the 3x3 map from the sheet to the photo."""
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    c = np.float32([w / 2, h / 2])
    t = np.deg2rad(degrees)
    rot = np.float32([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    dst = (src - c) @ rot.T + c + rng.uniform(-amount, amount, (4, 2)).astype(np.float32) * np.float32([w, h])
    return cv2.getPerspectiveTransform(src, dst.astype(np.float32))


def perspective(img: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Warp the sheet into the photo with ``view_matrix``'s map (the sheet's texture continues past its edges)."""
    h, w = img.shape[:2]
    return cv2.warpPerspective(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def maps_inside(matrix: np.ndarray, box: tuple[int, int, int, int], h: int, w: int, margin: float = 0.02) -> bool:
    """True when the box (x, y, w, h) on the sheet lands inside the photo, ``margin`` from its edges."""
    x, y, bw, bh = box
    corners = np.float32([[[x, y]], [[x + bw, y]], [[x + bw, y + bh]], [[x, y + bh]]])
    p = cv2.perspectiveTransform(corners, matrix).reshape(-1, 2)
    mx, my = margin * w, margin * h
    return bool(
        (p[:, 0] >= mx).all() and (p[:, 0] <= w - mx).all() and (p[:, 1] >= my).all() and (p[:, 1] <= h - my).all()
    )


def mirrors_ink(matrix: np.ndarray, box: tuple[int, int, int, int], h: int, w: int) -> bool:
    """True when the photo would show a mirror image of the ink in the box (x, y, w, h) on the sheet.

    ``perspective`` fills the parts of the photo beyond the sheet by reflecting the sheet at
    its edges; ink nearer an edge than the photo reaches past it would be reflected into
    view: a phantom, mirrored digit that no real photo shows.
    """
    frame = np.float32([[[0, 0]], [[w, 0]], [[w, h]], [[0, h]]])
    p = cv2.perspectiveTransform(frame, np.linalg.inv(matrix)).reshape(-1, 2)
    beyond = (-p[:, 0].min(), p[:, 0].max() - w, -p[:, 1].min(), p[:, 1].max() - h)  # left, right, top, bottom
    x, y, bw, bh = box
    room = (x, w - x - bw, y, h - y - bh)
    return any(r <= b + 2 for r, b in zip(room, beyond, strict=True) if b > 0)


def finish(
    img: np.ndarray, rng: np.random.Generator, blur: float, noise: float, quality: int | None, motion: float = 0.0
) -> np.ndarray:
    """Lens and sensor: Gaussian blur (sigma px), optional motion blur (px), noise (std), JPEG -> uint8 RGB."""
    out = img
    if blur > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), sigmaX=blur)
    if motion >= 2:
        k = np.zeros((int(motion) | 1, int(motion) | 1), np.float32)
        k[k.shape[0] // 2, :] = 1.0
        m = cv2.getRotationMatrix2D((k.shape[1] / 2 - 0.5, k.shape[0] / 2 - 0.5), rng.uniform(0, 180), 1.0)
        k = cv2.warpAffine(k, m, k.shape[::-1])
        out = cv2.filter2D(out, -1, k / max(float(k.sum()), 1e-6))
    if noise > 0:
        h, w = out.shape[:2]
        grain = rng.standard_normal((h, w, 1), dtype=np.float32) * np.float32(noise)
        # Phones smooth colour noise: it lives at a coarser scale than the grain.
        chroma = rng.standard_normal(((h + 1) // 2, (w + 1) // 2, 3), dtype=np.float32) * np.float32(0.5 * noise)
        out = out + grain + cv2.resize(chroma, (w, h), interpolation=cv2.INTER_LINEAR)
    u8 = np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return jpeg(u8, quality) if quality else u8


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip a uint8 RGB image through JPEG at ``quality`` (the artefacts a phone would leave)."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
