"""``digitreader train --workers 2`` on a real local Ray cluster: Ray Train (DDP over gloo) trains,
checkpoints every epoch, resumes from the last finished epoch, exports ONNX and evaluates."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="training tests need the [train] extra (PyTorch)")
pytest.importorskip(
    "ray.train", reason="distributed training needs the [scale] extra: pip install 'digitreader[scale]'"
)

TINY = ["--model", "swift", "--tiny", "--limit-train", "2000", "--epochs", "2", "--lr", "0.05", "--no-progress"]


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digitreader.cli", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_two_workers_train_checkpoint_resume_export_and_evaluate(
    ray_cluster: str, mnist_path: Path, tmp_path: Path
) -> None:
    import torch

    out = tmp_path / "run"
    train = ["train", *TINY, "--data-dir", str(mnist_path), "--out", str(out), "--workers", "2"]
    first = _cli(*train, "--address", ray_cluster)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "on 2 Ray Train workers" in first.stderr
    card = json.loads((out / "model.json").read_text())
    assert card["workers"] == 2 and card["recipe"]["limit_train"] == 2000
    assert card["test_accuracy"] > 0.8
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]
    assert torch.load(out / "last.pt", weights_only=False)["epoch"] == 1

    # As if the run had been killed during its second epoch: its checkpoint is the first epoch's.
    shutil.copy(out / "last.prev.pt", out / "last.pt")
    for name in ("model.onnx", "model.json", "model.pt"):
        (out / name).unlink()
    resumed = _cli(*train, "--address", ray_cluster, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "epoch   2/2" in resumed.stderr and "epoch   1/2" not in resumed.stderr  # only the missing epoch
    again = json.loads((out / "history.json").read_text())
    assert again[0] == history[0] and [row["epoch"] for row in again] == [1, 2]
    assert json.loads((out / "model.json").read_text())["workers"] == 2

    onnx = str(out / "model.onnx")
    evaluate = ["evaluate", onnx, "--data-dir", str(mnist_path), "--out", str(tmp_path / "eval"), "--limit", "1000"]
    evaluated = _cli(*evaluate, "--json", "--min-accuracy", "0.8")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["accuracy"] > 0.8
