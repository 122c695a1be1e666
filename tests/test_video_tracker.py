"""Tracking and voting on synthetic boxes: ids survive shake and pans, one odd frame cannot flip a digit."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from digitreader.video.tracker import (
    Detection,
    SettledText,
    Tracker,
    TrackerConfig,
    iou,
    match,
    number_text,
    reading_order,
)


def one_hot(digit: int, p: float = 0.9) -> np.ndarray:
    probs = np.full(10, (1 - p) / 9)
    probs[digit] = p
    return probs


def row(x0: int, y: int, digits: list[int], step: int = 70, size: int = 50) -> list[Detection]:
    return [Detection((x0 + i * step, y, size, size), one_hot(d)) for i, d in enumerate(digits)]


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 0, 10, 10)) == 0.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)


def test_match_prefers_overlap_then_distance() -> None:
    tracks = [(0, 0, 40, 40), (100, 0, 40, 40)]
    detections = [(130, 0, 40, 40), (2, 1, 40, 40)]  # second: big overlap with track 0; first: 30 px from track 1
    assert sorted(match(tracks, detections, min_iou=0.2, max_shift=0.75)) == [(0, 1), (1, 0)]
    assert match([(0, 0, 40, 40)], [(200, 0, 40, 40)], 0.2, 0.75) == []  # too far: a different digit


def test_ids_survive_shake() -> None:
    rng = np.random.default_rng(0)
    tracker = Tracker()
    for _ in range(40):
        dx, dy = rng.integers(-4, 5, 2)
        tracks = tracker.update(row(100 + int(dx), 200 + int(dy), [4, 0, 9, 6]))
    assert sorted(t.id for t in tracks) == [1, 2, 3, 4]
    assert number_text(tracks) == "4096"


def test_ids_survive_a_fast_pan() -> None:
    """A sweep out and back peaking at 35 px per frame on 50 px boxes (1000 px/s at 30 fps): IoU alone fails."""
    tracker = Tracker()
    for k in range(41):
        x = 20 + 450 * (1 - np.cos(2 * np.pi * k / 40)) / 2
        tracks = tracker.update(row(round(x), 150 + k, [1, 7]))
    assert sorted(t.id for t in tracks) == [1, 2]
    assert number_text(tracks) == "17"


def test_digit_is_shown_only_after_confirm_after_hits() -> None:
    tracker = Tracker(TrackerConfig(confirm_after=3))
    shown = [number_text(tracker.update(row(50, 50, [5]))) for _ in range(4)]
    assert shown == ["", "", "5", "5"]


def test_one_odd_reading_does_not_flip_a_digit() -> None:
    tracker = Tracker()
    for _ in range(8):
        tracker.update(row(50, 50, [3]))
    odd = [Detection((50, 50, 50, 50), one_hot(8, 0.99))]
    history = [tracker.update(odd)[0].shown for _ in range(2)]
    assert history == [3, 3]


def test_a_digit_that_really_changes_is_followed() -> None:
    """A digit rewritten in place takes over once it wins the vote by the margin."""
    tracker = Tracker()
    for _ in range(8):
        tracker.update(row(50, 50, [3]))
    shown = [tracker.update(row(50, 50, [8]))[0].shown for _ in range(8)]
    assert shown[0] == 3 and shown[-1] == 8
    assert shown == sorted(shown)  # switched once, never back


def test_close_call_does_not_oscillate() -> None:
    """Readings alternating 1/7 near 50/50 must not make the shown digit alternate."""
    tracker = Tracker()
    a, b = np.zeros(10), np.zeros(10)
    a[[1, 7]] = 0.55, 0.45
    b[[1, 7]] = 0.45, 0.55
    shown = [tracker.update([Detection((0, 0, 40, 40), a if k % 2 else b)])[0].shown for k in range(30)]
    changes = sum(1 for p, q in itertools.pairwise(shown[2:]) if p != q)
    assert changes == 0


def test_confirmed_track_coasts_over_missed_frames_then_retires() -> None:
    tracker = Tracker(TrackerConfig(max_missed=3))
    for _ in range(5):
        tracker.update(row(50, 50, [2, 2]))
    texts = [number_text(tracker.update(row(50, 50, [2]))) for _ in range(5)]  # the second digit vanished
    assert texts == ["22", "22", "22", "2", "2"]


def test_the_digit_read_keeps_its_track_where_boxes_overlap_two() -> None:
    """A badly cut frame: the 0's box overlaps the 5's track a little more than the 0's own."""
    tracks, detection = [(486, 50, 10, 30), (492, 50, 44, 30)], [(484, 50, 28, 30)]
    assert match(tracks, detection, 0.2, 0.75) == [(1, 0)]  # by overlap alone the 5's track takes it
    agree = np.array([[0.95], [0.01]])  # the detection reads 0, the digit of the first track
    assert match(tracks, detection, 0.2, 0.75, agree=agree) == [(0, 0)]


