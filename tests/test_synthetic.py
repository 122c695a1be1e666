"""The evaluation set: made from MNIST test digits only, reproducible by seed, written as PNG + labels.csv."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from digitreader.cli import main
from digitreader.data import synthetic
from digitreader.data.synthetic import KINDS, PARTS, number_strokes, render_digit_photo, render_number, samples


def test_same_seed_same_images_other_seed_other_images(mnist_test) -> None:
    for part in PARTS:
        a = [s.image for s in samples(part, 1, seed=5, mnist=mnist_test)]
        b = [s.image for s in samples(part, 1, seed=5, mnist=mnist_test)]
        c = [s.image for s in samples(part, 1, seed=6, mnist=mnist_test)]
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
        assert not any(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_labels_come_from_the_test_digits_used(mnist_test) -> None:
    images, labels = mnist_test
    for part in PARTS:
        for s in samples(part, 3, seed=1, mnist=mnist_test):
            assert s.label == "".join(str(int(labels[k])) for k in s.sources)
            assert all(0 <= k < len(images) for k in s.sources)
            assert s.image.dtype == np.uint8 and s.image.ndim == 3 and s.image.shape[2] == 3
    kinds = {s.kind for s in samples("numbers", 3, seed=1, mnist=mnist_test)}
    assert kinds == set(KINDS)


def test_numbers_and_photos_show_the_same_numbers(mnist_test) -> None:
    numbers = list(samples("numbers", 2, seed=2, mnist=mnist_test))
    photos = list(samples("photos", 2, seed=2, mnist=mnist_test))
    assert [(s.label, s.kind, s.sources) for s in numbers] == [(s.label, s.kind, s.sources) for s in photos]
    assert all(2 <= len(s.label) <= 8 for s in numbers)


def test_only_the_test_split_is_read(monkeypatch, tmp_path) -> None:
    asked = []

    def fake_load(split, data_dir=None, **kw):
        asked.append(split)
        rng = np.random.default_rng(0)
        return rng.integers(0, 255, (20, 28, 28), dtype=np.uint8), rng.integers(0, 10, 20)

    monkeypatch.setattr("digitreader.data.load_mnist", fake_load)
    synthetic.write_evalset(tmp_path, count=1, seed=0)
    assert asked == ["test"]


def test_touching_digits_touch_and_apart_digits_do_not(mnist_test) -> None:
    images, _ = mnist_test
    rng = np.random.default_rng(0)
    for kind, connected in (("touching", True), ("apart", False)):
        alpha = number_strokes([images[0], images[1]], rng, kind, height=60)
        n, _ = cv2.connectedComponents((alpha > 0.5).astype(np.uint8))
        assert (n - 1 == 1) == connected, kind


def test_renderers_return_photos(mnist_test) -> None:
    images, _ = mnist_test
    rng = np.random.default_rng(4)
    photo = render_digit_photo(images[0], rng)
    assert photo.dtype == np.uint8 and photo.shape[0] >= 480 and photo.shape[2] == 3
    scan = render_number([images[0], images[1], images[2]], rng, "close")
    assert scan.shape[1] > scan.shape[0]
    with pytest.raises(ValueError, match="kind"):
        render_number([images[0]], rng, "sideways")


def test_cli_writes_the_set(mnist_path, tmp_path, capsys) -> None:
    out = tmp_path / "evalset"
    args = ["data", "evalset", "--out", str(out), "--count", "2", "--seed", "3", "--data-dir", str(mnist_path)]
    assert main(args) == 0
    with open(out / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["part"] for r in rows] == ["digits"] * 2 + ["numbers"] * 2 + ["photos"] * 2
    for r in rows:
        img = cv2.imread(str(out / r["file"]))
        assert img is not None and r["file"].endswith(".png")
        assert r["label"].isdigit()


def test_no_photo_shows_a_mirrored_copy_of_the_ink() -> None:
    """The photo's view reflects the sheet past its edges: ink that near an edge is refused."""
    from digitreader.data.render import mirrors_ink, perspective

    h, w = 200, 300
    tilted = cv2.getRotationMatrix2D((w / 2, h / 2), 8, 1.0)
    view = np.vstack([tilted, [0, 0, 1]]).astype(np.float64)  # rotating shows corners beyond the sheet
    assert mirrors_ink(view, (2, 80, 40, 40), h, w)  # at the left edge: reflected into view
    assert not mirrors_ink(view, (130, 80, 40, 40), h, w)  # in the middle: safe
    assert not mirrors_ink(np.eye(3), (0, 0, 40, 40), h, w)  # a straight view shows nothing beyond the sheet
    # And it is right about the pixels: ink at the edge shows up twice once warped.
    page = np.ones((h, w, 3), np.float32)
    page[80:120, 2:12] = 0.0
    warped = perspective(page, view)
    dark = (warped[..., 0] < 0.5).astype(np.uint8)
    assert cv2.connectedComponents(dark)[0] - 1 == 2
