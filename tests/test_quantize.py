"""training.quantize: the field reader in int8 reads as the float one does, at about half the time (BENCHMARKS.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from digitreader.data.fields import Digits, field_sample
from digitreader.vision.field_reader import FieldReader, bundled_field_model, decode, field_input


def _texts(reader: FieldReader, fields: list[np.ndarray]) -> list[str]:
    logps = reader.log_probs([field_input(f) for f in fields])
    return ["".join(str(d.digit) for d in decode(lp)) for lp in logps]


@pytest.fixture(scope="module")
def fields(mnist_test) -> list[tuple[np.ndarray, str]]:  # type: ignore[no-untyped-def]
    digits = Digits(*mnist_test)
    return [field_sample(digits, np.random.default_rng([4242, i]))[:2] for i in range(40)]


def test_the_bundled_field_reader_reads_in_int8_as_in_float(fields, tmp_path) -> None:
    bundled = bundled_field_model()
    assert FieldReader.reading_model(bundled).name == "default-int8.onnx"
    int8, floating = FieldReader(bundled), FieldReader(_float_only(bundled, tmp_path))
    images = [f for f, _ in fields]
    same = sum(a == b for a, b in zip(_texts(int8, images), _texts(floating, images), strict=True))
    assert same >= 0.9 * len(fields), f"{same} of {len(fields)} fields read alike"


def test_quantizing_a_field_reader_names_the_int8_copy_on_its_card(tmp_path, mnist_path, fields) -> None:
    pytest.importorskip("onnx", reason="onnx comes with the [train] extra")
    from digitreader.training.quantize import calibration_fields, quantize

    model = _float_only(bundled_field_model(), tmp_path)
    inputs = calibration_fields(12, seed=1, data_dir=str(mnist_path))
    assert all(x.dtype == np.float32 and x.shape[0] == 64 for x in inputs)
    quantize(model, tmp_path / "default-int8.onnx", inputs)
    card = json.loads(model.with_suffix(".json").read_text())
    card["int8"] = {"model": "default-int8.onnx"}
    model.with_suffix(".json").write_text(json.dumps(card))
    assert FieldReader.reading_model(model) == tmp_path / "default-int8.onnx"
    int8, floating = FieldReader(model), FieldReader(_float_only(model, tmp_path / "float"))
    images = [f for f, _ in fields[:20]]
    same = sum(a == b for a, b in zip(_texts(int8, images), _texts(floating, images), strict=True))
    assert same >= 16, f"{same} of 20 fields read alike on 12 calibration fields"


def _float_only(model: Path, folder: Path) -> Path:
    """A copy of ``model`` in ``folder`` whose card names no int8 copy."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / model.name
    shutil.copyfile(model, copy)
    card = json.loads(model.with_suffix(".json").read_text())
    card.pop("int8", None)
    copy.with_suffix(".json").write_text(json.dumps(card))
    return copy