def test_a_piece_merged_back_into_its_neighbour_is_gone_not_missed() -> None:
    """A wide 6 cut into "6" and "1" for a few frames: once the whole 6 is found again, the "1" does not coast."""
    tracker = Tracker(TrackerConfig(max_missed=3))
    whole = [Detection((100, 50, 46, 50), one_hot(6)), Detection((170, 50, 40, 50), one_hot(2))]
    cut = [Detection((100, 50, 34, 50), one_hot(6)), Detection((136, 50, 12, 50), one_hot(1)), whole[1]]
    for _ in range(4):
        tracker.update(cut)
    assert number_text(tracker.tracks) == "612"
    assert number_text(tracker.update(whole)) == "62"
    far = [Detection((100, 50, 34, 50), one_hot(6)), Detection((250, 50, 40, 50), one_hot(1)), whole[1]]
    for _ in range(4):
        tracker.update(far)
    assert number_text(tracker.update(whole)) == "621"  # a digit elsewhere that was missed still coasts


def test_a_piece_cut_off_a_known_digit_must_last_before_it_counts() -> None:
    """The wide 6 is cut on 3 frames running: its "1" piece is not shown; a new digit beside it is."""
    tracker = Tracker()
    whole = [Detection((100, 50, 46, 50), one_hot(6)), Detection((170, 50, 40, 50), one_hot(2))]
    cut = [Detection((100, 50, 34, 50), one_hot(6)), Detection((136, 50, 12, 50), one_hot(1)), whole[1]]
    for _ in range(5):
        tracker.update(whole)
    assert [number_text(tracker.update(cut)) for _ in range(3)] == ["62", "62", "62"]
    assert [number_text(tracker.update(cut)) for _ in range(5)][-1] == "612"  # cut on 8 frames running: a digit
    new = [*whole, Detection((230, 50, 40, 50), one_hot(4))]
    assert [number_text(tracker.update(new)) for _ in range(3)][-1] == "624"


def test_tentative_track_dies_at_its_first_miss() -> None:
    tracker = Tracker()
    for _ in range(5):
        tracker.update(row(50, 50, [1]))
    tracker.update([*row(50, 50, [1]), Detection((300, 300, 20, 20), one_hot(0))])  # a speck for one frame
    tracks = tracker.update(row(50, 50, [1]))
    assert [t.id for t in tracks] == [1]


def test_reading_order_groups_lines() -> None:
    tracker = Tracker(TrackerConfig(confirm_after=1))
    tracks = tracker.update(row(300, 40, [1, 2]) + row(50, 160, [3, 4, 5]) + [Detection((60, 45, 50, 50), one_hot(9))])
    assert [[t.shown for t in line] for line in reading_order(tracks)] == [[9, 1, 2], [3, 4, 5]]
    assert number_text(tracks) == "912\n345"


def test_settled_text_waits_for_agreement() -> None:
    settled = SettledText(settle=2)
    seen = [settled.update(t) for t in ["", "12", "12", "12\n5", "5", "5", "5"]]
    assert seen == ["", "", "12", "12", "12", "5", "5"]


def test_a_sloping_line_stays_one_line() -> None:
    """A sheet held at a slant: each digit's box 22 px lower than the last, 70 px across (digits 40 px tall)."""
    tracker = Tracker(TrackerConfig(confirm_after=1))
    first = [Detection((50 + 70 * k, 100 + 22 * k, 30, 40), one_hot(d)) for k, d in enumerate([8, 6, 1, 2, 2])]
    second = [Detection((50 + 70 * k, 220 + 22 * k, 30, 40), one_hot(d)) for k, d in enumerate([7, 0, 9])]
    assert number_text(tracker.update(first + second)) == "86122\n709"
    rising = Tracker(TrackerConfig(confirm_after=1)).update(
        [Detection((50 + 70 * k, 300 - 22 * k, 30, 40), one_hot(d)) for k, d in enumerate([5, 8, 3])]
    )
    assert number_text(rising) == "583"
