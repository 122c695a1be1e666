"""Our architectures, designed for accuracy per millisecond on a CPU."""

from __future__ import annotations

from torch import nn

from digitreader.models.layers import conv_bn
from digitreader.models.registry import register

# Layers are declared as data, one stage per line.
# fmt: off


def _pool_first(c1: int, c2: int, c3: int) -> list[nn.Module]:
    """Three conv stages that pool *before* BN + ReLU: the same function class (max-pooling
    commutes with a per-channel monotone map), but BN and ReLU run on a quarter of the pixels,
    which made training 1.46x faster on 2 CPU cores (5,052 vs 3,456 images/s at batch 128)."""
    return [
        nn.Conv2d(1, c1, 5, padding=2, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(c1), nn.ReLU(inplace=True),
        nn.Conv2d(c1, c2, 3, padding=1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(c2), nn.ReLU(inplace=True),
        nn.Conv2d(c2, c3, 3, padding=1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(c3), nn.ReLU(inplace=True),
        nn.Flatten(), nn.Linear(c3 * 9, 10),
    ]


@register("swift", "tiny pool-first CNN with BN (29k params): the fast-training model", "ours")
def swift() -> nn.Module:
    return nn.Sequential(*_pool_first(16, 32, 64))


@register("swift24", "wider pool-first CNN with BN (61k params)", "ours")
def swift24() -> nn.Module:
    return nn.Sequential(*_pool_first(24, 48, 96))


@register("sharp", "VGG-style CNN with BN, 5 conv layers (150k params): the default model", "ours")
def sharp() -> nn.Module:
    return nn.Sequential(
        *conv_bn(1, 32), *conv_bn(32, 32), nn.MaxPool2d(2),   # 32x14x14
        *conv_bn(32, 64), *conv_bn(64, 64), nn.MaxPool2d(2),  # 64x7x7
        *conv_bn(64, 128), nn.MaxPool2d(2),                   # 128x3x3: keep where strokes are
        nn.Flatten(), nn.Dropout(0.2), nn.Linear(128 * 9, 10),
    )
