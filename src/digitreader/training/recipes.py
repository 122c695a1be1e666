"""Every model's training recipe in one place (as airbench keeps its knobs in one dict).

The seed models are trained the way their tutorials did (Adam-style optimiser, no
augmentation for the MLP); ours use SGD + OneCycle, augmentation, label smoothing.
"""

from __future__ import annotations

from dataclasses import replace

from digitreader.training.augment import AugmentConfig
from digitreader.training.train import TrainConfig

NO_AUGMENT = AugmentConfig(rotate_deg=0, scale=0, shift=0, shear_deg=0)
LIGHT = AugmentConfig(rotate_deg=8, scale=0.08, shift=0.08, shear_deg=0)
# For the shipped model: wide enough for drawn and photographed digits, plus pen-width jitter.
STRONG = AugmentConfig(rotate_deg=12, scale=0.12, shift=0.1, shear_deg=8, stroke_p=0.1)

RECIPES: dict[str, TrainConfig] = {
    "mlp": TrainConfig(
        model="mlp", epochs=20, optimizer="adamw", lr=2e-3, weight_decay=1e-4, label_smoothing=0.0, augment=NO_AUGMENT
    ),
    # Without augmentation LeNet-5 overfits: 100% of the training set and 98.96% test after 20 epochs
    # (bench-models, 2026-11-23); light affine augmentation, as LeCun et al. used distortions, lifts it.
    "lenet5": TrainConfig(
        model="lenet5", epochs=15, optimizer="adamw", lr=3e-3, weight_decay=1e-4, label_smoothing=0.0, augment=LIGHT
    ),
    "cnn2": TrainConfig(
        model="cnn2", epochs=12, optimizer="adamw", lr=2e-3, weight_decay=1e-4, label_smoothing=0.0, augment=LIGHT
    ),
    "cnn3": TrainConfig(
        model="cnn3", epochs=12, optimizer="adamw", lr=2e-3, weight_decay=1e-4, label_smoothing=0.0, augment=LIGHT
    ),
    "swift": TrainConfig(model="swift", epochs=6, batch_size=128, lr=0.2, augment=LIGHT),
    # The plain reference the speed goal is measured against (issue 2): a 150k-parameter CNN with BN,
    # data as tensors, batched affine augmentation, AdamW + OneCycle.
    "reference": TrainConfig(
        model="sharp", epochs=3, batch_size=128, optimizer="adamw", lr=3e-3, weight_decay=1e-2, augment=LIGHT
    ),
    "sharp": TrainConfig(model="sharp", epochs=30, batch_size=128, lr=0.1, ema_decay=0.999, augment=STRONG),
}


def recipe_for(name: str) -> TrainConfig:
    """The named recipe (a copy), or the generic SGD recipe for a model without one."""
    if name in RECIPES:
        return replace(RECIPES[name])
    return TrainConfig(model=name)
