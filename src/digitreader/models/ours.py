"""Our architectures, designed for accuracy per millisecond on a CPU."""

from __future__ import annotations

from torch import nn

from digitreader.models.layers import conv_bn
from digitreader.models.registry import register

# Layers are declared as data, one stage per line.
# fmt: off


@register("swift", "tiny 3-stage CNN with BN (29k params): the fast-training model", "ours")
def swift() -> nn.Module:
    return nn.Sequential(
        *conv_bn(1, 16, 5), nn.MaxPool2d(2),   # 16x14x14
        *conv_bn(16, 32), nn.MaxPool2d(2),     # 32x7x7
        *conv_bn(32, 64), nn.MaxPool2d(2),     # 64x3x3
        nn.Flatten(), nn.Linear(64 * 9, 10),
    )


@register("swift2", "small 2-stage CNN with BN (75k params)", "ours")
def swift2() -> nn.Module:
    return nn.Sequential(
        *conv_bn(1, 24, 5), nn.MaxPool2d(2),
        *conv_bn(24, 48), *conv_bn(48, 48), nn.MaxPool2d(2),
        *conv_bn(48, 96), nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(96, 10),
    )


@register("sharp", "VGG-style CNN with BN, 5 conv layers (150k params): the default model", "ours")
def sharp() -> nn.Module:
    return nn.Sequential(
        *conv_bn(1, 32), *conv_bn(32, 32), nn.MaxPool2d(2),   # 32x14x14
        *conv_bn(32, 64), *conv_bn(64, 64), nn.MaxPool2d(2),  # 64x7x7
        *conv_bn(64, 128), nn.MaxPool2d(2),                   # 128x3x3: keep where strokes are
        nn.Flatten(), nn.Dropout(0.2), nn.Linear(128 * 9, 10),
    )
