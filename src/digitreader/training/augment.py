"""Batched data augmentation as tensor ops (no per-sample Python loop).

Random affine (rotation, scale, shift, shear) through one ``affine_grid`` +
``grid_sample`` call per batch; optional elastic distortion (Simard et al. 2003)
as a smoothed random displacement field added to the same sampling grid; and
stroke-width jitter (grey-level dilation/erosion) so drawings with thick pens
or thin pencils look familiar to the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    rotate_deg: float = 12.0
    scale: float = 0.12  # zoom factor drawn from [1 - scale, 1 + scale]
    shift: float = 0.12  # fraction of the image size
    shear_deg: float = 10.0
    elastic_alpha: float = 0.0  # displacement in pixels; 0 disables elastic distortion
    elastic_sigma: float = 4.0
    stroke_p: float = 0.0  # probability of dilating or eroding a digit's strokes

    @property
    def enabled(self) -> bool:
        return any((self.rotate_deg, self.scale, self.shift, self.shear_deg, self.elastic_alpha, self.stroke_p))


def _uniform(n: int, bound: float, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    return (torch.rand(n, generator=gen, device=device) * 2 - 1) * bound


def affine_matrices(n: int, cfg: AugmentConfig, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    """n random 2x3 matrices in ``affine_grid``'s normalised coordinates."""
    rot = _uniform(n, math.radians(cfg.rotate_deg), gen, device)
    shear = _uniform(n, math.radians(cfg.shear_deg), gen, device)
    zoom = 1 + _uniform(n, cfg.scale, gen, device)
    tx, ty = (_uniform(n, 2 * cfg.shift, gen, device) for _ in range(2))
    cos, sin, tan = torch.cos(rot), torch.sin(rot), torch.tan(shear)
    # Output->input mapping: inverse zoom, rotation, then horizontal shear.
    a, b = cos / zoom, (cos * tan - sin) / zoom
    c, d = sin / zoom, (sin * tan + cos) / zoom
    return torch.stack([torch.stack([a, b, tx], 1), torch.stack([c, d, ty], 1)], 1)


def _gaussian_kernel(sigma: float, device: torch.device) -> torch.Tensor:
    radius = max(1, round(2 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32, device=device)
    k = torch.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


def elastic_field(n: int, size: int, cfg: AugmentConfig, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    """Smooth random displacement [n, size, size, 2] in normalised coordinates."""
    noise = torch.rand(n * 2, 1, size, size, generator=gen, device=device) * 2 - 1
    k = _gaussian_kernel(cfg.elastic_sigma, device)
    pad = len(k) // 2
    noise = F.conv2d(F.pad(noise, (pad, pad, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    noise = F.conv2d(F.pad(noise, (0, 0, pad, pad), mode="reflect"), k.view(1, 1, -1, 1))
    noise = noise / noise.abs().amax(dim=(2, 3), keepdim=True).clamp_min(1e-6)
    return noise.view(n, 2, size, size).permute(0, 2, 3, 1) * (2 * cfg.elastic_alpha / size)


def stroke_jitter(x: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """Dilate (thicker strokes) or erode (thinner) a random fraction p of the batch."""
    n = x.shape[0]
    choice = torch.rand(n, generator=gen, device=x.device)
    dilated = F.max_pool2d(x, 3, stride=1, padding=1)
    eroded = -F.max_pool2d(-x, 3, stride=1, padding=1)
    # Blend halfway so strokes change by about one pixel in width, not two.
    dil = (choice < p / 2).view(n, 1, 1, 1)
    ero = ((choice >= p / 2) & (choice < p)).view(n, 1, 1, 1)
    out = torch.where(dil, 0.5 * (x + dilated), x)
    return torch.where(ero, 0.5 * (x + eroded), out)


def augment(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Augment a batch [N, 1, H, W] of images in [0, 1] with one sampling pass."""
    if not cfg.enabled:
        return x
    n, _, h, w = x.shape
    grid = F.affine_grid(affine_matrices(n, cfg, gen, x.device), [n, 1, h, w], align_corners=False)
    if cfg.elastic_alpha > 0:
        grid = grid + elastic_field(n, h, cfg, gen, x.device)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if cfg.stroke_p > 0:
        out = stroke_jitter(out, cfg.stroke_p, gen)
    return out
