"""The model card served at /api/v1/model and written by training holds no build machine's absolute path."""

from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path

import pytest

from digitreader.engine import bundled_models_dir
from digitreader.redact import redact_paths
from digitreader.server import create_app

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2")
    from fastapi.testclient import TestClient

ABSOLUTE = re.compile(r"""(^|[\s='"])(/|[A-Za-z]:\\)\w""")


def absolute_paths(card: object) -> list[str]:
    text = json.dumps(card)
    return [s for s in re.findall(r'"((?:[^"\\]|\\.)*)"', text) if ABSOLUTE.search(s)]


def test_redact_paths() -> None:
    cmd = "digitreader train --data-dir /work/shared/data/mnist --out runs/x --init=/home/me/last.pt"
    assert redact_paths(cmd) == "digitreader train --data-dir <redacted>/mnist --out runs/x --init=<redacted>/last.pt"
    assert redact_paths("see https://example.org/a/b and ../data") == "see https://example.org/a/b and ../data"


def test_the_served_card_has_no_absolute_path(recognizer) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(recognizer=recognizer)) as client:
        card = client.get("/api/v1/model").json()
    assert card["train_command"].startswith("digitreader train")
    assert absolute_paths(card) == []
    assert absolute_paths(json.loads((bundled_models_dir() / "default.json").read_text())) == []


def test_an_older_card_is_redacted_when_served(tmp_path: Path) -> None:
    onnx = shutil.copy(bundled_models_dir() / "default.onnx", tmp_path / "old.onnx")
    card = json.loads((bundled_models_dir() / "default.json").read_text())
    card["train_command"] = "digitreader train --data-dir /srv/builder/secret/mnist --out /srv/builder/runs/x"
    card["recipe"]["data_dir"] = "/srv/builder/secret/mnist"
    (tmp_path / "old.json").write_text(json.dumps(card))
    with TestClient(create_app(onnx)) as client:
        served = client.get("/api/v1/model").json()
    assert "/srv/builder" not in json.dumps(served)
    assert served["train_command"].endswith("--data-dir <redacted>/mnist --out <redacted>/x")


def test_training_writes_a_redacted_card(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="needs the [train] extra (PyTorch)")
    from digitreader.models import create_model
    from digitreader.training.export import to_onnx, write_card

    model = create_model("mlp").eval()
    path = to_onnx(model, tmp_path / "m.onnx")
    write_card(
        path,
        model,
        name="m",
        architecture="mlp",
        test_accuracy=0.5,
        train_command=f"digitreader train --data-dir {tmp_path}/mnist",
        seed=0,
        extra={"recipe": {"data_dir": str(tmp_path / "mnist"), "out_dir": "runs/m"}},
    )
    card = json.loads(path.with_suffix(".json").read_text())
    assert absolute_paths(card) == [] and str(tmp_path) not in json.dumps(card)
    assert card["recipe"]["out_dir"] == "runs/m" and torch is not None
