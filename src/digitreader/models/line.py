"""The line reader: a small convolutional network read out with CTC (Graves et al., 2006).

It takes a strip of one or more digits, [N, 1, 28, W] in [0, 1] (``vision.strip``), and
returns per-column log-probabilities [N, W / 2, 11]: the ten digits, then the CTC blank.
It needs no cut between touching digits: the alignment is learned. ``read`` uses it to
score the ways of cutting a group (``vision.segment``).
"""

from __future__ import annotations

import torch
from torch import nn

from digitreader.models.layers import Normalize
from digitreader.vision.line_reader import BLANK

CLASSES = BLANK + 1  # the ten digits, then the CTC blank


def _conv1d(cin: int, cout: int, dilation: int = 1) -> list[nn.Module]:
    return [nn.Conv1d(cin, cout, 3, padding=dilation, dilation=dilation, bias=False), nn.BatchNorm1d(cout), nn.ReLU()]


class LineNet(nn.Module):
    """Pool-first conv stages (as ``swift``) that halve the width once and bring the height to 3,
    then dilated 1-D convs along the line (receptive field about two digits)."""

    def __init__(self, width: int = 128) -> None:
        super().__init__()
        # fmt: off
        self.body = nn.Sequential(
            Normalize(),
            nn.Conv2d(1, 24, 5, padding=2, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(24), nn.ReLU(),  # 14 x W/2
            nn.Conv2d(24, 48, 3, padding=1, bias=False), nn.MaxPool2d((2, 1)), nn.BatchNorm2d(48), nn.ReLU(),
            nn.Conv2d(48, 64, 3, padding=1, bias=False), nn.MaxPool2d((2, 1)), nn.BatchNorm2d(64), nn.ReLU(),  # 3
        )
        self.head = nn.Sequential(
            *_conv1d(64 * 3, width), *_conv1d(width, width, 2), *_conv1d(width, width, 4),
            nn.Dropout(0.2), nn.Conv1d(width, CLASSES, 1),
        )
        # fmt: on

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.body(x).flatten(1, 2)  # [N, C * 3, T]
        logits = self.head(f)  # [N, 11, T]
        return torch.log_softmax(logits, dim=1).transpose(1, 2)  # [N, T, 11]
