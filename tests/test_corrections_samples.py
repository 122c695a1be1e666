"""Corrections -> training samples: single digits, and numbers through the reader's own alignment."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from drawing import draw

from digitreader.corrections.samples import correction_samples, read_samples
from digitreader.corrections.store import Correction, CorrectionStore
from digitreader.results import Digit, Reading


def png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    assert ok
    return buf.tobytes()


def number(digits: str) -> np.ndarray:
    """The digits drawn side by side, dark on white (grey)."""
    return np.hstack([cv2.cvtColor(draw(int(d), size=120), cv2.COLOR_RGBA2GRAY) for d in digits])


def correction(image: np.ndarray, label: str, mode: str) -> Correction:
    return Correction(mode=mode, label=label, answer={}, model_sha256="", media_type="image/png", image=png(image))


class FakeReader:
    """Reads whatever it was told to, one 28x28 input per digit (input k is filled with k / 10)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def read(self, image: object) -> Reading:
        digits = [
            Digit(int(c), 0.9, (10 * k, 0, 10, 10), input=np.full((28, 28), k / 10, np.float32))
            for k, c in enumerate(self.text.replace("\n", ""))
        ]
        return Reading(self.text, digits)


def test_a_number_gives_a_digit_sample_per_digit_when_the_counts_match() -> None:
    pairs, _ = read_samples(FakeReader("417"), number("417"), "419")
    assert pairs is not None
    assert [d for _, d in pairs] == [4, 1, 9]  # the label's digits, paired in reading order
    assert [float(x[0, 0]) for x, _ in pairs] == pytest.approx([0.0, 0.1, 0.2])  # the reader's own inputs


def test_a_number_read_with_another_count_of_digits_is_skipped_and_counted() -> None:
    pairs, lines = read_samples(FakeReader("41"), number("417"), "417")
    assert pairs is None and lines == []
    rows = [correction(number("417"), "417", "read"), correction(number("52"), "52", "read")]
    s = correction_samples(rows, FakeReader("41"))
    assert s.counts["read"] == 2 and s.counts["read_skipped"] == 1 and s.counts["read_digits"] == 2
    assert s.labels.tolist() == [5, 2]


def test_store_rows_become_samples_with_the_real_reader(tmp_path, recognizer) -> None:  # type: ignore[no-untyped-def]
    store = CorrectionStore(tmp_path / "c.sqlite3")
    for d in (3, 7):
        store.add(correction(cv2.cvtColor(draw(d), cv2.COLOR_RGBA2GRAY), str(d), "predict"))
    store.add(correction(number("29"), "29", "read"))
    store.add(correction(number("29"), "2\n9", "read"))  # two lines wanted, one found: no line strip
    store.add(Correction(mode="predict", label="1", answer={}, model_sha256="", media_type="image/png", image=b"no"))
    s = correction_samples(store, recognizer)
    assert s.images.shape == (6, 28, 28) and s.images.dtype == np.float32 and float(s.images.max()) <= 1.0
    assert s.labels.tolist() == [3, 7, 2, 9, 2, 9]
    assert s.counts == {
        "predict": 3,
        "read": 2,
        "read_digits": 4,
        "read_skipped": 0,
        "lines": 1,
        "unreadable": 1,
    }
    strip, text = s.lines[0]
    assert text == "29" and strip.shape[0] == 28 and strip.shape[1] > 28
