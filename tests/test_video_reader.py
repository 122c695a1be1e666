"""The live reader with the real segmenter and model: work is skipped where nothing changed,
one inference call per frame, and small digits are read at full resolution."""

from __future__ import annotations

import numpy as np
import pytest

from digitreader.data.synthetic_video import generate, number_frame
from digitreader.video import Frame, LiveReader, Settings


class CountingModel:
    """The real ``Recognizer.classify``, counting calls and batch sizes."""

    def __init__(self, recognizer) -> None:  # type: ignore[no-untyped-def]
        self.recognizer = recognizer
        self.batches: list[int] = []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.batches.append(len(batch))
        return self.recognizer.classify(batch)


def run(reader: LiveReader, images: list[np.ndarray]):  # type: ignore[no-untyped-def]
    return [reader.process(Frame(i, i / 30, image)) for i, image in enumerate(images)]


@pytest.fixture(scope="module")
def clip(mnist_test):  # type: ignore[no-untyped-def]
    """Two seconds of the test video: 1.5 s of a still sheet, then a pan."""
    images, labels = mnist_test
    return list(generate(images, labels, seconds=2.0, seed=5))


def test_still_frames_are_not_reanalysed_and_motion_is(clip, recognizer) -> None:
    results = run(LiveReader(recognizer.classify), [f for f, _ in clip])
    still = [r for r, (_, t) in zip(results, clip, strict=True) if t.motion == "still"]
    moving = [r for r, (_, t) in zip(results, clip, strict=True) if t.motion == "pan"]
    assert still[0].analysed and not any(r.analysed for r in still[1:])  # sensor noise alone is not a change
    assert sum(r.analysed for r in moving) >= len(moving) // 2
    assert all(r.classified == 0 for r in still[1:])
    truth = clip[-1][1].text
    assert [r.text for r in results[10:]] == [truth] * (len(results) - 10)


def test_one_inference_call_per_frame_at_most(clip, recognizer) -> None:
    model = CountingModel(recognizer)
    results = run(LiveReader(model), [f for f, _ in clip])
    assert len(model.batches) == sum(r.classified > 0 for r in results)
    assert model.batches == [r.classified for r in results if r.classified]


def test_only_the_new_digit_goes_to_the_model(mnist_test, recognizer) -> None:
    images, labels = mnist_test
    model = CountingModel(recognizer)
    reader = LiveReader(model, Settings(still_threshold=-1))  # analyse every frame
    before = number_frame(images, [3, 2, 1], seed=1, slots=4)
    after = number_frame(images, [3, 2, 1, 18], seed=1, slots=4)  # the same sheet with a fourth digit
    results = run(reader, [before] * 4 + [after] * 4)
    first, added, *rest = model.batches
    fresh = CountingModel(recognizer)
    LiveReader(fresh).process(Frame(0, 0.0, after))
    assert first >= 3 and added == fresh.batches[0] - first  # only the new digit's candidates were classified
    assert rest == []  # unchanged inputs never go back to the model
    assert results[-1].text == "".join(str(labels[i]) for i in (3, 2, 1, 18))


def test_small_digits_are_read_at_full_resolution(mnist_test, recognizer) -> None:
    """Digits about 10 px tall in 640x480 (5 px at the 320 px detection width), held still for 12 frames."""
    images, labels = mnist_test
    rng = np.random.default_rng(7)
    right = {"adaptive": 0, "coarse only": 0}
    for n in range(6):
        picks = [int(i) for i in rng.choice(len(labels), 4, replace=False)]
        frames = [number_frame(images, picks, digit_size=14, seed=n)] * 12
        truth = "".join(str(labels[i]) for i in picks)
        for name, settings in (("adaptive", Settings()), ("coarse only", Settings(min_digit_px=0, probe_every=99))):
            right[name] += run(LiveReader(recognizer.classify, settings), frames)[-1].text == truth
    assert right["adaptive"] >= 5 and right["adaptive"] > right["coarse only"], right


