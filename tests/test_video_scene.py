"""A new scene is told from the same scene moving, shaking or relit (``video.scene``)."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from digitreader.data.desk import HOLD_SECONDS, desk_video
from digitreader.video.scene import same_scene, signature


def grey(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


@pytest.fixture(scope="module")
def held(mnist_test):  # type: ignore[no-untyped-def]
    """The first sheet of a desk video (panned, zoomed, relit) and the first frame of the next."""
    images, labels = mnist_test
    per = round(HOLD_SECONDS * 30)
    frames = [grey(f) for f, _ in desk_video(images, labels, seconds=(per + 1) / 30, seed=11)]
    return frames[:per], frames[per]


def test_a_held_sheet_stays_one_scene_while_the_camera_moves(held) -> None:  # type: ignore[no-untyped-def]
    sheet, _ = held
    signatures = [signature(f) for f in sheet]
    assert all(same_scene(a, b) for a, b in itertools.pairwise(signatures))
    assert same_scene(signatures[0], signature(cv2.resize(sheet[0], None, fx=0.125, fy=0.125)))  # any size


def test_the_next_sheet_is_a_new_scene(held) -> None:  # type: ignore[no-untyped-def]
    sheet, following = held
    assert not same_scene(signature(sheet[-1]), signature(following))


def test_light_and_shake_do_not_make_a_new_scene(held) -> None:  # type: ignore[no-untyped-def]
    frame = held[0][0].astype(np.float32)
    shade = np.linspace(0.5, 1.0, frame.shape[1], dtype=np.float32)[None, :]  # dimmed, and a shadow across
    relit = np.clip(frame * shade, 0, 255).astype(np.uint8)
    shaken = np.roll(held[0][0], (3, -4), axis=(0, 1))
    assert same_scene(signature(held[0][0]), signature(relit))
    assert same_scene(signature(held[0][0]), signature(shaken))


def test_blank_frames() -> None:
    blank = signature(np.full((48, 64), 200, np.uint8))
    assert same_scene(blank, signature(np.full((48, 64), 90, np.uint8)))
    assert not same_scene(blank, signature(np.random.default_rng(0).integers(0, 255, (48, 64), np.uint8)))
