"""Training digits written, photographed and prepared by the pipeline, for fine-tuning the digit model."""

from __future__ import annotations

import numpy as np

from digitreader.data.groups import NOT_A_DIGIT, digit_sample, overcut_sample, piece_sample
from digitreader.data.synthetic import number_layers, number_strokes
from digitreader.training.digit_data import VERSION, cached_digits


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


def test_cut_pieces_keep_their_labels_and_wrong_cuts_are_no_digit(mnist_path, tmp_path, recognizer) -> None:
    x, y = cached_digits(tmp_path / "p.npz", 40, 5, str(mnist_path), jobs=1, kind="pieces")
    assert x.shape[1:] == (28, 28) and x.dtype == np.uint8 and len(y) == len(x)
    again, again_y = cached_digits(tmp_path / "again.npz", 40, 5, str(mnist_path), jobs=1, kind="pieces")
    assert np.array_equal(x, again) and np.array_equal(y, again_y)
    # A cache written by another version of the samples is made again, not reused.
    z = dict(np.load(tmp_path / "p.npz"))
    np.savez_compressed(tmp_path / "p.npz", **{**z, "version": VERSION - 1, "y": np.zeros_like(z["y"])})
    assert np.array_equal(cached_digits(tmp_path / "p.npz", 40, 5, str(mnist_path), jobs=1, kind="pieces")[1], y)
    digit, other = y >= 0, y == NOT_A_DIGIT
    assert (digit | other).all() and digit.sum() >= 60 and other.sum() >= 40
    # A right cut's piece is a digit with a neighbour's stray strokes: the MNIST-trained model reads
    # most of them; it is much less sure of the pieces of wrong cuts and of two digits taken as one.
    probs = recognizer.classify(x.astype(np.float32) / 255)
    assert (probs[digit].argmax(1) == y[digit]).mean() >= 0.75
    assert probs[other].max(1).mean() < probs[digit].max(1).mean() - 0.1


def test_piece_sample_labels_the_pieces_left_to_right(mnist_test) -> None:
    images, labels = mnist_test
    ones, zeros = images[labels == 1][:1], images[labels == 0][:1]
    pair = np.concatenate([zeros, ones])  # piece_sample draws two indices: the labels follow them
    found = 0
    for seed in range(12):
        rng = np.random.default_rng(seed)
        made = piece_sample(pair, np.array([0, 1]), rng)
        drawn = np.random.default_rng(seed).integers(2, size=2)
        if made:
            found += 1
            assert [k for _, k in made[:2]] == drawn.tolist()
            assert made[2][1] == NOT_A_DIGIT  # the pair read whole
            assert all(k == NOT_A_DIGIT for _, k in made[3:]) and len(made) in (3, 5)
            assert all(p.shape == (28, 28) and p.min() >= 0.0 and p.max() <= 1.0 for p, _ in made)
    assert found >= 8


def test_overcut_sample_gives_the_digit_and_its_halves(mnist_test) -> None:
    images, labels = mnist_test
    zero = images[labels == 0][:1]
    cut = 0
    for seed in range(8):
        made = overcut_sample(zero, np.zeros(1, int), np.random.default_rng(seed))
        assert made[0][1] == 0 and [k for _, k in made[1:]] in ([], [NOT_A_DIGIT, NOT_A_DIGIT])
        cut += len(made) == 3  # none when the cheapest cut leaves a sliver
    assert cut >= 4


def test_number_layers_make_up_the_number(mnist_test) -> None:
    images, _ = mnist_test
    for kind in ("apart", "touching"):
        strokes, layers = number_layers(list(images[:3]), np.random.default_rng(4), kind, 40)
        assert np.array_equal(strokes, number_strokes(list(images[:3]), np.random.default_rng(4), kind, 40))
        assert len(layers) == 3 and all(layer.shape == strokes.shape for layer in layers)
        together = 1.0 - np.prod([1.0 - layer for layer in layers], axis=0)
        assert (together <= strokes + 1e-6).all()  # the number is its digits, plus any joining stroke
        if kind == "apart":
            assert np.allclose(together, strokes, atol=1e-6)
        # Each digit lies left of the next.
        centres = [np.average(np.arange(strokes.shape[1]), weights=layer.sum(0)) for layer in layers]
        assert centres == sorted(centres)
