"""Train the line reader (``models.line``) with CTC on strips made from MNIST training digits.

``train_line(cfg)`` builds (or loads) the strips (``training.line_data``), trains with
AdamW and OneCycle, reports exact-string accuracy on held-out strips after every epoch,
and exports ``line.onnx``: input ``strip`` [N, 1, 28, W], output ``log_probs`` [N, W/2, 11].
"""

from __future__ import annotations

import io
import json
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import onnx
import torch
from torch import nn

from digitreader.models.line import BLANK, SIZES, LineNet, line_net
from digitreader.training.export import sha256, started_from
from digitreader.training.line_data import cached_strips
from digitreader.training.onnx_weights import load_onnx_weights, train_mode
from digitreader.vision.line_reader import greedy

TASK = "CTC reading of groups of 1-4 handwritten digits; blank = class 10"
HELD_OUT = 2_000


def held_out_of(count: int, held_out: int = HELD_OUT) -> int:
    """Strips a run of ``count`` holds out (its last ones): ``held_out``, but at most a tenth of a small run."""
    return min(held_out, max(1, count // 10))


@dataclass
class LineConfig:
    strips: int = 60_000
    held_out: int = HELD_OUT
    seed: int = 1
    epochs: int = 12
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    data_dir: str | None = None
    out_dir: str = "runs/line"
    jobs: int = 2
    threads: int | None = None
    init: str | None = None  # start from this line reader: a .pt state dict, an .onnx file, or "bundled"
    size: str | None = None  # models.line.line_net: "small", "large", "small+large"; None: the init's, else small
    more: list[str] = field(default_factory=list)  # other runs' strip caches (.npz) to train on too

    def init_path(self) -> Path | None:
        """The file of the reader to start from (``bundled``: the one that ships with the package)."""
        if self.init == "bundled":
            from digitreader.vision.line_reader import bundled_line_model

            return bundled_line_model()
        return Path(self.init) if self.init else None

    def model_size(self) -> str:
        """``size``, else the size on the card of the reader it starts from, else ``small``."""
        if self.size:
            return self.size
        init = self.init_path()
        card = init.with_suffix(".json") if init is not None else None
        if card is not None and card.is_file():
            return json.loads(card.read_text()).get("config", {}).get("size") or "small"
        return "small"

    def held_out_count(self) -> int:
        """Strips held out for evaluation (``held_out_of``)."""
        return held_out_of(self.strips, self.held_out)


def _stretch(strip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Augment one strip: squeeze or stretch it sideways, and shift it up or down a pixel."""
    h, w = strip.shape
    new_w = max(8, round(w * rng.uniform(0.8, 1.2)))
    out = cv2.resize(strip, (new_w, h), interpolation=cv2.INTER_LINEAR)
    return np.roll(out, int(rng.integers(-1, 2)), axis=0)


def _batch(
    strips: np.ndarray, widths: np.ndarray, texts: list[str], idx: np.ndarray, rng: np.random.Generator | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(images [B,1,28,W], targets, frames per strip, target lengths)."""
    items = [strips[i, :, : widths[i]].astype(np.float32) / 255 for i in idx]
    if rng is not None:
        items = [_stretch(a, rng) for a in items]
    width = max(a.shape[1] for a in items)
    width += width % 2
    x = np.zeros((len(items), 1, strips.shape[1], width), np.float32)
    for k, a in enumerate(items):
        x[k, 0, :, : a.shape[1]] = a
    frames = torch.tensor([(a.shape[1] + 1) // 2 for a in items], dtype=torch.long)
    targets = torch.tensor([int(c) for i in idx for c in texts[i]], dtype=torch.long)
    lengths = torch.tensor([len(texts[i]) for i in idx], dtype=torch.long)
    return torch.from_numpy(x), targets, frames, lengths


def buckets(widths: np.ndarray, order: np.ndarray, size: int) -> list[np.ndarray]:
    """Batches of strips of similar width (less padding), in random order."""
    chunks = [order[i : i + 50 * size] for i in range(0, len(order), 50 * size)]
    batches = []
    for c in chunks:
        c = c[np.argsort(widths[c], kind="stable")]
        batches += [c[i : i + size] for i in range(0, len(c), size)]
    return batches


def evaluate(model: nn.Module, strips: np.ndarray, widths: np.ndarray, texts: list[str], idx: np.ndarray) -> float:
    """Exact-string accuracy of greedy decoding on the strips ``idx``."""
    model.eval()
    right = 0
    with torch.no_grad():
        for b in buckets(widths, idx, 256):
            x, _, frames, _ = _batch(strips, widths, texts, b, None)
            logp = model(x).numpy()
            right += sum(greedy(logp[k, : frames[k]])[0] == texts[i] for k, i in enumerate(b))
    return right / max(1, len(idx))


def train_line(cfg: LineConfig, log=print) -> dict:
    """Train, evaluate on the held-out strips, export ONNX; returns the run's summary."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    strips, widths, texts = cached_strips(
        out / f"strips-{cfg.strips}-{cfg.seed}.npz", cfg.strips, cfg.seed, cfg.data_dir, cfg.jobs
    )
    held = cfg.held_out_count()
    train_idx = np.arange(len(texts) - held)
    val_idx = np.arange(len(texts) - held, len(texts))
    if cfg.more:
        strips, widths, texts, train_idx = _add_more(strips, widths, texts, train_idx, cfg.more, cfg.held_out)
    log(f"{len(texts)} strips ready in {time.perf_counter() - t0:.0f} s")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = line_net(cfg.model_size())
    start_acc = None
    init = cfg.init_path()
    if init is not None:
        load_weights(model, init)
        start_acc = evaluate(model, strips, widths, texts, val_idx)
        log(f"started from {cfg.init}: held-out exact {start_acc:.2%}")
    steps = cfg.epochs * len(buckets(widths, train_idx, cfg.batch_size))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.15)
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    history = []
    for epoch in range(cfg.epochs):
        train_mode(model, frozen_norms=init is not None)
        t = time.perf_counter()
        losses = []
        for b in buckets(widths, rng.permutation(train_idx), cfg.batch_size):
            x, targets, frames, lengths = _batch(strips, widths, texts, b, rng)
            logp = model(x).transpose(0, 1)  # [T, B, 11]
            loss = ctc(logp, targets, frames, lengths)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        acc = evaluate(model, strips, widths, texts, val_idx)
        history.append(
            {
                "epoch": epoch + 1,
                "loss": float(np.mean(losses)),
                "held_out_accuracy": acc,
                "seconds": time.perf_counter() - t,
            }
        )
        log(
            f"epoch {epoch + 1}/{cfg.epochs}  loss {np.mean(losses):.4f}  held-out exact {acc:.2%}  "
            f"{time.perf_counter() - t:.0f} s"
        )
    torch.save(model.state_dict(), out / "line.pt")
    export_line(model, out / "line.onnx")
    summary = line_card(cfg, history, sum(p.numel() for p in model.parameters()), out / "line.onnx")
    if start_acc is not None:
        summary["init_held_out_accuracy"] = start_acc  # the reader it started from, on the same held-out strips
    (out / "line.json").write_text(json.dumps(summary, indent=2))
    return summary


def _add_more(
    strips: np.ndarray, widths: np.ndarray, texts: list[str], train_idx: np.ndarray, files: list[str], held_out: int
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Append other runs' cached strips to the training part, each less the strips its own run
    held out (``held_out_of``), so that those stay unseen for comparisons."""
    parts_s, parts_w, idx = [strips], [widths], [train_idx]
    n = len(texts)
    texts = list(texts)
    for f in files:
        z = np.load(f)
        m = len(z["widths"])
        parts_s.append(z["strips"])
        parts_w.append(z["widths"])
        texts += [str(t) for t in z["texts"]]
        idx.append(n + np.arange(m - held_out_of(m, held_out)))
        n += m
    return np.concatenate(parts_s), np.concatenate(parts_w), texts, np.concatenate(idx)


def combine_line(members: list[str], out_dir: str, eval_strips: str | None = None, log=print) -> dict:
    """Join trained line readers (``line.onnx`` files) into one ensemble file (``models.line.LineEnsemble``);
    with ``eval_strips`` (a strip cache) it is scored on that run's held-out strips, as each member is."""
    nets, sizes = [], []
    for path in members:
        for size in SIZES:
            net = LineNet(size=size)
            try:
                load_weights(net, path)
            except ValueError:
                continue
            nets.append(net)
            sizes.append(size)
            break
        else:
            raise ValueError(f"{path} is not a single line reader of any size ({', '.join(SIZES)})")
    model = line_net("+".join(sizes))
    for member, net in zip(model.members, nets, strict=True):
        member.load_state_dict(net.state_dict())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    export_line(model, out / "line.onnx")
    card = {
        "name": "line",
        "task": TASK,
        "command": "digitreader train-line"
        + "".join(f" --combine {m}" for m in members)
        + (f" --eval-strips {eval_strips}" if eval_strips else ""),
        "config": {"size": "+".join(sizes)},
        "params": sum(p.numel() for p in model.parameters()),
        "members": [{"file": m, "size": z, **started_from(Path(m))} for m, z in zip(members, sizes, strict=True)],
    }
    if eval_strips:
        z = np.load(eval_strips)
        strips, widths, texts = z["strips"], z["widths"], [str(t) for t in z["texts"]]
        held = held_out_of(len(texts))
        idx = np.arange(len(texts) - held, len(texts))
        card["held_out"] = f"the last {held} strips of {eval_strips} (exact string, best-path decoding)"
        card["held_out_accuracy"] = evaluate(model, strips, widths, texts, idx)
        for m, net in zip(card["members"], nets, strict=True):
            m["held_out_accuracy"] = evaluate(net, strips, widths, texts, idx)
        log(
            f"held-out exact: ensemble {card['held_out_accuracy']:.2%}; members "
            + ", ".join(f"{m['held_out_accuracy']:.2%}" for m in card["members"])
        )
    card["sha256"] = sha256(out / "line.onnx")
    card["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    (out / "line.json").write_text(json.dumps(card, indent=2))
    return card


def load_weights(model: nn.Module, path: str | Path) -> None:
    """Load a line reader's weights from a run's ``line.pt`` or from an exported ``.onnx``
    (its folded batch norms as in ``training.onnx_weights``)."""
    path = Path(path)
    if path.suffix == ".onnx":
        load_onnx_weights(model, path)
    else:
        model.load_state_dict(torch.load(path, map_location="cpu"))


def line_card(cfg: LineConfig, history: list[dict], params: int, onnx_path: Path) -> dict:
    """The model card of a line reader: how to make it again, what it scored, which file it is."""
    init = cfg.init_path()
    return {
        "name": "line",
        "task": TASK,
        "command": f"digitreader train-line --strips {cfg.strips} --epochs {cfg.epochs} --seed {cfg.seed}"
        + (f" --lr {cfg.lr:g}" if cfg.lr != LineConfig.lr or cfg.init else "")
        + (f" --init {cfg.init}" if cfg.init else "")
        + (f" --size {cfg.size}" if cfg.size else "")
        + "".join(f" --more-strips {f}" for f in cfg.more),
        "config": {**asdict(cfg), "size": cfg.model_size()},
        "params": params,
        **(started_from(init) if init is not None else {}),
        "held_out_accuracy": history[-1]["held_out_accuracy"] if history else None,
        "held_out": f"the last {cfg.held_out_count()} strips (exact string, best-path decoding)",
        "history": history,
        "sha256": sha256(Path(onnx_path)),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def export_line(model: nn.Module, path: Path) -> Path:
    """Write the line reader as ONNX with a dynamic batch and width."""
    return export_ctc(model, (1, 1, 28, 64), "strip", path)


def export_ctc(model: nn.Module, shape: tuple[int, int, int, int], name: str, path: Path) -> Path:
    """Write a CTC reader (input ``name`` of ``shape``, output ``log_probs`` [N, T, 11]) as ONNX with a
    dynamic batch and width, checked, replacing ``path`` only when whole."""
    model = model.eval().cpu()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.zeros(*shape),),
            buf,
            input_names=[name],
            output_names=["log_probs"],
            dynamic_axes={name: {0: "N", 3: "W"}, "log_probs": {0: "N", 1: "T"}},
            opset_version=17,
            dynamo=False,
        )
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto)
    tmp = path.with_suffix(".onnx.tmp")
    onnx.save(proto, tmp)
    tmp.replace(path)
    return path
