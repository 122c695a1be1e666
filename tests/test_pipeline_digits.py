"""Training digits written, photographed and prepared by the pipeline, for fine-tuning the digit model."""

from __future__ import annotations

import numpy as np

from digitreader.data.groups import digit_sample
from digitreader.training.digit_data import cached_digits


def test_pipeline_digits_are_reproducible_mnist_style_and_readable(mnist_path, tmp_path, recognizer) -> None:
    x, y = cached_digits(tmp_path / "d.npz", 60, 3, str(mnist_path), jobs=1)
    assert x.shape == (60, 28, 28) and x.dtype == np.uint8 and y.shape == (60,)
    again, again_y = cached_digits(tmp_path / "other.npz", 60, 3, str(mnist_path), jobs=1)
    assert np.array_equal(x, again) and np.array_equal(y, again_y)
    assert (tmp_path / "d.npz").is_file()
    # Prepared like MNIST: centred by mass; the MNIST-trained model reads nearly all of them.
    mass = x.astype(np.float64)
    total = mass.sum((1, 2))
    rows = (mass.sum(2) * np.arange(28)).sum(1) / total
    cols = (mass.sum(1) * np.arange(28)).sum(1) / total
    assert (np.abs(rows - 14) < 1.5).all() and (np.abs(cols - 14) < 1.5).all()
    assert (recognizer.classify(x.astype(np.float32) / 255).argmax(1) == y).mean() >= 0.9


def test_digit_sample_uses_the_given_training_digits(mnist_test) -> None:
    images, labels = mnist_test
    one = images[labels == 7][:5]
    for seed in range(5):
        digit, label = digit_sample(one, np.full(len(one), 7), np.random.default_rng(seed))
        assert label == 7 and digit.shape == (28, 28) and digit.min() >= 0.0 and digit.max() <= 1.0
