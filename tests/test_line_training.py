"""`train-line` end to end on a tiny run: strips from training digits, CTC training, ONNX export with any width."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="line training tests need the [train] extra (PyTorch)")

from digitreader.training.line_data import cached_strips  # noqa: E402


def test_strips_come_from_training_digits_and_are_reproducible(mnist_path, tmp_path) -> None:
    strips, widths, texts = cached_strips(tmp_path / "strips-40-5.npz", 40, 5, str(mnist_path), jobs=1)
    assert strips.shape[:2] == (40, 28) and len(texts) == 40
    assert all(1 <= len(t) <= 4 and t.isdigit() for t in texts)
    assert (widths >= 8).all() and all(strips[i, :, widths[i] :].max() == 0 for i in range(40))
    # A larger run of the same seed starts with the same strips (only the rest is made).
    more, more_widths, more_texts = cached_strips(tmp_path / "strips-60-5.npz", 60, 5, str(mnist_path), jobs=1)
    assert more_texts[:40] == texts and np.array_equal(more[:40], strips) and len(more_texts) == 60
    assert np.array_equal(more_widths[:40], widths)


def test_tiny_line_training_exports_a_model_that_matches_torch(mnist_path, tmp_path, capsys) -> None:
    from digitreader.cli import main
    from digitreader.models.line import LineNet
    from digitreader.vision.line_reader import LineReader

    out = tmp_path / "run"
    code = main(["train-line", "--strips", "300", "--epochs", "1", "--jobs", "1",
                 "--data-dir", str(mnist_path), "--out", str(out)])  # fmt: skip
    assert code == 0
    card = json.loads((out / "line.json").read_text())
    assert card["command"].startswith("digitreader train-line --strips 300 --epochs 1")
    assert len(card["history"]) == 1 and 0.0 <= card["held_out_accuracy"] <= 1.0
    model = LineNet()
    model.load_state_dict(torch.load(out / "line.pt"))
    model.eval()
    reader = LineReader(out / "line.onnx", threads=1)
    rng = np.random.default_rng(0)
    for width in (17, 40, 96):  # any width, odd ones included
        strip = rng.random((28, width)).astype(np.float32)
        (ours,) = reader.log_probs([strip])
        even = np.pad(strip, ((0, 0), (0, width % 2)))  # the reader pads to an even width: T = ceil(W / 2)
        with torch.no_grad():
            ref = model(torch.from_numpy(even)[None, None]).numpy()[0]
        assert ours.shape == ref.shape == ((width + 1) // 2, 11)
        assert np.abs(ours - ref).max() < 1e-4
