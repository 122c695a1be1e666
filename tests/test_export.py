"""ONNX export: the DESIGN.md contract and parity with PyTorch on real test images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="export tests need the [train] extra (PyTorch)")
onnx = pytest.importorskip("onnx")

from digitreader.models import create_model, list_models  # noqa: E402
from digitreader.training.export import parity, to_onnx  # noqa: E402


@pytest.mark.parametrize("name", [spec.name for spec in list_models()])
def test_export_contract_and_parity(name: str, tmp_path: Path, mnist_test) -> None:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    model = create_model(name)
    # Give BN non-trivial statistics so the folded graph is really exercised.
    model.train()
    with torch.no_grad():
        model(torch.rand(64, 1, 28, 28))
    path = to_onnx(model.eval(), tmp_path / f"{name}.onnx")
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ["image"] and [o.name for o in graph.output] == ["logits"]
    dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["N", 1, 28, 28]
    images = mnist_test[0][:256].astype(np.float32) / 255
    assert parity(model, path, images) < 1e-4
