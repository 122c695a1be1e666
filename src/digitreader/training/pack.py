"""Pack a digit model and its "not a digit" networks into one ONNX graph.

The digit model's answers stay exactly as they were (output ``logits``). Beside it, on the same
input, go a network trained with non-digits (``train --non-digits --energy-weight``), whose
``reject_logits`` give a free energy, and the gate (``training.gate``), whose ``gate_logit`` is
the log-odds that the input is a digit. ``Recognizer`` fuses them into one score with the
weights and the threshold that ``training.reject`` writes on the card. All run in one ONNX
Runtime call.

    python -m digitreader.training.pack DIGITS.onnx REJECT.onnx --out packed.onnx
    python -m digitreader.training.pack packed.onnx GATE.onnx --output gate_logit --out packed.onnx
    python -m digitreader.training.pack packed.onnx NEW_GATE.onnx --output gate_logit --replace --out packed.onnx
    python -m digitreader.training.pack packed.onnx GATE_A.onnx GATE_B.onnx --output gate_logit --replace \
        --out packed.onnx

A packed network comes out alone again, to be fine-tuned and packed back with ``--replace``:

    python -m digitreader.training.pack packed.onnx --unpack --output reject_logits --out reject.onnx

Several networks given for one output are packed as their average (an ensemble, ``average``): one output, one
threshold, every member run in the same call.

ONNX Runtime runs every network in a graph whatever outputs are asked for, so each packing also writes the
digit network alone (``logits_only``: ``packed-logits.onnx``, named on the card as ``logits_model``):
``read`` classifies its many candidate pieces with it, at a third of the packed graph's cost; and the "not a
digit" networks alone (``scores_card``: ``packed-scores.onnx``, ``scores_model``), for tiny images, which the model
of tiny images classifies.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx.utils import Extractor

from digitreader.engine import GATE_OUTPUT, REJECT_OUTPUT

PREFIXES = {REJECT_OUTPUT: "reject/", GATE_OUTPUT: "gate/"}  # the packed networks' node and weight names
CARD_KEYS = {REJECT_OUTPUT: "reject_model", GATE_OUTPUT: "gate_model"}


def pack(digits: Path, other: Path, out: Path, output: str = REJECT_OUTPUT, replace: bool = False) -> None:
    """Write ``out``: ``digits``' graph (and what is packed in it) with ``other``'s beside it on the same input;
    ``other``'s output becomes ``output`` (``reject_logits`` or ``gate_logit``). With ``replace``, the network
    that gives ``output`` in ``digits`` is taken out first (a retrained gate in place of the old one)."""
    main, extra = onnx.load(str(digits)), onnx.load(str(other))
    names = [o.name for o in main.graph.output]
    if names[:1] != ["logits"] or [i.name for i in extra.graph.input] != ["image"]:
        raise ValueError("both models must take 'image' and the first must give 'logits' (digitreader's contract)")
    if output not in PREFIXES or (output in names) != replace:
        have = "has no" if replace else "already has"
        raise ValueError(f"{output!r} is not one of {sorted(PREFIXES)} or {digits} {have} {output!r}")
    prefix = PREFIXES[output]
    if replace:
        _remove(main.graph, prefix, output)
    extra = onnx.compose.add_prefix(extra, prefix)
    g = main.graph
    for node in extra.graph.node:
        node.input[:] = ["image" if name == prefix + "image" else name for name in node.input]
        g.node.append(node)
    g.initializer.extend(extra.graph.initializer)
    out_value = extra.graph.output[0]
    for node in g.node:
        node.output[:] = [output if name == out_value.name else name for name in node.output]
    out_value.name = output
    g.output.append(out_value)
    _save(main, out)


def average(models: list[Path], out: Path) -> None:
    """Write ``out``: one network on ``image`` whose single output is the mean of ``models``' outputs (each
    model's graph kept whole under its own prefix, ``m0/``, ``m1/``, ...)."""
    if len(models) < 2:
        raise ValueError("an average needs at least two models")
    loaded = [onnx.load(str(m)) for m in models]
    if any([i.name for i in m.graph.input] != ["image"] or len(m.graph.output) != 1 for m in loaded):
        raise ValueError("each averaged model must take 'image' and give one output")
    first = loaded[0]
    graph = helper.make_graph([], "average", [first.graph.input[0]], [])
    names = []
    for k, m in enumerate(loaded):
        m = onnx.compose.add_prefix(m, f"m{k}/")
        for node in m.graph.node:
            node.input[:] = ["image" if name == f"m{k}/image" else name for name in node.input]
            graph.node.append(node)
        graph.initializer.extend(m.graph.initializer)
        names.append(m.graph.output[0].name)
    share = numpy_helper.from_array(np.array(1 / len(models), np.float32), "average/share")
    graph.initializer.append(share)
    graph.node.append(helper.make_node("Sum", names, ["average/sum"]))
    graph.node.append(helper.make_node("Mul", ["average/sum", share.name], ["output"]))
    result = first.graph.output[0]
    result.name = "output"
    graph.output.append(result)
    model = helper.make_model(graph, opset_imports=first.opset_import, ir_version=first.ir_version)
    _save(model, out)


