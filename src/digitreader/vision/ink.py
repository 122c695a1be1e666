"""Turn any image into an ink map: 0 where the paper (or canvas) is, towards 1 on the strokes.

The steps, each cheap at the working resolution (at most ``WORK_SIDE`` pixels a side):

1. grey: luminance; a transparent background is composited to contrast with the ink.
2. polarity: dark ink on light paper, or light ink (chalk, MNIST, a white pen) on dark,
   decided by which thin structures carry more contrast (black-hat against top-hat); when
   light ink found then lines the border, dark ink is tried (a tight crop of a bold pen digit).
3. paper: a smooth estimate of the paper's brightness (a high percentile over a coarse grid),
   so shadows and lighting gradients divide out: ``ink = 1 - grey / paper``.
4. thresholds: from the noise of the paper and the contrast of the strokes, with hysteresis
   (faint parts of a stroke are kept when they touch a clear part).

A drawing on a plain digital background (a web canvas, a clean digital image) skips 2-4: its
background is one exact grey level, which gives the polarity and the paper at once, with no
noise to measure or reject.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from digitreader.vision.blobs import along_border
from digitreader.vision.io import Scaled, load_scaled
from digitreader.vision.page import find_page, flatten

# Images larger than this (longest side, pixels) are reduced by an integer factor first:
# 4000x3000 -> 1000x750 (an integer INTER_AREA reduction is about 6x faster than a fractional one).
WORK_SIDE = 1024
PAPER_GRID = 32  # the paper estimate lives on a grid of at most 32 cells a side
PAPER_WINDOW = 9  # cells; about a quarter of the image: thick strokes never fill it
PAPER_PERCENTILE = 80  # the paper is what at least 20% of a window shows
NO_PAPER = 0.3  # a background darker than this share of the brightest paper is no paper (nothing is ink on it)
FLAT_PAPER = 0.93  # paper whose darkest part is within 7% of its brightest is evenly lit
PLAIN = 0.6  # a digital background: one exact grey level over 60% of the image ...
PLAIN_NOISE = 0.03  # ... and hardly any pixel just off it (paper, even overexposed, has grain and gradients)
GRAIN_PIECES = 40  # more ink pieces than this: check which stand out from the noise around them ...
GRAIN_SIGMAS = 4.0  # ... by their mean contrast, in local noise deviations
PINHOLE = 1.0  # a hole in a stroke smaller than (stroke width)^2 is a pinhole (a broad marker's loop)
WIDTH_AREA = 0.25  # other components at least this x the main one's area are measured too ...
BOLDER = 1.3  # ... and one with strokes this x wider sets the width
BORDER_INK = (0.25, 0.75)  # light ink along this share of the border (more than a digit touches): try dark ...
OTHER_BORDER_INK = 0.1  # ... and take it when its ink lies along less than this share ...
FRAME_SPAN = 0.8  # ... and its largest piece spans the frame both ways (a tight crop) ...
SOLID_FILL = 0.6  # ... in strokes, not as a solid piece that fills its box
BAND_SIDE = 0.8  # rough ink along this share of one side of the image ...
BAND_ACROSS = 0.5  # ... reaching at most this far across it is a band of shadow or desk, not a digit
INNER_AREA = 50  # px at the working size: a piece of ink clear of the border this large is the digit's
BAND_CLOSING = 1 / 16  # of the image's longest side: a closing that follows a band along a side
MIN_CONTRAST = 0.14  # ink must be at least 14% darker than its paper (pencil is ~25%; grain in a shadow ~11%)


@dataclass(frozen=True)
class InkMap:
    """The ink of an image at the working resolution (``scale`` original pixels per pixel)."""

    ink: np.ndarray  # float32 HxW, 0 = paper, 1 = a stroke as dark as the typical stroke
    mask: np.ndarray  # bool HxW, the ink pixels (hysteresis threshold)
    scale: int  # working pixel -> original pixels
    dark_ink: bool  # True: dark ink on light paper
    contrast: float  # typical stroke contrast (1 - ink / paper), 0 when no ink
    shape: tuple[int, int]  # the original image's (height, width)
    page: np.ndarray | None = None  # 3x3: a pixel of the flattened sheet (vision.page) -> the original image's

    def to_original(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """A working-resolution box (x, y, w, h) -> the same box in the original image's pixels."""
        x, y, w, h = box
        s = self.scale
        height, width = self.shape
        if self.page is not None:
            # The box on the flattened sheet -> a box of the same shape around the same digit in the picture
            # (not the box around the turned corners: on a turned sheet that would overlap its neighbours).
            corners = np.float32([[x, y], [x + w, y], [x + w, y + h], [x, y + h]]).reshape(-1, 1, 2) * s
            p = cv2.perspectiveTransform(corners, self.page).reshape(-1, 2)
            k = math.sqrt(abs(cv2.contourArea(p)) / max(w * h * s * s, 1))
            cx, cy = p.mean(axis=0)
            bw, bh = max(1, round(w * s * k)), max(1, round(h * s * k))
            x0 = int(np.clip(round(cx - bw / 2), 0, width - 1))
            y0 = int(np.clip(round(cy - bh / 2), 0, height - 1))
            return (x0, y0, max(1, min(bw, width - x0)), max(1, min(bh, height - y0)))
        x0, y0 = min(x * s, width - 1), min(y * s, height - 1)
        return (x0, y0, min(w * s, width - x0), min(h * s, height - y0))


