"""training.pack: a digit model and a "not a digit" model in one ONNX graph, each output as it was alone."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest

onnx = pytest.importorskip("onnx", reason="onnx comes with the [train] extra")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from digitreader.engine import Recognizer  # noqa: E402
from digitreader.training.pack import logits_card, pack  # noqa: E402


def _linear_model(path, seed: int, width: int = 10) -> np.ndarray:  # type: ignore[no-untyped-def]
    """A real ONNX model of the digitreader contract (image [N,1,28,28] -> logits [N,10]; a gate's [N,1]):
    flatten, matmul."""
    w = np.random.default_rng(seed).normal(0, 0.1, (784, width)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["image"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "w"], ["logits"]),
        ],
        "linear",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", width])],
        [numpy_helper.from_array(w, "w")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return w


def test_packed_outputs_equal_each_model_alone(tmp_path) -> None:
    w1, w2 = _linear_model(tmp_path / "a.onnx", 1), _linear_model(tmp_path / "b.onnx", 2)
    pack(tmp_path / "a.onnx", tmp_path / "b.onnx", tmp_path / "p.onnx")
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    session = ort.InferenceSession(str(tmp_path / "p.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["logits", "reject_logits"]
    logits, reject = session.run(None, {"image": x})
    np.testing.assert_allclose(logits, x.reshape(3, -1) @ w1, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(reject, x.reshape(3, -1) @ w2, rtol=1e-5, atol=1e-5)


def test_the_recognizer_scores_on_the_packed_reject_network(tmp_path) -> None:
    _linear_model(tmp_path / "a.onnx", 1)
    w2 = _linear_model(tmp_path / "b.onnx", 2)
    pack(tmp_path / "a.onnx", tmp_path / "b.onnx", tmp_path / "p.onnx")
    card = {"name": "p", "reject": {"energy_below": 1e9, "temperature": 2.0}}  # rejects everything
    (tmp_path / "p.json").write_text(json.dumps(card))
    r = Recognizer(tmp_path / "p.onnx", line_model=None)
    x = np.random.default_rng(0).random((2, 28, 28), dtype=np.float32)
    z = 2.0 * (x.reshape(2, -1) @ w2).astype(np.float64)
    expected = np.log(np.exp(z).sum(axis=1))
    np.testing.assert_allclose(r.scores(x), expected, rtol=1e-5)
    from digitreader.errors import NotADigitError

    with pytest.raises(NotADigitError):
        r.predict_array(x[0])
    assert r.predict_array(x[0], reject=False).digit in range(10)


def test_a_gate_packs_beside_the_reject_network_and_the_recognizer_fuses_their_scores(tmp_path) -> None:
    from digitreader.training.pack import repack

    w1, w2 = _linear_model(tmp_path / "a.onnx", 1), _linear_model(tmp_path / "b.onnx", 2)
    w3 = _linear_model(tmp_path / "g.onnx", 3, width=1)
    pack(tmp_path / "a.onnx", tmp_path / "b.onnx", tmp_path / "p.onnx")
    pack(tmp_path / "p.onnx", tmp_path / "g.onnx", tmp_path / "pg.onnx", output="gate_logit")
    with pytest.raises(ValueError, match="already has"):
        pack(tmp_path / "pg.onnx", tmp_path / "g.onnx", tmp_path / "twice.onnx", output="gate_logit")
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    session = ort.InferenceSession(str(tmp_path / "pg.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["logits", "reject_logits", "gate_logit"]
    logits, _, gate = session.run(None, {"image": x})
    np.testing.assert_allclose(logits, x.reshape(3, -1) @ w1, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gate, x.reshape(3, -1) @ w3, rtol=1e-5, atol=1e-5)

    fuse = {"bias": -1.0, "energy": 0.5, "gate": 2.0}
    card = {"name": "pg", "reject": {"below": 0.0, "temperature": 1.0, "fuse": fuse}}
    (tmp_path / "pg.json").write_text(json.dumps(card))
    r = Recognizer(tmp_path / "pg.onnx", line_model=None)
    z = (x.reshape(3, -1) @ w2).astype(np.float64)
    energy = np.log(np.exp(z).sum(axis=1))
    expected = -1.0 + 0.5 * energy + 2.0 * (x.reshape(3, -1) @ w3)[:, 0]
    np.testing.assert_allclose(r.scores(x[:, 0]), expected, rtol=1e-5)

    # A digit model fine-tuned from the packed one keeps both networks, unchanged.
    _linear_model(tmp_path / "tuned.onnx", 4)
    repack(tmp_path / "tuned.onnx", tmp_path / "pg.onnx", tmp_path / "again.onnx")
    again = ort.InferenceSession(str(tmp_path / "again.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in again.get_outputs()] == ["logits", "reject_logits", "gate_logit"]
    np.testing.assert_allclose(again.run(["gate_logit"], {"image": x})[0], gate, rtol=1e-6)


def test_a_retrained_gate_replaces_the_packed_one_and_the_rest_stays_exactly(tmp_path) -> None:
    w1, w2 = _linear_model(tmp_path / "a.onnx", 1), _linear_model(tmp_path / "b.onnx", 2)
    _linear_model(tmp_path / "g.onnx", 3, width=1)
    w4 = _linear_model(tmp_path / "g2.onnx", 4, width=1)
    pack(tmp_path / "a.onnx", tmp_path / "b.onnx", tmp_path / "p.onnx")
    pack(tmp_path / "p.onnx", tmp_path / "g.onnx", tmp_path / "pg.onnx", output="gate_logit")
    with pytest.raises(ValueError, match="has no 'gate_logit'"):
        pack(tmp_path / "p.onnx", tmp_path / "g2.onnx", tmp_path / "no.onnx", output="gate_logit", replace=True)
    pack(tmp_path / "pg.onnx", tmp_path / "g2.onnx", tmp_path / "pg2.onnx", output="gate_logit", replace=True)
    model = onnx.load(str(tmp_path / "pg2.onnx"))
    assert [o.name for o in model.graph.output] == ["logits", "reject_logits", "gate_logit"]
    assert sum(t.name.startswith("gate/") for t in model.graph.initializer) == 1  # the old gate's weight is gone
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    session = ort.InferenceSession(str(tmp_path / "pg2.onnx"), providers=["CPUExecutionProvider"])
    logits, reject, gate = session.run(None, {"image": x})
    flat = x.reshape(3, -1)
    np.testing.assert_allclose(logits, flat @ w1, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(reject, flat @ w2, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gate, flat @ w4, rtol=1e-5, atol=1e-5)


def test_several_gates_pack_as_their_average_in_place_of_the_one(tmp_path) -> None:
    from digitreader.training.pack import average

    w1, w2 = _linear_model(tmp_path / "a.onnx", 1), _linear_model(tmp_path / "b.onnx", 2)
    _linear_model(tmp_path / "g.onnx", 3, width=1)
    wa, wb = _linear_model(tmp_path / "ga.onnx", 4, width=1), _linear_model(tmp_path / "gb.onnx", 5, width=1)
    with pytest.raises(ValueError, match="at least two"):
        average([tmp_path / "ga.onnx"], tmp_path / "one.onnx")
    with pytest.raises(ValueError, match="one output"):
        pack(tmp_path / "a.onnx", tmp_path / "b.onnx", tmp_path / "p.onnx")
        average([tmp_path / "p.onnx", tmp_path / "ga.onnx"], tmp_path / "bad.onnx")
    average([tmp_path / "ga.onnx", tmp_path / "gb.onnx"], tmp_path / "avg.onnx")
    pack(tmp_path / "p.onnx", tmp_path / "g.onnx", tmp_path / "pg.onnx", output="gate_logit")
    pack(tmp_path / "pg.onnx", tmp_path / "avg.onnx", tmp_path / "pe.onnx", output="gate_logit", replace=True)
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    session = ort.InferenceSession(str(tmp_path / "pe.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["logits", "reject_logits", "gate_logit"]
    logits, reject, gate = session.run(None, {"image": x})
    flat = x.reshape(3, -1)
    np.testing.assert_allclose(logits, flat @ w1, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(reject, flat @ w2, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gate, flat @ (wa + wb) / 2, rtol=1e-5, atol=1e-5)


def _gate_model(path, sign: float) -> None:  # type: ignore[no-untyped-def]
    """A gate whose logit is ``sign`` times the input's mean ink (positive images: the sign decides)."""
    w = np.full((784, 1), sign / 784, np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["image"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "w"], ["logits"]),
        ],
        "gate",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1])],
        [numpy_helper.from_array(w, "w")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def test_the_not_a_digit_networks_cut_alone_score_tiny_images(tmp_path) -> None:
    from digitreader.errors import NotADigitError
    from digitreader.training.pack import scores_card

    _linear_model(tmp_path / "a.onnx", 1)
    _linear_model(tmp_path / "b.onnx", 2)
    _gate_model(tmp_path / "g.onnx", 1.0)
    _linear_model(tmp_path / "t.onnx", 5)  # the model of tiny images
    pack(tmp_path / "a.onnx", tmp_path / "b.onnx", tmp_path / "p.onnx")
    pack(tmp_path / "p.onnx", tmp_path / "g.onnx", tmp_path / "pg.onnx", output="gate_logit")
    entry = scores_card(tmp_path / "pg.onnx")
    x = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)
    cut = ort.InferenceSession(str(tmp_path / entry["model"]), providers=["CPUExecutionProvider"])
    whole = ort.InferenceSession(str(tmp_path / "pg.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in cut.get_outputs()] == ["reject_logits", "gate_logit"]
    for a, b in zip(cut.run(None, {"image": x}), whole.run(None, {"image": x})[1:], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)

    fuse = {"bias": 0.0, "energy": 0.0, "gate": 1.0}  # the gate's logit decides: positive for these inputs
    card = {"name": "pg", "reject": {"below": 0.0, "temperature": 1.0, "fuse": fuse}, "scores_model": entry}
    card["tiny_images"] = {"model": "t.onnx", "max_side": 12}
    (tmp_path / "pg.json").write_text(json.dumps(card))
    r = Recognizer(tmp_path / "pg.onnx", line_model=None, field_model=None)
    assert r.predict_array(x[0, 0], tiny_side=8).digit in range(10)
    # A tiny image's scores come from the cut alone: a gate of the opposite sign there rejects it, not a large one.
    _gate_model(tmp_path / "g.onnx", -1.0)
    pack(tmp_path / "p.onnx", tmp_path / "g.onnx", tmp_path / "neg.onnx", output="gate_logit")
    (tmp_path / entry["model"]).write_bytes((tmp_path / scores_card(tmp_path / "neg.onnx")["model"]).read_bytes())
    r = Recognizer(tmp_path / "pg.onnx", line_model=None, field_model=None)
    with pytest.raises(NotADigitError):
        r.predict_array(x[0, 0], tiny_side=8)
    assert r.predict_array(x[0, 0]).digit in range(10)


def test_a_card_that_fuses_a_score_the_model_lacks_is_refused(tmp_path) -> None:
    from digitreader.errors import ModelError

    _linear_model(tmp_path / "a.onnx", 1)
    _linear_model(tmp_path / "b.onnx", 2)
    pack(tmp_path / "a.onnx", tmp_path / "b.onnx", tmp_path / "p.onnx")
    card = {"name": "p", "reject": {"below": 0.0, "fuse": {"bias": 0.0, "energy": 1.0, "gate": 1.0}}}
    (tmp_path / "p.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="does not give"):
        Recognizer(tmp_path / "p.onnx", line_model=None)


def test_the_digit_network_cut_out_of_a_packed_graph_gives_its_logits_alone(tmp_path) -> None:
    w1 = _linear_model(tmp_path / "a.onnx", 1)
    _linear_model(tmp_path / "b.onnx", 2)
    pack(tmp_path / "a.onnx", tmp_path / "b.onnx", tmp_path / "p.onnx")
    entry = logits_card(tmp_path / "p.onnx")
    alone = ort.InferenceSession(str(tmp_path / entry["model"]), providers=["CPUExecutionProvider"])
    assert [o.name for o in alone.get_outputs()] == ["logits"]
    assert len(onnx.load(str(tmp_path / entry["model"])).graph.initializer) == 1  # the reject network's weights went
    (tmp_path / "p.json").write_text(json.dumps({"name": "p", "logits_model": entry}))
    r = Recognizer(tmp_path / "p.onnx", line_model=None)
    x = np.random.default_rng(0).random((4, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(r.logits(x), x.reshape(4, -1) @ w1, rtol=1e-5, atol=1e-5)
    assert r._alone_path in r._sessions  # read's candidates went through the cut-out graph


def test_predict_takes_the_packed_reject_networks_vote_with_the_cards_weight(tmp_path) -> None:
    w1, w2 = _linear_model(tmp_path / "a.onnx", 1), _linear_model(tmp_path / "b.onnx", 2)
    pack(tmp_path / "a.onnx", tmp_path / "b.onnx", tmp_path / "p.onnx")
    x = np.random.default_rng(0).random((28, 28), dtype=np.float32)

    def log_softmax(z: np.ndarray) -> np.ndarray:
        z = z.astype(np.float64) - z.max()
        return z - np.log(np.exp(z).sum())

    for weight in (0.0, 0.5, 1.0):
        (tmp_path / "p.json").write_text(json.dumps({"name": "p", "reject_vote": {"weight": weight}}))
        r = Recognizer(tmp_path / "p.onnx", line_model=None)
        expected = np.exp((1 - weight) * log_softmax(x.ravel() @ w1) + weight * log_softmax(x.ravel() @ w2))
        got = r.predict_array(x, reject=False)
        np.testing.assert_allclose(got.probabilities, expected / expected.sum(), rtol=1e-4, atol=1e-6)


def test_the_command_packs_several_gates_as_their_average_and_its_card_lists_each(tmp_path) -> None:
    import subprocess
    import sys

    _linear_model(tmp_path / "a.onnx", 1)
    _linear_model(tmp_path / "b.onnx", 2)
    pack(tmp_path / "a.onnx", tmp_path / "b.onnx", tmp_path / "p.onnx")
    (tmp_path / "p.json").write_text(json.dumps({"name": "p", "params": 7840, "output": {"name": "logits"}}))
    for k, seed in enumerate((3, 4)):
        (tmp_path / f"g{k}").mkdir()
        _linear_model(tmp_path / f"g{k}" / "model.onnx", seed, width=1)
        (tmp_path / f"g{k}" / "model.json").write_text(json.dumps({"params": 784, "seed": seed}))
    gates = [str(tmp_path / f"g{k}" / "model.onnx") for k in range(2)]
    cmd = [sys.executable, "-m", "digitreader.training.pack", str(tmp_path / "p.onnx"), *gates]
    subprocess.run([*cmd, "--output", "gate_logit", "--out", str(tmp_path / "pe.onnx")], check=True)
    card = json.loads((tmp_path / "pe.json").read_text())
    assert [m["seed"] for m in card["gate_model"]["average_of"]] == [3, 4]
    assert "g0/model.onnx g1/model.onnx --output gate_logit" in card["pack_command"]
    for key in ("logits_model", "scores_model"):
        assert (tmp_path / card[key]["model"]).is_file()
    assert card["output"]["gate"]["name"] == "gate_logit"


def test_a_packed_network_unpacks_alone_and_replacing_it_keeps_the_other_steps_on_the_card(tmp_path) -> None:
    import subprocess
    import sys

    def run(*args: object) -> None:
        subprocess.run([sys.executable, "-m", "digitreader.training.pack", *map(str, args)], check=True)

    _linear_model(tmp_path / "a.onnx", 1)
    (tmp_path / "a.json").write_text(json.dumps({"name": "a", "params": 7840, "output": {"name": "logits"}}))
    for name, seed, width in (("rej", 2, 10), ("gate", 3, 1), ("rej2", 4, 10)):
        (tmp_path / name).mkdir()
        _linear_model(tmp_path / name / "model.onnx", seed, width)
        (tmp_path / name / "model.json").write_text(json.dumps({"params": 784 * width, "seed": seed}))
    run(tmp_path / "a.onnx", tmp_path / "rej" / "model.onnx", "--out", tmp_path / "p.onnx")
    run(tmp_path / "p.onnx", tmp_path / "gate" / "model.onnx", "--output", "gate_logit", "--out", tmp_path / "p.onnx")
    run(tmp_path / "p.onnx", "--unpack", "--output", "reject_logits", "--out", tmp_path / "alone.onnx")
    alone = ort.InferenceSession(str(tmp_path / "alone.onnx"), providers=["CPUExecutionProvider"])
    packed = ort.InferenceSession(str(tmp_path / "p.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in alone.get_outputs()] == ["logits"]
    assert all(not t.name.startswith("reject/") for t in onnx.load(str(tmp_path / "alone.onnx")).graph.initializer)
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(alone.run(None, {"image": x})[0], packed.run(["reject_logits"], {"image": x})[0])

    run(tmp_path / "p.onnx", tmp_path / "rej2" / "model.onnx", "--replace", "--out", tmp_path / "q.onnx")
    card = json.loads((tmp_path / "q.json").read_text())
    steps = card["pack_command"].split("; then ")
    assert len(steps) == 2 and "--output gate_logit" in steps[0] and "--replace" in steps[1]
    assert card["reject_model"]["seed"] == 4 and card["gate_model"]["seed"] == 3
    with pytest.raises(subprocess.CalledProcessError):  # nothing to unpack
        run(tmp_path / "a.onnx", "--unpack", "--output", "gate_logit", "--out", tmp_path / "none.onnx")
