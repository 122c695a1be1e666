"""The line reader: a convolutional network read out with CTC (Graves et al., 2006).

It takes a strip of one or more digits, [N, 1, 28, W] in [0, 1] (``vision.strip``), and
returns per-column log-probabilities [N, W / 2, 11]: the ten digits, then the CTC blank.
It needs no cut between touching digits: the alignment is learned. ``read`` uses it to
score the ways of cutting a group (``vision.segment``). ``LineNet`` comes in two sizes;
``LineEnsemble`` reads several as one (the bundled reader is ``small+large``).
"""

from __future__ import annotations

import torch
from torch import nn

from digitreader.models.layers import Normalize
from digitreader.vision.line_reader import BLANK

CLASSES = BLANK + 1  # the ten digits, then the CTC blank


def _conv1d(cin: int, cout: int, dilation: int = 1) -> list[nn.Module]:
    return [nn.Conv1d(cin, cout, 3, padding=dilation, dilation=dilation, bias=False), nn.BatchNorm1d(cout), nn.ReLU()]


SIZES = ("small", "large")


def _conv2d(cin: int, cout: int, k: int = 3) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class LineNet(nn.Module):
    """Conv stages that halve the width once and bring the height to 3, then dilated 1-D convs
    along the line (receptive field about two digits).

    ``small`` (the first bundled reader, 213k parameters): one pool-first conv per stage, as
    ``swift``. ``large`` (586k): two convs per stage after the first, wider, a wider head;
    about 2.7x the compute.
    """

    def __init__(self, width: int | None = None, size: str = "small") -> None:
        super().__init__()
        if size not in SIZES:
            raise ValueError(f"unknown line reader size {size!r}: one of {', '.join(SIZES)}")
        # fmt: off
        if size == "small":
            width = width or 128
            self.body = nn.Sequential(
                Normalize(),
                nn.Conv2d(1, 24, 5, padding=2, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(24), nn.ReLU(),  # 14
                nn.Conv2d(24, 48, 3, padding=1, bias=False), nn.MaxPool2d((2, 1)), nn.BatchNorm2d(48), nn.ReLU(),
                nn.Conv2d(48, 64, 3, padding=1, bias=False), nn.MaxPool2d((2, 1)), nn.BatchNorm2d(64), nn.ReLU(),  # 3
            )
            channels = 64
        else:
            width = width or 192
            self.body = nn.Sequential(
                Normalize(),
                *_conv2d(1, 32, 5), nn.MaxPool2d(2),  # 14 x W/2
                *_conv2d(32, 64), *_conv2d(64, 64), nn.MaxPool2d((2, 1)),  # 7
                *_conv2d(64, 96), *_conv2d(96, 96), nn.MaxPool2d((2, 1)),  # 3
            )
            channels = 96
        self.head = nn.Sequential(
            *_conv1d(channels * 3, width), *_conv1d(width, width, 2), *_conv1d(width, width, 4),
            nn.Dropout(0.2), nn.Conv1d(width, CLASSES, 1),
        )
        # fmt: on

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.body(x).flatten(1, 2)  # [N, C * 3, T]
        logits = self.head(f)  # [N, 11, T]
        return torch.log_softmax(logits, dim=1).transpose(1, 2)  # [N, T, 11]


class LineEnsemble(nn.Module):
    """Several line readers read as one: the mean of their per-frame log-probabilities, renormalised
    (a product of experts). Every size has the same frame rate (one frame per two columns), so the
    frames line up; readers of different sizes, trained apart, err on different strips."""

    def __init__(self, sizes: list[str]) -> None:
        super().__init__()
        self.members = nn.ModuleList(LineNet(size=s) for s in sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.stack([m(x) for m in self.members]).mean(dim=0)
        return torch.log_softmax(mean, dim=2)


def line_net(size: str = "small") -> nn.Module:
    """The line reader of ``size``: one of ``SIZES``, or an ensemble of them written ``small+large``."""
    parts = size.split("+")
    return LineNet(size=size) if len(parts) == 1 else LineEnsemble(parts)