def to_grey(image: np.ndarray) -> np.ndarray:
    """uint8 HxW luminance of a uint8 HxW / HxWx3 (RGB) / HxWx4 (RGBA) image."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return _flatten_alpha(image)
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def _flatten_alpha(rgba: np.ndarray) -> np.ndarray:
    """Composite RGBA onto a plain background that makes the transparent part read as paper.

    A canvas drawing is a few opaque strokes on a transparent field: the background is then
    the opposite of the strokes' brightness, so white and black pens both read as ink.
    A mostly opaque image (a photo with a transparent border) is padded with its own mean.
    """
    alpha = rgba[..., 3]
    grey = cv2.cvtColor(np.ascontiguousarray(rgba), cv2.COLOR_RGBA2GRAY)  # the same weights, no copy
    if int(alpha.min()) == 255:
        return grey
    a = alpha.astype(np.float32) / 255.0
    weight = float(a.sum())
    if weight < 1e-6:
        return np.full(grey.shape, 255, np.uint8)  # fully transparent: blank paper
    mean = float((grey * a).sum()) / weight
    opaque_fraction = weight / a.size
    # Mostly transparent: strokes on an empty field. Mostly opaque: a picture with a transparent margin.
    background = (255.0 if mean < 128 else 0.0) if opaque_fraction < 0.5 else mean
    out = grey.astype(np.float32) * a + background * (1.0 - a)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def reduce(grey: np.ndarray, side: int = WORK_SIDE) -> tuple[np.ndarray, int]:
    """Shrink by the smallest integer factor that brings the longest side to ``side`` or less."""
    h, w = grey.shape
    f = max(1, math.ceil(max(h, w) / side))
    if f == 1:
        return grey, 1
    # A side thinner than f (a 1025x1 strip) still keeps one pixel: its whole extent is averaged.
    hh, ww = max(1, h // f), max(1, w // f)
    rows, cols = (h if h < f else hh * f), (w if w < f else ww * f)
    small = cv2.resize(grey[:rows, :cols], (ww, hh), interpolation=cv2.INTER_AREA)
    return small, f


def polarity_cues(grey: np.ndarray) -> dict[str, float]:
    """Evidence that the ink is dark (> 0) or light (< 0), as clipped log-ratios. See ``is_dark_ink``."""
    h, w = grey.shape
    side = max(h, w)
    small = (
        grey
        if side <= 256
        else cv2.resize(grey, (max(1, w * 256 // side), max(1, h * 256 // side)), interpolation=cv2.INTER_AREA)
    )

    ring = np.concatenate([small[:2].ravel(), small[-2:].ravel(), small[:, :2].ravel(), small[:, -2:].ravel()])
    lo, median, hi = _percentiles(small, (0.5, 50, 99.5))
    edge = float(np.median(ring))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    dark = light = 1e-3
    g = small
    for s in (256, 128, 64, 32):
        if side <= s // 2:
            continue
        f = s / max(g.shape)
        if f < 1:  # each scale from the previous one: cheap
            g = cv2.resize(
                g, (max(1, round(g.shape[1] * f)), max(1, round(g.shape[0] * f))), interpolation=cv2.INTER_AREA
            )
        dark += _strongest(cv2.morphologyEx(g, cv2.MORPH_BLACKHAT, kernel))
        light += _strongest(cv2.morphologyEx(g, cv2.MORPH_TOPHAT, kernel))
    return {
        "tails": float(np.clip(np.log((median - lo + 2.0) / (hi - median + 2.0)), -3.0, 3.0)),
        "border": float(np.clip(np.log((edge - lo + 2.0) / (hi - edge + 2.0)), -2.0, 2.0)),
        "hats": float(np.clip(np.log(dark / light), -3.0, 3.0)),
    }


def is_dark_ink(grey: np.ndarray) -> bool:
    """True when the ink is dark on a light background (pen on paper), False for light on dark.

    The cues, weighted log-ratios (``polarity_cues``):

    - tails: the background is the majority, so the image's median is the paper and the ink
      lies in the longer tail of the histogram. Decisive for canvases, scans and MNIST-style
      arrays, whatever the stroke width; fooled when a shadow or a table covers half a photo.
    - border: the image's border is background (canvases and crops; a table around a sheet is not).
    - hats: strokes are thin: a black-hat (closing minus image) lights up dark thin strokes,
      a top-hat light ones; summed over scales. Weak for very thick strokes.
    """
    cues = polarity_cues(grey)
    # Weights from photos of the development set (seed 123) and light-on-dark digits (inverted
    # photos, scikit-learn's digits, enlarged MNIST): thin-stroke evidence counts five times, as
    # a shadow or a table over half a photo fools the histogram and border cues together.
    return cues["hats"] + 0.2 * (cues["tails"] + cues["border"]) >= 0.0


def _strongest(response: np.ndarray) -> float:
    """Mean of the top 2% of a response (at least 4 pixels)."""
    flat = response.ravel()
    k = max(4, flat.size // 50)
    if k >= flat.size:
        return float(flat.mean())
    if flat.dtype != np.uint8:
        return float(np.partition(flat, flat.size - k)[-k:].mean())
    # uint8: the same mean from the histogram, several times faster than a partition
    hist = np.bincount(flat, minlength=256)[::-1]  # counts from 255 down
    above = np.cumsum(hist)
    v = int(np.searchsorted(above, k))  # the bin (from the top) holding the k-th largest value
    taken = int(above[v - 1]) if v else 0
    values = np.arange(255, -1, -1)
    total = float((hist[:v] * values[:v]).sum()) + (k - taken) * float(values[v])
    return total / k


def _percentiles(a: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """``np.percentile(a, qs)`` (linear interpolation), from a histogram when ``a`` is uint8."""
    if a.dtype != np.uint8:
        return [float(v) for v in np.percentile(a, qs)]
    cum = np.cumsum(np.bincount(a.ravel(), minlength=256))
    n = int(cum[-1])
    out = []
    for q in qs:
        pos = q / 100 * (n - 1)
        k = int(pos)
        v0 = int(np.searchsorted(cum, k, side="right"))
        v1 = int(np.searchsorted(cum, min(k + 1, n - 1), side="right"))
        out.append(v0 + (pos - k) * (v1 - v0))
    return out


def paper(grey: np.ndarray, percentile: float = PAPER_PERCENTILE) -> np.ndarray:
    """Smooth estimate of the paper brightness (dark-ink form), float32, same shape as ``grey``."""
    h, w = grey.shape
    f = min(1.0, PAPER_GRID / max(h, w))
    gh, gw = max(1, round(h * f)), max(1, round(w * f))
    coarse = cv2.resize(grey, (gw, gh), interpolation=cv2.INTER_AREA) if f < 1 else grey
    r = PAPER_WINDOW // 2
    padded = np.pad(coarse.astype(np.float32), r, mode="reflect" if min(gh, gw) > r else "edge")
    windows = sliding_window_view(padded, (PAPER_WINDOW, PAPER_WINDOW)).reshape(gh, gw, -1)
    k = round(percentile / 100 * (windows.shape[-1] - 1))
    level = np.partition(windows, k, axis=-1)[..., k]
    level = cv2.GaussianBlur(level, (0, 0), sigmaX=1.0)
    if (gh, gw) != (h, w):
        level = cv2.resize(level, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.maximum(level, 8.0)


def paper_closing(grey: np.ndarray, size: float) -> np.ndarray:
    """The paper brightness (dark-ink form) by a morphological closing wider than the strokes.

    A closing removes dark structures narrower than its kernel (the strokes) and keeps wide
    ones exactly, edges included: the border of a shadow or of a table around the sheet stays
    sharp, so neither shows up as ink. It runs on a reduced image so the kernel stays small.
    """
    h, w = grey.shape
    q = max(1, math.ceil(size / 9))
    small = grey if q == 1 else cv2.resize(grey, (max(1, w // q), max(1, h // q)), interpolation=cv2.INTER_AREA)
    k = max(3, round(size / q) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE)
    # Shrink bright areas by one cell before enlarging: interpolation then blurs an edge into its
    # bright side, where it only lowers the estimate (never invents ink), not into the dark side.
    level = cv2.erode(closed, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE).astype(np.float32)
    if level.shape != grey.shape:
        level = cv2.resize(level, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.maximum(level, 8.0)


def mask_stroke_width(mask: np.ndarray) -> float:
    """A generous stroke width (px) of the main ink: twice a high percentile of the distance to the edge.

    Measured on the largest component that does not touch the border (a table or a shadow
    along the edge is not a stroke); a digit-sized component whose strokes are ``BOLDER`` x
    wider (one digit traced with a marker) sets the width instead. Ragged edges (noise, JPEG,
    pencil grain) are closed first, and pinholes filled (``_fill_pinholes``); a closing
    narrower than the strokes would hollow them.
    """
    m = mask.view(np.uint8) if mask.dtype == bool else mask
    f = math.ceil(math.sqrt(m.size / 80_000))  # a coarse mask is enough to measure a stroke
    if f > 1:
        m = cv2.resize(m * 255, (max(1, m.shape[1] // f), max(1, m.shape[0] // f)), interpolation=cv2.INTER_AREA) > 100
        m = m.astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n <= 1:
        return 0.0
    w, h, area = (stats[1:, i] for i in range(2, 5))
    inner = _clear_of_border(stats, m.shape) & (area >= min(50, 0.01 * area.max()))  # a speck is no measure
    pick = int(np.argmax(np.where(inner, area, -1) if inner.any() else area))
    width = _component_width(labels, stats, pick)
    # Only digit-sized marks: not a rule's piece (flat), nor a shadow (larger than the main ink).
    digit_sized = (w <= 4 * h) & (h <= 1.5 * h[pick]) & (w <= 1.5 * max(w[pick], h[pick]))
    others = np.flatnonzero(inner & digit_sized & (area >= WIDTH_AREA * area[pick]))
    widest = max((_component_width(labels, stats, int(k)) for k in others if k != pick), default=0.0)
    if widest > BOLDER * width:
        width = widest
    return f * width


def _component_width(labels: np.ndarray, stats: np.ndarray, k: int) -> float:
    """The stroke width of component ``k`` (0-based, of the coarse mask), pinholes filled."""
    x0, y0, w, h = (int(v) for v in stats[k + 1, :4])
    crop = (labels[y0 : y0 + h, x0 : x0 + w] == k + 1).astype(np.uint8)
    q = max(1, max(crop.shape) // 256)
    if q > 1:
        small = cv2.resize(
            crop * 255, (max(1, crop.shape[1] // q), max(1, crop.shape[0] // q)), interpolation=cv2.INTER_AREA
        )
        crop = (small > 127).astype(np.uint8)
    crop = cv2.morphologyEx(np.pad(crop, 2), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    width = _width(crop)
    filled = _fill_pinholes(crop, width)
    if filled is not None:
        width = _width(filled)
    return q * width


def _width(crop: np.ndarray) -> float:
    """Twice the 95th percentile of the distance to the edge inside a uint8 mask (px)."""
    dist = cv2.distanceTransform(crop, cv2.DIST_L2, 3)
    inside = dist[dist > 0]
    return 2.0 * float(np.percentile(inside, 95)) if inside.size else 0.0


def _fill_pinholes(crop: np.ndarray, width: float) -> np.ndarray | None:
    """The mask with holes smaller than a square of the stroke width filled, or None when there are none.

    A digit written with a broad marker keeps only a pinhole of its loop: the stroke is as
    wide as the whole digit, and a closing that only spans the pinhole's sides would take the
    digit for a patch of shadow.
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(1 - crop, connectivity=4)
    outside = labels[0, 0]  # the mask is padded: its corner is outside
    holes = [k for k in range(1, n) if k != outside and stats[k, cv2.CC_STAT_AREA] < PINHOLE * width * width]
    if not holes:
        return None
    return np.where(np.isin(labels, holes), 1, crop).astype(np.uint8)


