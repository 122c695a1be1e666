"""The "is it a digit?" gate: a small binary CNN on the same 28x28 input as the digit model.

It answers one logit (the log-odds that the input is a digit at all) and is trained on digits of
every kind against generated non-digits (``training.gate``). It is not in the zoo's registry: the
zoo is for 10-class digit models.
"""

from __future__ import annotations

from torch import nn

from digitreader.models.layers import classifier, conv_bn

# fmt: off


def gate(width: int = 32) -> nn.Sequential:
    """Five 3x3 conv layers, max-pooled to one vector (where on the grid a stroke is matters less
    than whether any part looks unlike a digit's), and one logit."""
    c = width
    return classifier(nn.Sequential(
        *conv_bn(1, c), *conv_bn(c, c), nn.MaxPool2d(2),              # c x 14 x 14
        *conv_bn(c, 2 * c), *conv_bn(2 * c, 2 * c), nn.MaxPool2d(2),  # 2c x 7 x 7
        *conv_bn(2 * c, 4 * c), nn.AdaptiveMaxPool2d(1),              # 4c
        nn.Flatten(), nn.Linear(4 * c, 1),
    ))