def _remove(g: onnx.GraphProto, prefix: str, output: str) -> None:
    """Take the network packed under ``prefix`` (its nodes, weights and ``output``) out of graph ``g``."""
    nodes = [n for n in g.node if not any(o.startswith(prefix) or o == output for o in n.output)]
    weights = [t for t in g.initializer if not t.name.startswith(prefix)]
    outputs = [o for o in g.output if o.name != output]
    for field, kept in ((g.node, nodes), (g.initializer, weights), (g.output, outputs)):
        del field[:]
        field.extend(kept)


def repack(digits: Path, packed: Path, out: Path) -> None:
    """Write ``out``: ``digits``' graph with ``packed``'s "not a digit" networks beside it, unchanged.

    For a digit model fine-tuned from a packed one (``training.finetune``): the packed networks
    read the same input, so their scores, and the card's threshold, stay exactly as they were.
    """
    main, old = onnx.load(str(digits)), onnx.load(str(packed))
    kept = [o.name for o in old.graph.output if o.name in PREFIXES]
    if [o.name for o in main.graph.output] != ["logits"] or not kept:
        raise ValueError(f"{digits} must give 'logits' and {packed} must be a packed model (with {REJECT_OUTPUT})")
    prefixes = tuple(PREFIXES.values())
    g = main.graph
    g.node.extend(n for n in old.graph.node if any(o.startswith(prefixes) or o in kept for o in n.output))
    g.initializer.extend(t for t in old.graph.initializer if t.name.startswith(prefixes))
    g.output.extend(o for o in old.graph.output if o.name in kept)
    _save(main, out)


def unpack(packed: Path, output: str, out: Path) -> None:
    """Write ``out``: the one network packed under ``output`` alone, as it was exported (input ``image``,
    output ``logits``), to fine-tune it (``train --init``) and pack it back (``--replace``). An averaged gate
    comes out whole, as the one network it is."""
    model = onnx.load(str(packed))
    if output not in [o.name for o in model.graph.output]:
        raise ValueError(f"{packed} packs no network that gives {output}")
    graph = Extractor(model).extract_model(["image"], [output])
    prefix = PREFIXES[output]

    def bare(name: str) -> str:
        return "logits" if name == output else name.removeprefix(prefix)

    g = graph.graph
    for t in g.initializer:
        t.name = bare(t.name)
    for n in g.node:
        n.name = bare(n.name)
        n.input[:] = [bare(x) for x in n.input]
        n.output[:] = [bare(x) for x in n.output]
    for v in (*g.output, *g.value_info):
        v.name = bare(v.name)
    _save(graph, out)


def _packed_by(step: str, output: str) -> bool:
    """Whether the pack command ``step`` packed the network that gives ``output``."""
    words = step.split()
    named = words[words.index("--output") + 1] if "--output" in words[:-1] else REJECT_OUTPUT
    return named == output


def _save(model: onnx.ModelProto, out: Path) -> None:
    """Check ``model`` and write it to ``out``."""
    onnx.checker.check_model(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))


def _entry(out: Path, why: str) -> dict[str, str]:
    """The card's entry for a graph cut out and written beside the packed model."""
    return {"model": out.name, "sha256": hashlib.sha256(out.read_bytes()).hexdigest(), "why": why}