def plain_background(grey: np.ndarray) -> tuple[int, bool] | None:
    """(background level, dark ink?) of a drawing on a plain digital background, else None.

    A canvas or a digital image has one exact background level and few pixels just off it
    (anti-aliased edges); a photo or a scan never does. Ink is what differs by more than 8 levels.
    """
    step = 2 if grey.size > 40_000 else 1  # every 4th pixel tells the fractions well enough
    sample = grey[::step, ::step]
    hist = np.bincount(sample.ravel(), minlength=256)
    level = int(hist.argmax())
    if hist[level] < PLAIN * sample.size:
        return None
    off = np.abs(np.arange(256) - level)
    near = hist[(off > 0) & (off <= 8)].sum()
    ink = off > 8
    if near > PLAIN_NOISE * sample.size or not hist[ink].any():
        return None
    ink_mean = float((hist[ink] * np.arange(256)[ink]).sum()) / float(hist[ink].sum())
    return level, ink_mean < level


def load_ink(image: object) -> InkMap:
    """The ink map of anything ``load_image`` accepts (or of an image ``load_scaled`` already decoded);
    a large JPEG is decoded at the size it is worked at."""
    return extract_ink(image if isinstance(image, Scaled) else load_scaled(image, work_side=WORK_SIDE))


def extract_ink(image: np.ndarray | Scaled, work_side: int = WORK_SIDE) -> InkMap:
    """The ink map of a uint8 image (as ``load_image`` returns), or of one decoded at reduced size."""
    scaled = image if isinstance(image, Scaled) else Scaled(image, 1, image.shape[:2])
    grey, f = reduce(to_grey(scaled.pixels), work_side)
    scale, shape = f * scaled.factor, scaled.shape
    plain = plain_background(grey)
    if plain is not None:
        # A canvas drawing or a clean digital image: its background level is known exactly.
        level, dark = plain
        if not dark:
            grey, level = 255 - grey, 255 - level
        residual = 1.0 - grey.astype(np.float32) / max(float(level), 8.0)
        return _threshold(residual, scale, dark, shape, noise_free=True)
    sheet = scaled.sheet
    page = find_page(scaled.pixels) if sheet is None else flatten(scaled.pixels, sheet) if len(sheet) else None
    if page is not None:
        # A sheet on a desk: read the sheet alone, flattened; boxes map back through the page.
        flat, k = reduce(to_grey(page.image), work_side)
        found = _photo_ink_of(flat, 1, flat.shape)
        back = np.diag([scaled.factor, scaled.factor, 1.0]) @ page.to_picture @ np.diag([k, k, 1.0])
        return replace(found, shape=shape, page=back)
    return _photo_ink_of(grey, scale, shape)


