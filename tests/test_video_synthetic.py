"""The generated test video: reproducible, and its per-frame truth agrees with what is drawn."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from digitreader.data.synthetic_video import FrameTruth, generate, score


@pytest.fixture(scope="module")
def clip(mnist_test: tuple[np.ndarray, np.ndarray]) -> list[tuple[np.ndarray, FrameTruth]]:
    images, labels = mnist_test
    return list(generate(images, labels, seconds=4.0, seed=3))


def test_same_seed_same_video(mnist_test: tuple[np.ndarray, np.ndarray], clip) -> None:
    images, labels = mnist_test
    again = list(generate(images, labels, seconds=0.5, seed=3))
    for (a, ta), (b, tb) in zip(clip, again, strict=False):
        assert ta == tb
        assert np.array_equal(a, b)
    other = next(generate(images, labels, seconds=0.1, seed=4))
    assert not np.array_equal(other[0], clip[0][0])


def test_truth_follows_the_scenario(clip) -> None:
    truths = [t for _, t in clip]
    assert {t.motion for t in truths} == {"still", "pan", "shake"}  # the first 4 s; "light" comes at 4.5 s
    for prev, t in itertools.pairwise(truths):
        assert t.still == (0 if t.text != prev.text else prev.still + 1)
    for t in truths:
        assert t.text == "".join(map(str, t.digits)) and 2 <= len(t.digits) <= 5
        assert len(t.boxes) == len(t.digits)
    assert len({t.text for t in truths}) >= 2  # a digit is added at 3 s


def test_digits_are_inked_where_the_truth_says(clip) -> None:
    for frame, t in clip[::15]:
        grey = frame.mean(axis=2)
        for x, y, w, h in t.boxes:
            assert x >= 0 and y >= 0 and x + w <= 640 and y + h <= 480
            inside = grey[y : y + h, x : x + w]
            assert inside.min() < 0.5 * np.median(grey)  # dark ink on light paper
        assert np.median(grey) > 150


def test_score_counts_correct_frames_and_changes() -> None:
    def truth(i: int, text: str, still: int) -> FrameTruth:
        return FrameTruth(i, i / 30, text, [int(c) for c in text], [(0, 0, 1, 1)] * len(text), still, "still")

    truths = [truth(i, "12", i) for i in range(8)] + [truth(8 + i, "3", i) for i in range(8)]
    texts = ["", "", "12", "12", "12", "12", "12", "12", "12", "12", "3", "3", "3", "3", "8", "3"]
    s = score(truths, texts, after=5)
    assert (s.frames, s.correct, s.changes) == (6, 5, 2)  # frames 5-7 and 13-15; the 8 is wrong and flickers
    with pytest.raises(ValueError):
        score(truths, texts[:-1])
