"""training.reject: the "not a digit" threshold chosen on held-out training digits, never on an evaluation set."""

from __future__ import annotations

import numpy as np

from digitreader.engine import bundled_models_dir
from digitreader.training.reject import MAX_DIGIT_REJECT, MAX_RESTYLED_REJECT, choose


def test_the_threshold_keeps_held_out_digits_and_says_what_it_catches(mnist_path) -> None:
    entry = choose(bundled_models_dir() / "default.onnx", 59_600, str(mnist_path), 400)
    assert np.isfinite(entry["below"]) and entry["temperature"] > 0
    # At most the allowed share of the digits read right is rejected (at 400 digits: none, and at most 2);
    # a misread digit may go ("no digit" in place of a wrong one), so the share of all may be higher.
    right = entry["held_out_right_rejected"]
    assert right["plain"] <= MAX_DIGIT_REJECT and right["photos"] <= MAX_DIGIT_REJECT
    assert right["styled"] <= MAX_RESTYLED_REJECT
    assert entry["held_out_digits_rejected"] <= MAX_DIGIT_REJECT + 2 / 400
    assert 0.0 < entry["held_out_non_digits_read"] < 1.0
    assert "59,600-59,999" in entry["chosen_on"]
    # The tiny-image path (its own model) gets a threshold of its own, chosen on tiny scans of the same digits.
    tiny = entry["held_out_tiny_right_rejected"]
    assert np.isfinite(entry["tiny_below"])
    assert tiny["shrunk"] <= MAX_DIGIT_REJECT and tiny["scans"] <= MAX_RESTYLED_REJECT
    assert 0.0 <= entry["held_out_tiny_non_digits_read"] < 1.0


def test_the_fused_score_is_a_logistic_regression_that_separates_what_each_score_shows() -> None:
    from digitreader.training.reject import fit_fuse

    rng = np.random.default_rng(0)
    # Digits: high energy; non-digits: low gate. Each score alone misses half of the non-digits.
    digits = {"energy": rng.normal(3, 0.3, 2000), "gate": rng.normal(4, 1, 2000)}
    others = {
        "energy": np.concatenate([rng.normal(3, 0.3, 500), rng.normal(1, 0.3, 500)]),
        "gate": np.concatenate([rng.normal(-4, 1, 500), rng.normal(4, 1, 500)]),
    }
    fuse = fit_fuse(digits, others)
    assert fuse["energy"] > 0 and fuse["gate"] > 0

    def score(s: dict) -> np.ndarray:
        return fuse["bias"] + fuse["energy"] * s["energy"] + fuse["gate"] * s["gate"]

    assert (score(digits) > 0).mean() > 0.97 and (score(others) < 0).mean() > 0.97