def _photo_ink_of(grey: np.ndarray, scale: int, shape: tuple[int, int]) -> InkMap:
    """The ink of a photo or scan (no plain background), whichever the ink's polarity."""
    dark = is_dark_ink(grey)
    found = _photo_ink(grey, dark, scale, shape)
    if not dark and BORDER_INK[0] < _border_share(found.mask) < BORDER_INK[1]:
        # Light ink that lines the border: perhaps the paper of a tight crop of a bold dark digit,
        # whose strokes are as wide as the paper between them and touch the frame, so neither the
        # thin-stroke cue nor the border cue can tell. Then dark ink finds one digit as large as
        # the frame, its strokes clear of the border. Only this way round: pen on paper is by far
        # the commoner photo, and a bold light digit on black fills its frame as well (scikit-
        # learn's digits, enlarged, would be read from the black between their strokes).
        other = _photo_ink(grey, True, scale, shape)
        if other.contrast > 0 and _border_share(other.mask) < OTHER_BORDER_INK and _fills_frame(other.mask):
            return other
    return found


def _photo_ink(grey: np.ndarray, dark: bool, scale: int, shape: tuple[int, int]) -> InkMap:
    """The ink map of a photo or scan (reduced grey ``grey``), with the ink dark or light as given."""
    if not dark:
        grey = 255 - grey
    g = grey.astype(np.float32)
    level = paper(grey)
    lo, hi = np.percentile(level[:: max(1, level.shape[0] // 64), :: max(1, level.shape[1] // 64)], (2, 98))
    if lo >= FLAT_PAPER * hi:
        # Evenly lit (a canvas, a scan): one paper level for the whole image.
        return _threshold(1.0 - g / max(float(hi), 8.0), scale, dark, shape)
    # First pass: the coarse paper estimate, good enough to measure how wide the strokes are.
    rough = 1.0 - g / level
    levels = _stroke_levels(rough)
    if levels is None:
        return _empty(rough, scale, dark, shape)
    strokes = rough > max(levels[0], 0.45 * levels[1])
    width = mask_stroke_width(strokes)
    if _band_hides_digit(strokes):
        width = _width_past_band(grey, width)
    # Second pass: a closing just wider than the strokes follows shadows and the sheet's edges.
    size = 2.0 * width + 3
    closing = paper_closing(grey, size)
    residual = 1.0 - g / closing
    # Where the "paper" is near black (a book's edge, a dark desk, the scanner's lid) no ink can show:
    # its grain, divided by so dark a level, would pass for the strongest ink and hide the digits.
    residual[closing < NO_PAPER * hi] = 0.0
    return _threshold(residual, scale, dark, shape)


def _band_hides_digit(strokes: np.ndarray) -> bool:
    """Is the largest piece of rough ink a band along a whole side (a shadow's, the desk's) that swallowed the digit?

    The band lies along ``BAND_SIDE`` of one side of the image and reaches at most ``BAND_ACROSS``
    of it across (a digit cropped tight touches its frame, but over a stroke's width), and no
    piece of ink stays clear of the border (``_inner_piece``): the digit has merged into the band.
    """
    edges = (strokes[:, 0], strokes[:, -1], strokes[0], strokes[-1])
    if all(np.count_nonzero(edge) < BAND_SIDE * edge.size for edge in edges):
        return False  # the usual case, told from the border alone
    _, labels, stats, _ = cv2.connectedComponentsWithStats(strokes.view(np.uint8), connectivity=8)
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    h, w = strokes.shape
    thin_w = stats[k, cv2.CC_STAT_WIDTH] <= BAND_ACROSS * w  # a band along the left or right side
    thin_h = stats[k, cv2.CC_STAT_HEIGHT] <= BAND_ACROSS * h  # ... along the top or bottom
    sides = ((labels[:, 0], h, thin_w), (labels[:, -1], h, thin_w), (labels[0], w, thin_h), (labels[-1], w, thin_h))
    band = any(across and np.count_nonzero(side == k) >= BAND_SIDE * length for side, length, across in sides)
    return band and not _inner_piece(stats, strokes.shape)


def _clear_of_border(stats: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Per component (``stats[1:]`` of ``cv2.connectedComponentsWithStats``): is its box clear of the border?"""
    x, y, w, h = (stats[1:, i] for i in range(4))
    return (x > 0) & (y > 0) & (x + w < shape[1]) & (y + h < shape[0])


def _inner_piece(stats: np.ndarray, shape: tuple[int, int]) -> bool:
    """Does any component of at least ``INNER_AREA`` pixels stay clear of the border?"""
    return bool((_clear_of_border(stats, shape) & (stats[1:, cv2.CC_STAT_AREA] >= INNER_AREA)).any())


def _width_past_band(grey: np.ndarray, width: float) -> float:
    """The stroke width once a band along a side, joined to the digit, is taken for paper.

    The band (a shadow's edge, the desk past the sheet) is as dark as ink and touches the digit,
    so the rough ink is one piece along the border, measured as one very wide stroke; a closing
    that wide would keep the band as ink, and the digit with it (a 7 beside a shadow read as a 1).
    A closing of ``BAND_CLOSING`` of the image follows the band instead, and the strokes left
    clear of the border give the width; when none are, ``width`` stands.
    """
    closer = 1.0 - grey.astype(np.float32) / paper_closing(grey, max(grey.shape) * BAND_CLOSING)
    levels = _stroke_levels(closer)
    if levels is None:
        return width
    strokes = closer > max(levels[0], 0.45 * levels[1])
    _, _, stats, _ = cv2.connectedComponentsWithStats(strokes.view(np.uint8), connectivity=8)
    return mask_stroke_width(strokes) if _inner_piece(stats, strokes.shape) else width


def _border_share(mask: np.ndarray) -> float:
    """The fraction of the image's outermost pixels that are ink."""
    ring = np.concatenate([mask[0], mask[-1], mask[1:-1, 0], mask[1:-1, -1]])
    return float(np.count_nonzero(ring)) / max(1, ring.size)


def _fills_frame(mask: np.ndarray) -> bool:
    """Is the largest piece of ink a tight crop's digit: strokes (not a solid sheet) spanning the frame both ways?"""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    if n <= 1:
        return False
    _, _, w, h, area = stats[1 + int(np.argmax(stats[1:, 4]))]
    spans = h >= FRAME_SPAN * mask.shape[0] and w >= FRAME_SPAN * mask.shape[1]
    return bool(spans and area <= SOLID_FILL * w * h)


def _quantile(a: np.ndarray, q: float) -> float:
    flat = a.ravel()
    k = int(q * (flat.size - 1))
    return float(np.partition(flat, k)[k])


def _levels(residual: np.ndarray, noise_free: bool = False) -> tuple[float, float] | None:
    """(noise floor, typical stroke contrast) of a residual, or None when there is no ink."""
    step = max(1, round(np.sqrt(residual.size / 20_000)))
    sample = residual[::step, ::step]
    if noise_free:  # a digital background: exactly 0 off the strokes
        floor = 0.05
    else:
        # The paper's level is the median (ink covers less than half the image); its noise is
        # measured on pixel-to-neighbour differences, which strokes and shadows hardly affect.
        centre = max(0.0, _quantile(sample, 0.5))
        sigma = 1.4826 * 1.06 * _quantile(np.abs(sample - cv2.blur(sample, (3, 3))), 0.5)
        floor = centre + max(5.0 * sigma, 0.03) + 0.02
    cut = max(floor, MIN_CONTRAST)
    strong = sample[sample > cut]
    if strong.size < 16:  # a small digit in a large frame: look at every pixel
        strong = residual[residual > cut]
    if strong.size == 0:
        return None
    contrast = _quantile(strong, 0.9)
    return (floor, contrast) if contrast >= MIN_CONTRAST else None


def _stroke_levels(residual: np.ndarray) -> tuple[float, float] | None:
    """``_levels`` of the strokes: without the ink that lies flush along the border, when there is any.

    A dark table or the sheet's edge along the frame is far darker than pencil digits; counted
    with them, it would set a threshold above the digits' contrast and they would be lost.
    """
    levels = _levels(residual)
    if levels is None:
        return None
    step = max(1, round(np.sqrt(residual.size / 20_000)))  # the sample that _levels measures
    sample = np.ascontiguousarray(residual[::step, ::step])
    strong = (sample > max(levels[0], 0.45 * levels[1])).view(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(strong, connectivity=8)
    flush = along_border(labels, stats)[0]
    if not flush.any():
        return levels
    # The flush ink with its soft fringe is set to paper, and the rest measured again.
    border = cv2.dilate(flush[labels].view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    return _levels(np.where(border, 0.0, sample)) or levels


def _empty(residual: np.ndarray, scale: int, dark: bool, shape: tuple[int, int]) -> InkMap:
    return InkMap(np.zeros(residual.shape, np.float32), np.zeros(residual.shape, bool), scale, dark, 0.0, shape)


def _threshold(
    residual: np.ndarray, scale: int, dark: bool, shape: tuple[int, int], noise_free: bool = False
) -> InkMap:
    levels = _levels(residual, noise_free) if noise_free else _stroke_levels(residual)
    if levels is None:
        return _empty(residual, scale, dark, shape)
    floor, contrast = levels
    hi = max(floor, 0.45 * contrast, MIN_CONTRAST)
    lo = max(0.7 * floor, 0.25 * contrast)
    # On a digital background nothing but the strokes rises above the floor: no noise to reject.
    mask = residual > lo if noise_free else hysteresis(residual, lo, hi, grainy=True)
    ink = np.clip((residual - 0.5 * lo) / (contrast - 0.5 * lo), 0.0, 1.0)
    ink[~cv2.dilate(mask.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)] = 0.0
    return InkMap(ink.astype(np.float32), mask, scale, dark, contrast, shape)


def hysteresis(values: np.ndarray, lo: float, hi: float, grainy: bool = False) -> np.ndarray:
    """Pixels above ``lo`` that are connected to a pixel above ``hi``.

    With ``grainy``, when more than ``GRAIN_PIECES`` pieces are kept, those that stand out
    little from the noise around them are dropped too: the grain of a dark table or of a
    shadowed, noisy corner of a photo, which would otherwise be read as digits.
    """
    weak = (values > lo).view(np.uint8) if values.dtype == bool else (values > lo).astype(np.uint8)
    n, labels = cv2.connectedComponents(weak, connectivity=8)
    if n <= 1:
        return np.zeros(values.shape, bool)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[values > hi])] = True
    keep[0] = False
    if grainy and int(keep.sum()) > GRAIN_PIECES:
        keep &= _stands_out(values, labels, n, lo)
    return keep[labels]


def _stands_out(values: np.ndarray, labels: np.ndarray, n: int, lo: float) -> np.ndarray:
    """Per component: is its mean value at least ``GRAIN_SIGMAS`` x the noise of the pixels around it?"""
    sigma = _local_noise(values, lo)
    flat = labels.ravel()
    count = np.maximum(np.bincount(flat, minlength=n), 1)
    mean = np.bincount(flat, values.ravel(), minlength=n) / count
    noise = np.bincount(flat, sigma.ravel(), minlength=n) / count
    return mean >= GRAIN_SIGMAS * noise


def _local_noise(values: np.ndarray, lo: float) -> np.ndarray:
    """The noise (a standard deviation) of the pixels below ``lo`` around each pixel, over about 40 px."""
    h, w = values.shape
    f = 8
    if min(h, w) < 4 * f:
        return np.zeros(values.shape, np.float32)
    v = values.astype(np.float32)
    d = np.abs(v - cv2.blur(v, (3, 3)))
    calm = (v < lo).astype(np.float32)
    size = (w // f, h // f)
    num = cv2.blur(cv2.resize(d * calm, size, interpolation=cv2.INTER_AREA), (5, 5))
    den = cv2.blur(cv2.resize(calm, size, interpolation=cv2.INTER_AREA), (5, 5))
    sigma = 1.25 * 1.06 * num / np.maximum(den, 1e-3)  # mean |x| of Gaussian noise is 0.8 sigma
    return cv2.resize(sigma, (w, h), interpolation=cv2.INTER_LINEAR)
