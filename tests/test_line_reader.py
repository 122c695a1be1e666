"""The CTC line reader: decoding and scoring in numpy, the strip, the bundled network, and `read` with it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from digitreader.errors import NoDigitError
from digitreader.vision.line_reader import BLANK, LineReader, greedy, score
from digitreader.vision.strip import HEIGHT, group_strip


def _collapse(path: tuple[int, ...]) -> str:
    out, prev = [], BLANK
    for k in path:
        if k != BLANK and k != prev:
            out.append(str(k))
        prev = k
    return "".join(out)


@pytest.mark.parametrize("text", ["7", "12", "11", "303"])
def test_score_is_the_sum_over_all_alignments(text: str) -> None:
    """The forward algorithm equals brute force: log of the summed probability of every path that collapses to text."""
    rng = np.random.default_rng(len(text))
    classes = sorted({BLANK, *(int(c) for c in text), 5})  # a small alphabet keeps the enumeration short
    t_len = 5
    logits = rng.normal(size=(t_len, 11))
    logits[:, [k for k in range(11) if k not in classes]] = -np.inf
    logp = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    total = -np.inf
    for path in itertools.product(classes, repeat=t_len):
        if _collapse(path) == text:
            total = np.logaddexp(total, sum(logp[t, k] for t, k in enumerate(path)))
    assert score(logp, text) == pytest.approx(total, abs=1e-9)


def test_score_of_an_impossible_text_is_minus_infinity() -> None:
    logp = np.log(np.full((2, 11), 1 / 11))
    assert score(logp, "123") == -np.inf
    assert score(logp, "11") < score(logp, "12")  # a repeat needs a blank between: fewer paths


def test_greedy_collapses_repeats_and_blanks() -> None:
    best = [BLANK, 4, 4, BLANK, 4, 7, 7, BLANK]
    logp = np.full((len(best), 11), np.log(0.01))
    logp[np.arange(len(best)), best] = np.log(0.9)
    text, frames = greedy(logp)
    assert text == "447"
    assert frames == [1, 4, 5]


def test_strip_is_28_high_and_grows_with_the_digits() -> None:
    one = np.zeros((60, 40), np.float32)
    one[5:55, 15:22] = 1.0
    two = np.zeros((60, 90), np.float32)
    two[5:55, 15:22] = 1.0
    two[5:55, 60:67] = 1.0
    a, b = group_strip(one), group_strip(two)
    assert a.shape[0] == b.shape[0] == HEIGHT
    assert b.shape[1] > a.shape[1]
    assert float(b.min()) >= 0.0 and float(b.max()) <= 1.0
    assert float(b[:4].max()) == 0.0 and float(b[-4:].max()) == 0.0  # padded like MNIST's field
    with pytest.raises(NoDigitError):
        group_strip(np.zeros((30, 30), np.float32))


@pytest.fixture(scope="module")
def line_reader() -> LineReader:
    return LineReader(threads=1)


def test_bundled_line_reader_reads_strips_of_test_digits(line_reader, mnist_test) -> None:
    """Touching pairs of MNIST *test* digits (never seen in training), read without any cut."""
    from digitreader.data.synthetic import number_strokes

    images, labels = mnist_test
    rng = np.random.default_rng(3)
    strips, truth = [], []
    for _ in range(40):
        a, b = (int(v) for v in rng.integers(0, len(images), 2))
        strips.append(group_strip(number_strokes([images[a], images[b]], rng, "touching", height=60)))
        truth.append(f"{labels[a]}{labels[b]}")
    logps = line_reader.log_probs(strips)
    assert all(lp.shape == ((s.shape[1] + 1) // 2, 11) for lp, s in zip(logps, strips, strict=True))
    assert np.allclose(np.exp(logps[0]).sum(axis=1), 1.0, atol=1e-4)
    right = sum(greedy(lp)[0] == t for lp, t in zip(logps, truth, strict=True))
    assert right >= 32, f"{right} of 40"


def test_read_with_the_line_reader_beats_reading_without_it(recognizer, mnist_test) -> None:
    """Touching pairs on paper: the line reader's scores pick better cuts than the recognizer alone."""
    from digitreader import Recognizer
    from digitreader.data.synthetic import number_strokes

    images, labels = mnist_test
    alone = Recognizer(line_model=None)
    rng = np.random.default_rng(11)
    with_line = without = 0
    for _ in range(40):
        a, b = (int(v) for v in rng.integers(0, len(images), 2))
        ink = number_strokes([images[a], images[b]], rng, "touching", height=60)
        page = (250 - 220 * np.pad(ink, 30)).astype(np.uint8)
        truth = f"{labels[a]}{labels[b]}"
        reading = recognizer.read(page)
        with_line += reading.text == truth
        without += alone.read(page).text == truth
        assert len(reading.digits) == len(reading.text)
    assert with_line >= without + 4, (with_line, without)


