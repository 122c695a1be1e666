"""Fine-tuning on corrections (issue 22): `train --init bundled --corrections DB`, its card, and its refusal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from drawing import draw

from digitreader.cli import main
from digitreader.corrections.store import Correction, CorrectionStore

ROOT = Path(__file__).resolve().parents[1]


def _png(grey: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", grey)
    assert ok
    return buf.tobytes()


@pytest.fixture(scope="module")
def corrections(mnist_test, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """A small database of real images: MNIST test digits as dark-on-white PNGs, drawn digits, a drawn number."""
    db = tmp_path_factory.mktemp("corrections") / "c.sqlite3"
    store = CorrectionStore(db)
    images, labels = mnist_test

    def add(grey: np.ndarray, label: str, mode: str = "predict") -> None:
        store.add(Correction(mode, label, {}, "", "image/png", image=_png(grey)))

    for x, y in zip(images[:24], labels[:24], strict=True):
        add(255 - cv2.resize(x, (84, 84), interpolation=cv2.INTER_CUBIC), str(y))
    for d in (1, 7):
        add(cv2.cvtColor(draw(d), cv2.COLOR_RGBA2GRAY), str(d))
    add(np.hstack([cv2.cvtColor(draw(d, size=120), cv2.COLOR_RGBA2GRAY) for d in (2, 9)]), "29", "read")
    return db


def _args(db: Path, out: Path, mnist: Path, *extra: str) -> list[str]:
    tiny = ["--tiny", "--threads", "1", "--no-progress", "--data-dir", str(mnist)]
    return ["train", "--init", "bundled", "--corrections", str(db), "--out", str(out), *tiny, *extra]


def test_fine_tuning_on_corrections_exports_a_packed_model_whose_card_names_them(
    corrections: Path, mnist_path: Path, tmp_path: Path
) -> None:
    from digitreader import Recognizer

    assert main(_args(corrections, tmp_path, mnist_path, "--max-drop", "5")) == 0
    card = json.loads((tmp_path / "model.json").read_text())
    store = CorrectionStore(corrections)
    c = card["corrections"]
    assert c["count"] == len(store) == 27 and c["sha256"] == store.digest()
    assert c["digit_samples"] == 28 and c["trained"] + c["held_out"] == 28 and c["held_out"] >= 5
    assert c["samples"]["read_digits"] == 2 and c["line_samples"] == 1
    figures = card["before_after"]
    assert set(figures) == {"mnist_test", "corrections_trained", "corrections_held_out"}
    assert figures["mnist_test"]["images"] == 1000
    assert card["test_accuracy"] == pytest.approx(figures["mnist_test"]["after"], abs=1e-6)
    bundled = json.loads((ROOT / "src/digitreader/assets/models/default.json").read_text())
    assert card["reject"] == bundled["reject"] and card["init_sha256"] == bundled["sha256"]
    r = Recognizer(tmp_path / "model.onnx")  # the "not a digit" network is packed beside it
    assert r.reject_below == bundled["reject"]["below"] and r._score_outputs == ["reject_logits", "gate_logit"]
    assert not (tmp_path / ".candidate").exists()
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)  # the tuned network, cut out alone
    np.testing.assert_allclose(r.logits(x), r.session.run(["logits"], {"image": x})[0], rtol=1e-5, atol=1e-5)
    assert r._alone_path == tmp_path / card["logits_model"]["model"]
    scores = r._opened(r._scores_path)  # ... and its "not a digit" networks, for tiny images
    assert r._scores_path == tmp_path / card["scores_model"]["model"]
    np.testing.assert_allclose(
        scores.run(["gate_logit"], {"image": x})[0],
        r.session.run(["gate_logit"], {"image": x})[0],
        rtol=1e-5,
        atol=1e-5,
    )


def test_a_fine_tuning_that_loses_mnist_is_refused_unless_forced(
    corrections: Path, mnist_path: Path, tmp_path: Path
) -> None:
    absurd = ("--lr", "200", "--share", "1.0", "--steps", "30")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "digitreader", *_args(corrections, tmp_path, mnist_path, *absurd)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "refused to export: MNIST test" in done.stderr and "--force" in done.stderr
    assert not list(tmp_path.glob("*.onnx")) and not (tmp_path / ".candidate").exists()
    assert main(_args(corrections, tmp_path, mnist_path, *absurd, "--force")) == 0
    card = json.loads((tmp_path / "model.json").read_text())
    assert card["before_after"]["mnist_test"]["after"] < card["before_after"]["mnist_test"]["before"] - 0.0005


def test_repacking_keeps_the_not_a_digit_network_exactly(tmp_path: Path) -> None:
    import onnx.utils
    import onnxruntime as ort

    from digitreader.engine import resolve_model
    from digitreader.training.pack import repack

    packed = resolve_model("default")
    onnx.utils.extract_model(str(packed), str(tmp_path / "digits.onnx"), ["image"], ["logits"])
    repack(tmp_path / "digits.onnx", packed, tmp_path / "again.onnx")
    x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    outputs = ["logits", "reject_logits", "gate_logit"]
    want = ort.InferenceSession(str(packed)).run(outputs, {"image": x})
    got = ort.InferenceSession(str(tmp_path / "again.onnx")).run(outputs, {"image": x})
    assert all(np.array_equal(a, b) for a, b in zip(want, got, strict=True))
