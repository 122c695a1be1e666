"""Recognizer: ONNX Runtime inference with no torch import, input validation, model loading."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from digitreader import ModelError, Recognizer
from digitreader.engine import softmax


def test_serving_path_never_imports_torch(tmp_path: Path) -> None:
    """Run the engine in a fresh interpreter where importing torch fails, as if it were uninstalled."""
    script = textwrap.dedent(
        """
        import importlib.abc, sys
        class NoTorch(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError("torch is not installed")
        sys.meta_path.insert(0, NoTorch())
        import numpy as np
        from digitreader import Recognizer
        import digitreader.cli
        r = Recognizer()
        p = r.predict_array(np.zeros((28, 28), np.float32))
        assert len(p.probabilities) == 10
        for mod in ("digitreader.server.app", "digitreader.vision.preprocess", "digitreader.vision.segment"):
            try:
                __import__(mod)
            except ModuleNotFoundError as exc:
                if exc.name and exc.name.startswith("torch"):
                    raise
        assert not any(m == "torch" or m.startswith("torch.") for m in sys.modules)
        print("ok")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_classify_returns_probabilities(recognizer: Recognizer, mnist_test) -> None:  # type: ignore[no-untyped-def]
    images, labels = mnist_test
    probs = recognizer.classify(images[:100].astype(np.float32) / 255)
    assert probs.shape == (100, 10)
    assert np.allclose(probs.sum(1), 1)
    assert (probs.argmax(1) == labels[:100]).mean() >= 0.98


def test_predict_array_matches_batch(mnist_test) -> None:  # type: ignore[no-untyped-def]
    """Without the line reader, ``predict_array`` is the digit model's answer with the packed reject network's
    vote (the card's ``reject_vote``): the normalised product of their probabilities, each to its weight."""
    alone = Recognizer(line_model=None)
    images, _ = mnist_test
    x = images[:8].astype(np.float32) / 255
    batch = alone.classify(x)
    other = softmax(alone.session.run(["reject_logits"], {"image": x[:, None]})[0].astype(np.float64))
    w = alone.reject_vote
    voted = batch ** (1 - w) * other**w
    voted /= voted.sum(axis=1, keepdims=True)
    for i in range(8):
        p = alone.predict_array(x[i])
        assert p.digit == int(voted[i].argmax())
        assert p.confidence == pytest.approx(max(p.probabilities))
        assert np.allclose(p.probabilities, voted[i], atol=1e-6)


def test_the_line_readers_second_opinion_makes_fewer_mistakes(recognizer: Recognizer, mnist_test) -> None:  # type: ignore[no-untyped-def]
    """On the harder half of MNIST's test set the two networks together err less than the digit model alone."""
    images, labels = mnist_test
    x, y = images[5000:].astype(np.float32) / 255, labels[5000:]
    alone = int((recognizer.classify(x).argmax(1) != y).sum())
    both = [recognizer.predict_array(a, reject=False) for a in x]  # the classification, not "not a digit"
    together = sum(p.digit != int(k) for p, k in zip(both, y, strict=True))
    assert together < alone
    assert all(abs(sum(p.probabilities) - 1) < 1e-6 and p.confidence == max(p.probabilities) for p in both)


def test_bad_batch_shape_is_explained(recognizer: Recognizer) -> None:
    with pytest.raises(ValueError, match=r"expected inputs of shape \[N,28,28\].*got \[2, 32, 32\]"):
        recognizer.classify(np.zeros((2, 32, 32)))
    assert recognizer.classify(np.zeros((0, 28, 28))).shape == (0, 10)


def test_model_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"unknown model 'nope'.*default"):
        Recognizer("nope")
    with pytest.raises(ModelError, match="does not exist"):
        Recognizer(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="is not a loadable ONNX model"):
        Recognizer(junk)


def test_the_line_reader_is_loaded_only_when_the_digit_model_doubts() -> None:
    """A confident digit never opens the line reader's session (start-up of `digitreader predict`)."""
    from drawing import draw

    from digitreader.vision.preprocess import preprocess

    r = Recognizer()
    assert r.predict_array(preprocess(draw(7)[..., 0])).confidence > 0.999
    assert r._line is None
    odd = np.zeros((28, 28), np.float32)
    odd[8:20, 12:16], odd[10:12, 8:20] = 1, 1  # a cross: neither 7 nor 1 nor 4 for sure
    assert r.predict_array(odd, reject=False).confidence < 0.999  # (with the check on, a cross is no digit)
    assert r._line is not None
