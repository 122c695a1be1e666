"""Pack a digit model and a "not a digit" model into one ONNX graph.

The digit model's answers stay exactly as they were (output ``logits``); a second model, trained
with non-digits (``train --non-digits --energy-weight``), reads the same input beside it and gives
``reject_logits``, whose free energy ``Recognizer.digit_score`` compares with the card's
threshold. Both run in one ONNX Runtime call.

    python -m digitreader.training.pack DIGITS.onnx REJECT.onnx --out packed.onnx
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import onnx

from digitreader.engine import REJECT_OUTPUT

PREFIX = "reject/"


def pack(digits: Path, reject: Path, out: Path) -> None:
    """Write ``out``: ``digits``' graph, ``reject``'s beside it on the same input (logits, reject_logits)."""
    main, other = onnx.load(str(digits)), onnx.load(str(reject))
    if [o.name for o in main.graph.output] != ["logits"] or [i.name for i in other.graph.input] != ["image"]:
        raise ValueError("both models must take 'image' and give 'logits' (digitreader's contract)")
    other = onnx.compose.add_prefix(other, PREFIX)
    g = main.graph
    for node in other.graph.node:
        node.input[:] = ["image" if name == PREFIX + "image" else name for name in node.input]
        g.node.append(node)
    g.initializer.extend(other.graph.initializer)
    out_value = other.graph.output[0]
    for node in g.node:
        node.output[:] = [REJECT_OUTPUT if name == out_value.name else name for name in node.output]
    out_value.name = REJECT_OUTPUT
    g.output.append(out_value)
    onnx.checker.check_model(main)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(main, str(out))


def repack(digits: Path, packed: Path, out: Path) -> None:
    """Write ``out``: ``digits``' graph with ``packed``'s "not a digit" network beside it, unchanged.

    For a digit model fine-tuned from a packed one (``training.finetune``): the reject network
    reads the same input, so its scores, and the card's threshold, stay exactly as they were.
    """
    main, old = onnx.load(str(digits)), onnx.load(str(packed))
    if [o.name for o in main.graph.output] != ["logits"] or REJECT_OUTPUT not in [o.name for o in old.graph.output]:
        raise ValueError(f"{digits} must give 'logits' and {packed} must be a packed model (with {REJECT_OUTPUT})")
    g = main.graph
    g.node.extend(n for n in old.graph.node if any(o.startswith(PREFIX) or o == REJECT_OUTPUT for o in n.output))
    g.initializer.extend(t for t in old.graph.initializer if t.name.startswith(PREFIX))
    g.output.extend(o for o in old.graph.output if o.name == REJECT_OUTPUT)
    onnx.checker.check_model(main)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(main, str(out))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("digits", type=Path, help="the digit model (.onnx, with its .json card)")
    p.add_argument("reject", type=Path, help="the model trained with non-digits (.onnx, with its .json card)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    pack(args.digits, args.reject, args.out)
    card = json.loads(args.digits.with_suffix(".json").read_text())
    reject_card = json.loads(args.reject.with_suffix(".json").read_text())
    card["sha256"] = hashlib.sha256(args.out.read_bytes()).hexdigest()
    card["output"]["reject"] = {"name": REJECT_OUTPUT, "shape": ["N", 10], "dtype": "float32"}
    card["reject_model"] = {
        k: reject_card[k]
        for k in ("params", "test_accuracy", "train_command", "seed", "created", "calibration", "recipe")
        if k in reject_card
    }
    card["pack_command"] = (
        f"python -m digitreader.training.pack {args.digits.name} {args.reject.name} --out {args.out.name}"
    )
    args.out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
