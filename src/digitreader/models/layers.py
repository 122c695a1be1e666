"""Building blocks shared by the model zoo."""

from __future__ import annotations

import torch
from torch import nn

# MNIST training-set pixel statistics (images scaled to [0, 1]).
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class Normalize(nn.Module):
    """Standardise [0, 1] inputs inside the graph, so the ONNX contract stays 'pixels in [0, 1]'."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - MNIST_MEAN) / MNIST_STD


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1) -> list[nn.Module]:
    """Conv (no bias) + BatchNorm + ReLU; BN folds into the conv at ONNX export."""
    return [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def classifier(body: nn.Module) -> nn.Sequential:
    """Prefix a body with input normalisation."""
    return nn.Sequential(Normalize(), body)