def test_blank_view_is_probed_at_full_resolution(mnist_test, recognizer) -> None:
    """With no digit in view, every ``probe_every``-th frame is read at full resolution (digits too small
    for the coarse level would otherwise never be found); still frames in between cost nothing."""
    from digitreader.vision.segment import read_number

    images, _ = mnist_test
    widths: list[int] = []

    def recording(image, classify):  # type: ignore[no-untyped-def]
        widths.append(image.pixels.shape[1])  # a Scaled frame, with the sheet found on it
        return read_number(image, classify)

    blank = number_frame(images, [], seed=2)
    reader = LiveReader(recognizer.classify, Settings(probe_every=4), read_number=recording)
    results = run(reader, [blank] * 12)
    assert widths == [320, 640, 640]  # the first frame, then a probe at frames 4 and 8
    assert [r.frame for r in results if r.analysed] == [0, 4, 8]
    assert all(r.text == "" for r in results)


def test_the_tracker_votes_for_the_digit_the_reading_chose(mnist_test, recognizer) -> None:
    """Where the line reader overrules the digit model (a touching "09" whose 9 the model alone
    takes for a 7), the digit shown is the one read, not the model's first choice."""
    from digitreader.results import Digit, Reading
    from digitreader.vision.segment import read_number

    images, _ = mnist_test
    frame = number_frame(images, [0], seed=3)  # MNIST test digit 0 is a 7

    def overruled(image: np.ndarray, classify):  # type: ignore[no-untyped-def]
        reading = read_number(image, classify)
        digits = []
        for d in reading.digits:
            p = np.asarray(d.probabilities)
            second = int(np.argsort(p)[-2])  # the reading chose the model's second choice
            digits.append(Digit(second, float(p[second]), d.box, d.probabilities))
        return Reading("".join(str(d.digit) for d in digits), digits)

    plain = run(LiveReader(recognizer.classify), [frame] * 8)[-1]
    chosen = run(LiveReader(recognizer.classify, read_number=overruled), [frame] * 8)[-1]
    assert plain.text == "7"
    assert len(chosen.text) == 1 and chosen.text != "7"
    assert [d.digit for d in chosen.digits] == [int(chosen.text)]


def test_a_sheet_the_finder_misses_on_one_frame_is_where_it_was(mnist_test, recognizer, monkeypatch) -> None:
    """The page finder misses the sheet on one frame of a held sheet: that frame is read on the sheet
    found before (not on the whole frame, desk and all); a frame of another scene is not."""
    from digitreader.data.desk import desk_video
    from digitreader.vision import page
    from digitreader.vision.segment import read_number

    images, labels = mnist_test
    frames = [f for f, _ in desk_video(images, labels, seconds=0.2, seed=11)]
    other = np.full_like(frames[0], 90)
    other[100:380, 150:500] = 200  # another scene: a lighter sheet on a dark desk
    other[200:260, 250:262] = 40
    finder, sheets = page.find_sheet, []
    monkeypatch.setattr(page, "find_sheet", lambda image: None if len(sheets) in (3, 6) else finder(image))

    def recording(image, classify):  # type: ignore[no-untyped-def]
        sheets.append(image.sheet)
        return read_number(image, classify)

    reader = LiveReader(recognizer.classify, read_number=recording)
    run(reader, [*frames[:6], other])
    assert all(len(s) == 4 for s in sheets[:6])  # found, then followed on the missed frame 3
    assert np.abs(sheets[3] - sheets[2]).max() == 0
    assert len(sheets[6]) == 0  # missed on another scene: no sheet
    sheets.clear()
    off = LiveReader(recognizer.classify, Settings(follow_sheet=False), read_number=recording)
    run(off, frames[:6])
    assert len(sheets[3]) == 0 and all(len(s) == 4 for s in sheets[:3])
