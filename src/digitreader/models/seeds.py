"""The seed tutorials' models, reproduced as they describe them."""

from __future__ import annotations

from torch import nn

from digitreader.models.registry import register

# Layers are declared as data, one block per line, as the tutorials draw them.
# fmt: off


@register("mlp", "784-300-50-10 dense network", "seeds 000, 002")
def mlp() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 300), nn.ReLU(),
        nn.Linear(300, 50), nn.ReLU(),
        nn.Linear(50, 10),
    )


@register("lenet5", "LeNet-5: C1-S2-C3-S4-C5 convolutions, F6 84, output 10", "seed 003")
def lenet5() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),  # C1, S2: 6x14x14
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),            # C3, S4: 16x5x5
        nn.Conv2d(16, 120, 5), nn.Tanh(), nn.Flatten(),             # C5: 120
        nn.Linear(120, 84), nn.Tanh(),                              # F6
        nn.Linear(84, 10),
    )


@register("cnn2", "two conv+pool blocks, dense 128, dropout", "seed 001")
def cnn2() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.3),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )


@register("cnn3", "three conv layers (two pooled), dropout, two dense layers", "seed 004")
def cnn3() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),   # CL1, ML1: 32x13x13
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),  # CL2, ML2: 64x5x5
        nn.Conv2d(64, 64, 3), nn.ReLU(),                   # CL3: 64x3x3
        nn.Dropout(0.25), nn.Flatten(),                    # FL1
        nn.Linear(64 * 3 * 3, 64), nn.ReLU(),              # DL1
        nn.Linear(64, 10),                                 # DL2
    )
