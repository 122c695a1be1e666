"""The field reader: a convolutional network read out with CTC over a whole field.

It takes a field as ``vision.field_reader.field_input`` gives it, [N, 1, 64, W], and returns
per-frame log-probabilities [N, W / 2, 11] (ten digits, then the blank). Its features are
pooled over the height (a max), so a number is read wherever it sits in the crop; what is
not a digit (rules, the book's edge, separators, printed words, patterns) learns to be blank.
"""

from __future__ import annotations

import torch
from torch import nn

from digitreader.models.layers import Normalize
from digitreader.vision.line_reader import BLANK

CLASSES = BLANK + 1


def _conv(cin: int, cout: int, k: int = 3) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


def _conv1d(cin: int, cout: int, dilation: int = 1) -> list[nn.Module]:
    return [nn.Conv1d(cin, cout, 3, padding=dilation, dilation=dilation, bias=False), nn.BatchNorm1d(cout), nn.ReLU()]


class FieldNet(nn.Module):
    """Five conv stages (64 -> 4 rows, width halved once), a max over rows, dilated 1-D convs."""

    def __init__(self, width: int = 160) -> None:
        super().__init__()
        # fmt: off
        self.body = nn.Sequential(
            Normalize(),
            *_conv(1, 32, 5), nn.MaxPool2d(2),  # 32 x W/2
            *_conv(32, 64), nn.MaxPool2d((2, 1)),  # 16
            *_conv(64, 96), *_conv(96, 96), nn.MaxPool2d((2, 1)),  # 8
            *_conv(96, 128), nn.MaxPool2d((2, 1)),  # 4
            *_conv(128, 128),
        )
        self.head = nn.Sequential(
            *_conv1d(128, width), *_conv1d(width, width, 2), *_conv1d(width, width, 4),
            nn.Dropout(0.2), nn.Conv1d(width, CLASSES, 1),
        )
        # fmt: on

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.body(x).amax(dim=2)  # [N, C, T]
        return torch.log_softmax(self.head(f), dim=1).transpose(1, 2)  # [N, T, 11]