def logits_only(packed: Path, out: Path) -> None:
    """Write ``out``: the part of ``packed``'s graph that gives ``logits`` (the digit network alone)."""
    _save(Extractor(onnx.load(str(packed))).extract_model(["image"], ["logits"]), out)


def scores_card(packed: Path) -> dict[str, str]:
    """Write ``packed``'s "not a digit" networks alone beside it (``-scores.onnx``); its entry for the card."""
    model = onnx.load(str(packed))
    wanted = [o.name for o in model.graph.output if o.name in PREFIXES]
    out = packed.with_name(f"{packed.stem}-scores.onnx")
    _save(Extractor(model).extract_model(["image"], wanted), out)
    return _entry(
        out,
        "the 'not a digit' networks alone, cut from the packed graph: a tiny image is classified by the "
        "model of tiny images, so its scores are computed without running the digit network beside them",
    )


def logits_card(packed: Path) -> dict[str, str]:
    """Write ``packed``'s digit network alone beside it (``logits_only``); its entry for the card."""
    out = packed.with_name(f"{packed.stem}-logits.onnx")
    logits_only(packed, out)
    return _entry(
        out,
        "the digit network alone, cut from the packed graph (training.pack.logits_only): read classifies "
        "its candidate pieces with it, without running the 'not a digit' networks beside it",
    )


def _card_of(path: Path) -> dict:
    """The entry a packed network's card gets on the packed model's card."""
    card = json.loads(path.with_suffix(".json").read_text())
    keys = ("params", "test_accuracy", "train_command", "init", "init_sha256", "seed", "created", "calibration")
    keys += ("recipe", "train_seconds")
    return {k: card[k] for k in keys if k in card}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("digits", type=Path, help="the digit model (.onnx, with its .json card), maybe packed already")
    p.add_argument(
        "other",
        type=Path,
        nargs="*",
        help="the network(s) to pack beside it (.onnx, with .json cards); several are packed as their average",
    )
    p.add_argument("--output", choices=sorted(PREFIXES), default=REJECT_OUTPUT, help="what the other network gives")
    p.add_argument("--replace", action="store_true", help="take out the network that gives --output first")
    p.add_argument(
        "--unpack", action="store_true", help="write the network that gives --output alone to --out (to fine-tune it)"
    )
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    if args.unpack:
        if args.other or args.replace:
            p.error("--unpack takes the packed model alone")
        unpack(args.digits, args.output, args.out)
        print(f"{args.out}: the network that gave {args.output} in {args.digits}")
        return
    if not args.other:
        p.error("give the network(s) to pack beside the digit model")
    with tempfile.TemporaryDirectory() as tmp:
        other = args.other[0]
        if len(args.other) > 1:
            other = Path(tmp) / "average.onnx"
            average(args.other, other)
        pack(args.digits, other, args.out, args.output, args.replace)
    card = json.loads(args.digits.with_suffix(".json").read_text())
    card["sha256"] = hashlib.sha256(args.out.read_bytes()).hexdigest()
    width = 10 if args.output == REJECT_OUTPUT else 1
    card["output"][args.output.split("_")[0]] = {"name": args.output, "shape": ["N", width], "dtype": "float32"}
    cards = [_card_of(o) for o in args.other]
    card[CARD_KEYS[args.output]] = cards[0] if len(cards) == 1 else {"average_of": cards}
    names = [o.name for o in args.other] if len(args.other) == 1 else [f"{o.parent.name}/{o.name}" for o in args.other]
    command = f"python -m digitreader.training.pack {args.digits.name} {' '.join(names)}"
    if args.output != REJECT_OUTPUT:
        command += f" --output {args.output}"
    if args.replace:
        command += " --replace"
    before = card.get("pack_command")
    if before and args.replace:  # the replaced network's step no longer describes the graph
        before = "; then ".join(c for c in before.split("; then ") if not _packed_by(c, args.output))
    card["pack_command"] = "; then ".join(c for c in (before, f"{command} --out {args.out.name}") if c)
    card["logits_model"] = logits_card(args.out)
    card["scores_model"] = scores_card(args.out)
    args.out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
