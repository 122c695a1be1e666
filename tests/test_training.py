"""The real training code in tiny runs: it learns, checkpoints every epoch, and resumes after a kill."""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="training tests need the [train] extra (PyTorch)")

from digitreader.training.augment import AugmentConfig, augment  # noqa: E402

EPOCHS = 5
# 4,000 images and 5 epochs: each epoch takes long enough (about a second on 1 thread) that an interrupt sent
# when epoch 1 is reported lands well before the run ends, even on a loaded machine.
TINY = ["--model", "swift", "--tiny", "--limit-train", "4000", "--epochs", str(EPOCHS), "--lr", "0.05"]
TINY += ["--threads", "1", "--no-progress"]


def _train(out: Path, mnist_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "digitreader.cli",
        "train",
        *TINY,
        "--data-dir",
        str(mnist_path),
        "--out",
        str(out),
        *extra,
    ]
    # A run started from a background job inherits SIGINT ignored, and Python then never raises KeyboardInterrupt:
    # give the run the default handling, as a terminal would, so that the interrupt test means the same anywhere.
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_default_sigint)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_epoch(proc: subprocess.Popen[bytes], epoch: int, timeout: float = 120) -> None:
    """Block until the run reports ``epoch`` done (it prints the line after saving ``last.pt``)."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    done = re.compile(rb"epoch\s+%d/" % epoch)
    seen = b""
    while not done.search(seen):
        left = deadline - time.monotonic()
        assert left > 0, "training made no progress"
        ready, _, _ = select.select([proc.stderr], [], [], left)
        line = proc.stderr.readline() if ready else b""
        assert line or proc.poll() is None, seen.decode() or "training exited early"
        seen += line


@pytest.fixture(scope="module")
def reference_run(mnist_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reference")
    proc = _train(out, mnist_path)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr.decode()
    return out


def test_tiny_run_learns_and_exports(reference_run: Path) -> None:
    history = json.loads((reference_run / "history.json").read_text())
    assert [h["epoch"] for h in history] == list(range(1, EPOCHS + 1))
    assert history[-1]["test_acc"] > 0.8  # 4,000 images, 5 epochs: far above chance (0.1)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    card = json.loads((reference_run / "model.json").read_text())
    assert card["train_command"].startswith("digitreader train --model swift")
    assert card["onnx_parity_max_abs_diff"] < 1e-4
    assert card["test_accuracy"] == pytest.approx(history[-1]["test_acc"], abs=1e-6)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_run_resumes_without_losing_epochs(
    sig: signal.Signals, reference_run: Path, mnist_path: Path, tmp_path: Path
) -> None:
    proc = _train(tmp_path, mnist_path)
    _wait_for_epoch(proc, 1)
    os.kill(proc.pid, sig)
    _, stderr = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and b"--resume" in stderr
    kept = torch.load(tmp_path / "last.pt", weights_only=False)
    assert 1 <= kept["epoch"] + 1 < EPOCHS, "the kill should land before the run ends"

    resumed = _train(tmp_path, mnist_path, "--resume")
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr.decode()
    history = json.loads((tmp_path / "history.json").read_text())
    reference = json.loads((reference_run / "history.json").read_text())
    assert [h["epoch"] for h in history] == list(range(1, EPOCHS + 1))
    assert history[0] == kept["history"][0]  # the finished epoch survived untouched
    # Same seed, same per-epoch data order: the resumed run ends where the uninterrupted one did.
    for got, want in zip(history, reference, strict=True):
        assert got["test_acc"] == pytest.approx(want["test_acc"], abs=2e-3)
        assert got["train_loss"] == pytest.approx(want["train_loss"], rel=1e-3)


def test_resume_refuses_a_different_run(reference_run: Path, mnist_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "digitreader.cli",
            "train",
            "--model",
            "mlp",
            "--tiny",
            "--epochs",
            "3",
            "--data-dir",
            str(mnist_path),
            "--out",
            str(reference_run),
            "--resume",
            "--no-progress",
        ],
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert b"written by a different run" in proc.stderr


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "digitreader.cli", "train", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _copy_run(reference_run: Path, to: Path) -> Path:
    import shutil

    return Path(shutil.copytree(reference_run, to / "run"))


def test_resume_refuses_options_that_contradict_the_checkpoint(
    reference_run: Path, mnist_path: Path, tmp_path: Path
) -> None:
    run = _copy_run(reference_run, tmp_path)
    base = ["--data-dir", str(mnist_path), "--out", str(run), "--resume", "--no-progress", "--threads", "1"]
    for extra, words in (
        (["--model", "swift", "--epochs", "7"], ["--epochs", "epochs=5"]),
        (["--lr", "5", "--limit-train", "100"], ["--lr", "lr=0.05", "--limit-train", "limit_train=4000"]),
    ):
        proc = _cli(*base, *extra)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and "written by a different run" in proc.stderr
        for w in words:
            assert w in proc.stderr
    assert json.loads((run / "model.json").read_text()) == json.loads((reference_run / "model.json").read_text())


def test_a_damaged_checkpoint_is_explained_in_one_line(reference_run: Path, mnist_path: Path, tmp_path: Path) -> None:
    run = _copy_run(reference_run, tmp_path)
    (run / "last.prev.pt").unlink()
    good = (run / "last.pt").read_bytes()
    for damaged in (good[: len(good) // 2], b"", os.urandom(4096)):
        (run / "last.pt").write_bytes(damaged)
        proc = _cli("--data-dir", str(mnist_path), "--out", str(run), "--resume", "--no-progress", timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and "not a readable checkpoint" in proc.stderr
        assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1


def test_resume_falls_back_to_the_previous_checkpoint_and_cleans_up(
    reference_run: Path, mnist_path: Path, tmp_path: Path
) -> None:
    """A kill -9 while saving left a temporary file, and last.pt is damaged: the run resumes from
    the previous epoch's checkpoint, with the checkpoint's own settings (no --model given: swift)."""
    run = _copy_run(reference_run, tmp_path)
    assert torch.load(run / "last.prev.pt", weights_only=False)["epoch"] == EPOCHS - 2
    (run / "last.pt").write_bytes(b"")
    (run / ".last.pt.k1ll3d.tmp").write_bytes(b"half a checkpoint")
    proc = _cli("--data-dir", str(mnist_path), "--out", str(run), "--resume", "--no-progress", "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    assert "resuming from last.prev.pt (epoch 4)" in " ".join(proc.stderr.split())
    assert not list(run.glob(".*.tmp"))
    history = json.loads((run / "history.json").read_text())
    assert [h["epoch"] for h in history] == list(range(1, EPOCHS + 1))
    card = json.loads((run / "model.json").read_text())
    assert card["architecture"] == "swift" and card["recipe"]["limit_train"] == 4000


def test_augmentation_is_batched_seeded_and_keeps_ink(mnist_test) -> None:  # type: ignore[no-untyped-def]
    images, _ = mnist_test
    x = torch.from_numpy(images[:64]).float().div(255).unsqueeze(1)
    cfg = AugmentConfig(elastic_alpha=2.0, stroke_p=0.5)
    a = augment(x, cfg, torch.Generator().manual_seed(1))
    b = augment(x, cfg, torch.Generator().manual_seed(1))
    c = augment(x, cfg, torch.Generator().manual_seed(2))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= 0 and a.max() <= 1
    ink_ratio = a.sum((1, 2, 3)) / x.sum((1, 2, 3))
    assert ((ink_ratio > 0.4) & (ink_ratio < 2.5)).all()  # digits stay in the frame, neither vanish nor blot


def test_fine_tuning_starts_from_given_weights_and_adds_pipeline_digits(reference_run: Path, mnist_path: Path) -> None:
    """--init loads a trained model before the first step; --pipeline-digits adds photographed training digits."""
    from digitreader.training.train import TrainConfig, Trainer, load_trained

    cfg = TrainConfig(
        model="swift",
        epochs=1,
        lr=0.0,
        ema_decay=0.0,
        limit_train=300,
        limit_test=200,
        data_dir=str(mnist_path),
        out_dir=str(reference_run / "fine"),
        init=str(reference_run / "model.pt"),
        pipeline_digits=40,
        jobs=1,
        threads=1,
    )
    trainer = Trainer(cfg, show_progress=False)
    assert len(trainer.x_train) == 340 and len(trainer.y_train) == 340
    assert (reference_run / "fine" / "pipeline-digits-40-1.npz").is_file()
    start = load_trained(reference_run / "model.pt").state_dict()
    for name, value in trainer.model.state_dict().items():
        assert torch.equal(value.cpu(), start[name]), name
    # The added digits are MNIST-style (white on black, ink in the middle) and labelled 0-9.
    added = trainer.x_train[300:, 0]
    assert float(added[:, :2].max()) == 0.0 and float(added[:, 10:18, 10:18].mean()) > 0.1
    assert set(trainer.y_train[300:].tolist()) <= set(range(10))


def _from_bundled(mnist_path: Path, out: Path, lr: float):  # type: ignore[no-untyped-def]
    """A one-epoch fine-tuning of the bundled model on 256 MNIST images."""
    from digitreader.training.train import TrainConfig

    return TrainConfig(
        model="sharp",
        epochs=1,
        lr=lr,
        limit_train=256,
        limit_test=200,
        data_dir=str(mnist_path),
        out_dir=str(out),
        init="bundled",
        threads=1,
    )


def test_fine_tuning_from_the_bundled_onnx_model_starts_where_it_is(mnist_path: Path, tmp_path: Path) -> None:
    """--init bundled loads the exported model (folded norms) exactly; its norms stay frozen while training."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    from digitreader.engine import resolve_model
    from digitreader.training.train import Trainer

    cfg = _from_bundled(mnist_path, tmp_path / "fine", lr=0.0)
    trainer = Trainer(cfg, show_progress=False)
    path = resolve_model("default")
    scale = next(numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer if t.name == "inv_temperature")
    x = trainer.x_test[:64].contiguous()
    want = ort.InferenceSession(str(path)).run(None, {"image": x.numpy()})[0]

    def logits() -> np.ndarray:
        trainer.model.eval()
        with torch.no_grad():
            return trainer.model(x).numpy() * float(scale)

    assert np.abs(logits() - want).max() < 1e-4
    norms = {k: v.clone() for k, v in trainer.model.state_dict().items() if "running" in k}
    trainer.run()  # one epoch at lr 0: only batch statistics could change anything
    assert all(torch.equal(trainer.model.state_dict()[k], v) for k, v in norms.items())
    assert np.abs(logits() - want).max() < 1e-4
    with pytest.raises(ValueError, match="does not hold"):
        Trainer(replace(_from_bundled(mnist_path, tmp_path / "wrong", lr=0.0), model="swift"), show_progress=False)


