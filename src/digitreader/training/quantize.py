"""Quantize the field reader to 8-bit integers for reading (ONNX Runtime static quantization).

The field reader is all convolutions, which ONNX Runtime runs in int8 (VNNI on x86) at about half
the time of float32. Activations are calibrated on generated fields from MNIST *training* digits
(``data.fields``, every kind); weights are quantized per channel. The first and the last
convolutions stay in float: the input's fine grey levels and the output's log-probabilities are
where 8 bits cost most. The float model stays beside it (``train-field --init`` fine-tunes it);
its card names the int8 one under ``int8``, and ``FieldReader`` reads with that.

    python -m digitreader.training.quantize assets/field/default.onnx [--fields 300] [--seed 91]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from digitreader.vision.field_reader import INPUT, field_input

FLOAT_ENDS = 1  # convolutions kept in float at each end of the network


class _Fields(CalibrationDataReader):
    """The calibration inputs, one field at a time (their widths differ)."""

    def __init__(self, inputs: list[np.ndarray]) -> None:
        self._inputs = iter(inputs)

    def get_next(self) -> dict[str, np.ndarray] | None:
        x = next(self._inputs, None)
        return None if x is None else {INPUT: x[None, None]}


def calibration_fields(count: int, seed: int, data_dir: str | None) -> list[np.ndarray]:
    """``count`` generated fields of every kind from MNIST training digits, as the field reader sees them."""
    from digitreader.data import load_mnist
    from digitreader.data.fields import Digits, field_sample

    x, y = load_mnist("train", data_dir, download=False)
    digits = Digits(x, y)
    out = []
    for i in range(count):
        image, _, _ = field_sample(digits, np.random.default_rng([seed, i]))
        grey = image if image.ndim == 2 else image.mean(axis=2).astype(np.uint8)
        out.append(field_input(grey))
    return out


def quantize(model: Path, out: Path, inputs: list[np.ndarray]) -> None:
    """Write ``out``: ``model`` with its convolutions in int8 (QDQ), but ``FLOAT_ENDS`` at each end."""
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(model), str(prepared))
        convs = [n.name for n in onnx.load(str(prepared)).graph.node if n.op_type == "Conv"]
        quantize_static(
            str(prepared),
            str(out),
            _Fields(inputs),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            op_types_to_quantize=["Conv", "MaxPool", "Relu"],
            nodes_to_exclude=convs[:FLOAT_ENDS] + convs[-FLOAT_ENDS:],
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", type=Path, help="a field reader (.onnx, with its .json card)")
    p.add_argument("--out", type=Path, help="default: MODEL-int8.onnx beside it")
    p.add_argument("--fields", type=int, default=300, help="generated fields to calibrate on")
    p.add_argument("--seed", type=int, default=91)
    p.add_argument("--data-dir", default=os.environ.get("DIGITREADER_DATA"))
    args = p.parse_args()
    out = args.out or args.model.with_name(f"{args.model.stem}-int8.onnx")
    quantize(args.model, out, calibration_fields(args.fields, args.seed, args.data_dir))
    card_path = args.model.with_suffix(".json")
    card = json.loads(card_path.read_text()) if card_path.is_file() else {}
    card["int8"] = {
        "model": out.name,
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "command": f"python -m digitreader.training.quantize {args.model.name} --fields {args.fields} "
        f"--seed {args.seed}",
        "calibration": f"{args.fields} generated fields of every kind from MNIST training digits (seed {args.seed})",
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    print(f"{out}: {out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
