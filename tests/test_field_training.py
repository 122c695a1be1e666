"""`train-field` end to end on a tiny run: fields from training digits, CTC training, ONNX export at any width."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="field training tests need the [train] extra (PyTorch)")


def test_fields_are_cached_reproducibly(mnist_path, tmp_path) -> None:
    from digitreader.training.field_data import cached_fields
    from digitreader.vision.field_reader import HEIGHT

    columns, offsets, texts = cached_fields(tmp_path / "f.npz", 12, 3, str(mnist_path), jobs=1)
    assert columns.shape[0] == HEIGHT and offsets[-1] == columns.shape[1] and len(texts) == 12
    assert all(t.isdigit() for t in texts) and (np.diff(offsets) >= 16).all()
    again, offsets2, texts2 = cached_fields(tmp_path / "g.npz", 12, 3, str(mnist_path), jobs=1)
    assert texts2 == texts and np.array_equal(again, columns) and np.array_equal(offsets2, offsets)


def test_tiny_field_training_exports_a_model_that_matches_torch(mnist_path, tmp_path) -> None:
    from digitreader.cli import main
    from digitreader.models.field import FieldNet
    from digitreader.vision.field_reader import HEIGHT, STRIDE, FieldReader

    out = tmp_path / "run"
    code = main(["train-field", "--fields", "120", "--epochs", "1", "--jobs", "1",
                 "--data-dir", str(mnist_path), "--out", str(out)])  # fmt: skip
    assert code == 0
    card = json.loads((out / "field.json").read_text())
    assert card["command"].startswith("digitreader train-field --fields 120 --epochs 1")
    assert len(card["history"]) == 1 and 0.0 <= card["held_out_accuracy"] <= 1.0
    model = FieldNet()
    model.load_state_dict(torch.load(out / "field.pt"))
    model.eval()
    reader = FieldReader(out / "field.onnx", threads=1)
    rng = np.random.default_rng(0)
    for width in (16, 40, 130):
        x = rng.random((HEIGHT, width)).astype(np.float32)
        (ours,) = reader.log_probs([x])
        with torch.no_grad():
            ref = model(torch.from_numpy(x)[None, None]).numpy()[0]
        assert ours.shape == ref.shape == (width // STRIDE, 11)
        assert np.abs(ours - ref).max() < 1e-4


def test_the_bundled_field_reader_loads_back_into_torch_to_be_fine_tuned() -> None:
    """`train-field --init .../default.onnx`: the exported weights (norms folded into the convolutions) give the
    network back exactly, so a fine-tune starts from what is bundled."""
    from digitreader.engine import bundled_models_dir
    from digitreader.models.field import FieldNet
    from digitreader.runtime import open_session
    from digitreader.training.field import _load
    from digitreader.training.onnx_weights import train_mode
    from digitreader.vision.field_reader import HEIGHT, INPUT

    path = bundled_models_dir().parent / "field" / "default.onnx"
    model = FieldNet()
    _load(model, str(path))
    train_mode(model, frozen_norms=True)
    model.head[-2].eval()  # the dropout: what is compared is the network the fine-tune starts from
    x = np.random.default_rng(1).random((HEIGHT, 96)).astype(np.float32)
    floating = open_session(path, threads=1)  # the float network (FieldReader reads its int8 copy)
    ours = floating.run(None, {INPUT: x[None, None]})[0][0]
    with torch.no_grad():
        ref = model(torch.from_numpy(x)[None, None]).numpy()[0]
    assert np.abs(ours - ref).max() < 1e-3