def test_a_model_fine_tuned_from_the_bundled_one_names_it_in_its_card(mnist_path: Path, tmp_path: Path) -> None:
    from digitreader.engine import resolve_model
    from digitreader.training.pipeline import train_and_export

    cfg = _from_bundled(mnist_path, tmp_path / "fine", lr=0.001)
    run = train_and_export(cfg, show_progress=False, command="digitreader train --init bundled")
    card = json.loads(run.onnx_path.with_suffix(".json").read_text())
    bundled = resolve_model("default")
    assert card["init_sha256"] == hashlib.sha256(bundled.read_bytes()).hexdigest()
    assert card["init_card"]["sha256"] == card["init_sha256"]  # the bundled card, carried along
    assert card["recipe"]["init"] == "bundled"


def test_a_non_digit_is_trained_towards_no_answer() -> None:
    """Label -1 (a wrong cut's piece): the loss is least when the model gives every digit the same probability."""
    from digitreader.training.train import _loss

    flat, sure = torch.zeros(1, 10), torch.tensor([[8.0] + [0.0] * 9])
    other = torch.tensor([-1])
    assert float(_loss(flat, other, 0.1, 0.5)) == pytest.approx(0.5 * float(torch.log(torch.tensor(10.0))))
    assert float(_loss(flat, other, 0.1, 2.0)) == pytest.approx(4 * float(_loss(flat, other, 0.1, 0.5)))
    assert float(_loss(sure, other, 0.1, 0.5)) > float(_loss(flat, other, 0.1, 0.5)) + 1
    # A digit's loss is the usual cross-entropy: lowest when the model is sure of the right digit.
    assert float(_loss(sure, torch.tensor([0]), 0.0, 0.5)) < float(_loss(flat, torch.tensor([0]), 0.0, 0.5))


def test_energy_margins_push_digits_up_and_non_digits_down() -> None:
    """With an energy weight, a digit whose logits' logsumexp is under ENERGY_IN costs more, and a non-digit's over
    ENERGY_OUT does; beyond its margin neither costs anything extra."""
    from digitreader.training.train import ENERGY_IN, ENERGY_OUT, _loss

    low, high = torch.full((1, 10), -5.0), torch.tensor([[12.0] + [0.0] * 9])
    assert torch.logsumexp(low, 1) < ENERGY_OUT and torch.logsumexp(high, 1) > ENERGY_IN
    digit, other = torch.tensor([0]), torch.tensor([-1])
    assert float(_loss(high, digit, 0.0, 0.5, 0.1)) == pytest.approx(float(_loss(high, digit, 0.0, 0.5)))
    assert float(_loss(low, other, 0.0, 0.5, 0.1)) == pytest.approx(float(_loss(low, other, 0.0, 0.5)))
    assert float(_loss(low, digit, 0.0, 0.5, 0.1)) > float(_loss(low, digit, 0.0, 0.5)) + 1
    assert float(_loss(high, other, 0.0, 0.5, 0.1)) > float(_loss(high, other, 0.0, 0.5)) + 1
