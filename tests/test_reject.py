"""training.reject: the "not a digit" threshold chosen on held-out training digits, never on an evaluation set."""

from __future__ import annotations

import numpy as np

from digitreader.engine import bundled_models_dir
from digitreader.training.reject import MAX_DIGIT_REJECT, MAX_RESTYLED_REJECT, choose


def test_the_threshold_keeps_held_out_digits_and_says_what_it_catches(mnist_path) -> None:
    entry = choose(bundled_models_dir() / "default.onnx", 59_600, str(mnist_path), 400)
    assert np.isfinite(entry["energy_below"]) and entry["temperature"] > 0
    # At most the allowed share of either digit set is rejected (at 400 digits: none, and at most 2).
    assert entry["held_out_digits_rejected"] <= MAX_DIGIT_REJECT
    assert entry["held_out_restyled_rejected"] <= MAX_RESTYLED_REJECT + 1 / 400
    assert 0.0 < entry["held_out_non_digits_read"] < 1.0
    assert "59,600-59,999" in entry["chosen_on"]