def test_bundled_line_reader_has_a_card_that_matches_it() -> None:
    """The card says how to make the file again (command, seed) and which file it is (sha256)."""
    import hashlib
    import json

    from digitreader.vision.line_reader import bundled_line_model

    path = bundled_line_model()
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert card["command"].startswith("digitreader train-line")
    assert card["held_out_accuracy"] >= 0.95


def test_a_digit_broken_in_two_is_read_as_one(recognizer, mnist_test, monkeypatch) -> None:
    """A 0, 4 or 8 cut in two by a gap (a pen that skipped) between two whole digits: read as three digits."""
    from test_vision_segment import write

    import digitreader.vision.segment as segment_module

    images, labels = mnist_test
    rng = np.random.default_rng(5)
    pool = np.flatnonzero(np.isin(labels, [0, 4, 8]))
    pages = []
    for _ in range(20):
        a, c = (int(v) for v in rng.integers(0, len(images), 2))
        b = int(rng.choice(pool))
        broken = images[b].copy()
        mid = round((broken.astype(float).sum(0) * np.arange(28)).sum() / broken.sum())
        broken[:, mid - 1 : mid + 1] = 0  # two columns through the centre of mass: two pieces
        pages.append((write([images[a], broken, images[c]], [30, 30]), f"{labels[a]}{labels[b]}{labels[c]}"))
    paired = sum(recognizer.read(page).text == truth for page, truth in pages)
    monkeypatch.setattr(segment_module, "PAIR_ASPECT", 0.0)  # no pairs: each piece is read on its own
    alone = sum(recognizer.read(page).text == truth for page, truth in pages)
    assert paired >= 12 and paired >= alone + 8, (paired, alone)


def test_second_opinion_is_a_product_of_experts() -> None:
    """Weight 0 leaves the digit model's answer; a sure line reader settles a digit the digit model doubts,
    and does not overturn one it is sure of."""
    from digitreader.vision.line_reader import second_opinion

    probs = np.full(10, 0.02)
    probs[[4, 9]] = [0.45, 0.39]  # the digit model: 4, barely
    logp = np.full((6, 11), np.log(1e-4))
    logp[:, 10] = 0.0  # blank everywhere ...
    logp[2, 9], logp[2, 10] = 0.0, np.log(1e-4)  # ... but a sure 9 in the middle
    assert np.allclose(second_opinion(probs, logp, weight=0.0), probs / probs.sum())
    both = second_opinion(probs, logp)
    assert int(both.argmax()) == 9 and abs(both.sum() - 1) < 1e-9
    sure = np.full(10, 1e-4)
    sure[4] = 1 - 9e-4  # the digit model is sure: its answer stands
    assert np.array_equal(second_opinion(sure, logp), sure)


def test_two_touching_1s_too_narrow_to_cut_are_read_as_two(recognizer, mnist_test, monkeypatch) -> None:
    """Two 1s written into each other make a group narrower than any cut is tried on; when the
    line reader reads two digits there, the group is cut after all ("7113", not "713")."""
    from test_vision_segment import write

    import digitreader.vision.segment as segment_module

    images, labels = mnist_test
    rng = np.random.default_rng(3)
    ones = np.flatnonzero(labels == 1)
    pages = []
    for _ in range(20):
        a, c = (int(v) for v in rng.integers(0, len(images), 2))
        p, q = (int(v) for v in rng.choice(ones, 2))
        pages.append((write([images[a], images[p], images[q], images[c]], [30, -9, 30]), f"{labels[a]}11{labels[c]}"))
    widened = sum(recognizer.read(page).text == truth for page, truth in pages)
    monkeypatch.setattr(segment_module, "WIDEN", False)
    narrow = sum(recognizer.read(page).text == truth for page, truth in pages)
    assert widened >= 16 and widened >= narrow + 3, (widened, narrow)  # 18 and 14 measured
