"""`train-line` end to end on a tiny run: strips from training digits, CTC training, ONNX export with any width."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="line training tests need the [train] extra (PyTorch)")

from digitreader.training.line_data import cached_strips  # noqa: E402


def test_strips_come_from_training_digits_and_are_reproducible(mnist_path, tmp_path) -> None:
    strips, widths, texts = cached_strips(tmp_path / "strips-40-5.npz", 40, 5, str(mnist_path), jobs=1)
    assert strips.shape[:2] == (40, 28) and len(texts) == 40
    assert all(1 <= len(t) <= 4 and t.isdigit() for t in texts)
    assert (widths >= 8).all() and all(strips[i, :, widths[i] :].max() == 0 for i in range(40))
    # A larger run of the same seed starts with the same strips (only the rest is made).
    more, more_widths, more_texts = cached_strips(tmp_path / "strips-60-5.npz", 60, 5, str(mnist_path), jobs=1)
    assert more_texts[:40] == texts and np.array_equal(more[:40], strips) and len(more_texts) == 60
    assert np.array_equal(more_widths[:40], widths)


def test_tiny_line_training_exports_a_model_that_matches_torch(mnist_path, tmp_path, capsys) -> None:
    from digitreader.cli import main
    from digitreader.models.line import LineNet
    from digitreader.vision.line_reader import LineReader

    out = tmp_path / "run"
    code = main(["train-line", "--strips", "300", "--epochs", "1", "--jobs", "1",
                 "--data-dir", str(mnist_path), "--out", str(out)])  # fmt: skip
    assert code == 0
    card = json.loads((out / "line.json").read_text())
    assert card["command"].startswith("digitreader train-line --strips 300 --epochs 1")
    assert len(card["history"]) == 1 and 0.0 <= card["held_out_accuracy"] <= 1.0
    model = LineNet()
    model.load_state_dict(torch.load(out / "line.pt"))
    model.eval()
    reader = LineReader(out / "line.onnx", threads=1)
    rng = np.random.default_rng(0)
    for width in (17, 40, 96):  # any width, odd ones included
        strip = rng.random((28, width)).astype(np.float32)
        (ours,) = reader.log_probs([strip])
        even = np.pad(strip, ((0, 0), (0, width % 2)))  # the reader pads to an even width: T = ceil(W / 2)
        with torch.no_grad():
            ref = model(torch.from_numpy(even)[None, None]).numpy()[0]
        assert ours.shape == ref.shape == ((width + 1) // 2, 11)
        assert np.abs(ours - ref).max() < 1e-4


@pytest.mark.parametrize("size", ["small", "large"])
def test_an_exported_line_reader_loads_back_into_torch_exactly(tmp_path, size) -> None:
    """Fine-tuning starts from an ONNX file: the folded batch norms come back as the same function."""
    from digitreader.models.line import LineNet
    from digitreader.training.line import export_line, load_weights
    from digitreader.vision.line_reader import LineReader

    torch.manual_seed(0)
    trained = LineNet(size=size)
    for m in trained.modules():  # statistics unlike the initial ones, so a wrong unfolding would show
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.bias.data.uniform_(-0.3, 0.3)
    export_line(trained, tmp_path / "line.onnx")
    loaded = LineNet(size=size)
    load_weights(loaded, tmp_path / "line.onnx")
    loaded.eval()
    strip = np.random.default_rng(1).random((28, 50)).astype(np.float32)
    with torch.no_grad():
        ref = trained.eval()(torch.from_numpy(strip)[None, None]).numpy()[0]
        ours = loaded(torch.from_numpy(strip)[None, None]).numpy()[0]
    assert np.abs(ours - ref).max() < 1e-4
    (onnx_out,) = LineReader(tmp_path / "line.onnx", threads=1).log_probs([strip])
    assert np.abs(onnx_out - ours).max() < 1e-4
    with pytest.raises(ValueError, match="does not hold"):
        load_weights(LineNet(width=64, size=size), tmp_path / "line.onnx")
    with pytest.raises(ValueError, match="does not hold"):  # the other size's layers
        load_weights(LineNet(size="large" if size == "small" else "small"), tmp_path / "line.onnx")


def test_an_unknown_line_reader_size_is_refused() -> None:
    from digitreader.models.line import LineNet

    with pytest.raises(ValueError, match="unknown line reader size 'huge'"):
        LineNet(size="huge")
    from digitreader.commands import train_line
    from digitreader.models.line import SIZES

    assert train_line.SIZES == SIZES  # the command's choices, kept beside it so that --help needs no torch


def test_a_large_line_reader_trains_on_more_strips(mnist_path, tmp_path, capsys) -> None:
    from digitreader.cli import main
    from digitreader.models.line import LineNet
    from digitreader.training.line import _add_more
    from digitreader.vision.line_reader import LineReader

    other = tmp_path / "other"
    assert main(["train-line", "--strips", "100", "--epochs", "1", "--jobs", "1", "--seed", "7",
                 "--data-dir", str(mnist_path), "--out", str(other)]) == 0  # fmt: skip
    more = other / "strips-100-7.npz"
    out = tmp_path / "large"
    code = main(["train-line", "--size", "large", "--strips", "200", "--epochs", "1", "--jobs", "1",
                 "--data-dir", str(mnist_path), "--out", str(out), "--more-strips", str(more)])  # fmt: skip
    assert code == 0
    assert "300 strips ready" in capsys.readouterr().out
    card = json.loads((out / "line.json").read_text())
    assert card["command"].endswith(f"--size large --more-strips {more}")
    assert card["config"]["size"] == "large" and card["params"] > 500_000
    model = LineNet(size="large")
    model.load_state_dict(torch.load(out / "line.pt"))
    strip = np.random.default_rng(2).random((28, 40)).astype(np.float32)
    with torch.no_grad():
        ref = model.eval()(torch.from_numpy(strip)[None, None]).numpy()[0]
    (ours,) = LineReader(out / "line.onnx", threads=1).log_probs([strip])
    assert np.abs(ours - ref).max() < 1e-4
    # The other run's held-out strips (its last 10: a tenth of a small run) are not trained on.
    base = np.zeros((200, 28, 224), np.uint8), np.zeros(200, np.int32), ["1"] * 200, np.arange(180)
    _, _, texts, train_idx = _add_more(*base, [str(more)], held_out=2000)
    assert len(texts) == 300 and train_idx.max() == 289 and len(train_idx) == 270
    # A cache that does not exist is a clear error, before any work.
    assert main(["train-line", "--out", str(tmp_path / "x"), "--more-strips", str(tmp_path / "no.npz")]) == 2
    assert "does not exist" in " ".join(capsys.readouterr().err.split())  # wrapped to the terminal


def test_fine_tuning_the_bundled_line_reader(mnist_path, tmp_path, capsys) -> None:
    from digitreader.cli import main
    from digitreader.vision.line_reader import bundled_line_model

    out = tmp_path / "ft"
    code = main(["train-line", "--init", "bundled", "--lr", "1e-4", "--strips", "300", "--epochs", "1",
                 "--jobs", "1", "--data-dir", str(mnist_path), "--out", str(out)])  # fmt: skip
    assert code == 0
    assert "started from" in capsys.readouterr().out
    card = json.loads((out / "line.json").read_text())
    assert card["command"].endswith("--lr 0.0001 --init bundled")
    assert card["init_sha256"] == hashlib.sha256(bundled_line_model().read_bytes()).hexdigest()
    # Starting from a reader that already reads well, one epoch at a low rate keeps it reading well.
    assert card["held_out_accuracy"] >= 0.9
    assert 0.0 <= card["init_held_out_accuracy"] <= 1.0
    assert card["init_card"]["command"].startswith("digitreader train-line")  # the chain back to a fresh start


def _random_reader(size: str, seed: int):
    """A line reader with random weights and batch-norm statistics unlike the initial ones."""
    from digitreader.models.line import LineNet

    torch.manual_seed(seed)
    net = LineNet(size=size)
    for m in net.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return net.eval()


def test_line_readers_combine_into_one_ensemble_file(mnist_path, tmp_path, capsys) -> None:
    """`--combine` writes one ONNX file that reads as the renormalised mean of its members' log-probabilities."""
    from digitreader.cli import main
    from digitreader.models.line import LineEnsemble
    from digitreader.training.line import export_line, load_weights
    from digitreader.vision.line_reader import LineReader

    small, large = export_line(_random_reader("small", 0), tmp_path / "a.onnx"), tmp_path / "b.onnx"
    export_line(_random_reader("large", 1), large)
    cached_strips(tmp_path / "strips-50-4.npz", 50, 4, str(mnist_path), jobs=1)
    out = tmp_path / "ens"
    code = main(["train-line", "--combine", str(small), "--combine", str(large), "--out", str(out),
                 "--eval-strips", str(tmp_path / "strips-50-4.npz")])  # fmt: skip
    assert code == 0
    card = json.loads((out / "line.json").read_text())
    assert card["config"]["size"] == "small+large" and [m["size"] for m in card["members"]] == ["small", "large"]
    assert card["members"][1]["init_sha256"] == hashlib.sha256(large.read_bytes()).hexdigest()
    assert card["command"] == f"digitreader train-line --combine {small} --combine {large} --eval-strips " + str(
        tmp_path / "strips-50-4.npz"
    )
    assert card["held_out"].startswith("the last 5 strips") and 0.0 <= card["held_out_accuracy"] <= 1.0
    assert card["sha256"] == hashlib.sha256((out / "line.onnx").read_bytes()).hexdigest()
    strip = np.random.default_rng(3).random((28, 45)).astype(np.float32)
    (a,), (b,) = LineReader(small, threads=1).log_probs([strip]), LineReader(large, threads=1).log_probs([strip])
    (ens,) = LineReader(out / "line.onnx", threads=1).log_probs([strip])
    mean = (a + b) / 2
    expected = mean - np.log(np.exp(mean).sum(axis=1, keepdims=True))
    assert ens.shape == (23, 11) and np.abs(ens - expected).max() < 1e-4
    assert np.abs(ens - a).max() > 0.1 and np.abs(ens - b).max() > 0.1  # both members count
    # The ensemble loads back into torch exactly, so it can be fine-tuned as a whole (`--init`).
    loaded = LineEnsemble(["small", "large"])
    load_weights(loaded, out / "line.onnx")
    with torch.no_grad():
        ours = loaded.eval()(torch.from_numpy(np.pad(strip, ((0, 0), (0, 1))))[None, None]).numpy()[0]
    assert np.abs(ours - ens).max() < 1e-4


def test_combining_needs_two_line_readers(tmp_path, capsys) -> None:
    from digitreader.cli import main
    from digitreader.engine import bundled_models_dir
    from digitreader.training.line import export_line

    one = export_line(_random_reader("small", 0), tmp_path / "a.onnx")
    assert main(["train-line", "--combine", str(one), "--out", str(tmp_path / "x")]) == 2
    assert "two or more" in " ".join(capsys.readouterr().err.split())
    digit_model = bundled_models_dir() / "default.onnx"  # a digit model, not a line reader
    assert main(["train-line", "--combine", str(one), "--combine", str(digit_model), "--out", str(tmp_path / "x")]) == 2
    assert "is not a single line reader" in " ".join(capsys.readouterr().err.split())
