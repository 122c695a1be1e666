"""The page finder's network: a small encoder-decoder that marks, on a thumbnail, where the sheet of paper is.

Input: RGB in [0, 1], [N, 3, H, W] with H and W multiples of 16. Output: one logit per pixel at
half the input's resolution (the log-odds that the pixel is on the sheet). Dilated convolutions
and a pooled summary of the whole picture give every pixel the context a sheet needs (is this
bright area the paper, or a pale desk around it?); skip connections keep its edges sharp.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from digitreader.models.layers import conv_bn


class PageNet(nn.Module):
    def __init__(self, width: int = 16) -> None:
        super().__init__()
        c = width
        self.down1 = nn.Sequential(*conv_bn(3, c, stride=2), *conv_bn(c, c))  # 1/2
        self.down2 = nn.Sequential(*conv_bn(c, 2 * c, stride=2), *conv_bn(2 * c, 2 * c))  # 1/4
        self.down3 = nn.Sequential(*conv_bn(2 * c, 3 * c, stride=2), *conv_bn(3 * c, 3 * c))  # 1/8
        self.down4 = nn.Sequential(*conv_bn(3 * c, 4 * c, stride=2), *_dilated(4 * c, 2), *_dilated(4 * c, 4))  # 1/16
        self.summary = nn.Sequential(nn.Conv2d(4 * c, 4 * c, 1), nn.ReLU(inplace=True))
        self.up3 = nn.Sequential(*conv_bn(7 * c, 3 * c))
        self.up2 = nn.Sequential(*conv_bn(5 * c, 2 * c))
        self.up1 = nn.Sequential(*conv_bn(3 * c, c), nn.Conv2d(c, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - 0.5) / 0.25
        d1 = self.down1(x)
        d2 = self.down2(d1)
        d3 = self.down3(d2)
        d4 = self.down4(d3)
        d4 = d4 + self.summary(d4.mean(dim=(2, 3), keepdim=True))
        u = self.up3(torch.cat([_up(d4), d3], 1))
        u = self.up2(torch.cat([_up(u), d2], 1))
        return self.up1(torch.cat([_up(u), d1], 1))


def _dilated(c: int, dilation: int) -> list[nn.Module]:
    return [nn.Conv2d(c, c, 3, 1, dilation, dilation, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
