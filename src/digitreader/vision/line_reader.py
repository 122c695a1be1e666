"""The line reader at inference: ONNX Runtime, CTC decoding and scoring in numpy. No torch.

``LineReader.log_probs`` runs the network on strips (``vision.strip``); ``greedy`` reads
a strip without any cut; ``score`` gives the log-probability of a given text (the CTC
forward algorithm), with which ``vision.segment`` weighs the ways of cutting a group.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np

from digitreader.errors import ModelError
from digitreader.runtime import open_session

BLANK = 10
SECOND_OPINION = 0.25  # weight of the line reader's log-probability when it judges a single digit ...
DOUBT = 0.999  # ... which it does when the digit model is less sure than this (on MNIST, 3.5% of digits)
DIGITS = [str(d) for d in range(10)]


def bundled_line_model() -> Path:
    return Path(str(resources.files("digitreader") / "assets" / "line" / "default.onnx"))


class LineReader:
    """The CTC line reader: strips [28, W] in [0, 1] -> per-column log-probabilities [W/2, 11]."""

    def __init__(self, path: str | os.PathLike[str] | None = None, threads: int | None = None) -> None:
        self.path = Path(path) if path is not None else bundled_line_model()
        if not self.path.is_file():
            raise ModelError(f"line reader {self.path} does not exist")
        self.session = open_session(self.path, threads)

    def log_probs(self, strips: list[np.ndarray]) -> list[np.ndarray]:
        """One [T, 11] array per strip (T = ceil(W / 2)); all strips run as one padded batch."""
        if not strips:
            return []
        width = max(s.shape[1] for s in strips)
        width += width % 2
        x = np.zeros((len(strips), 1, strips[0].shape[0], width), np.float32)
        for k, s in enumerate(strips):
            x[k, 0, :, : s.shape[1]] = s
        out = self.session.run(None, {"strip": x})[0]
        return [out[k, : (s.shape[1] + 1) // 2].astype(np.float64) for k, s in enumerate(strips)]


def second_opinion(probs: np.ndarray, logp: np.ndarray, weight: float = SECOND_OPINION) -> np.ndarray:
    """The digit model's probabilities [10] of one digit, with the line reader's as a second opinion.

    A product of experts: ``p(d) ~ p_digit(d) * P_line("d")**weight``, renormalised. The two
    networks were trained differently (single digits; CTC strips) and err on different digits.
    When the digit model is at least ``DOUBT`` sure, its answer stands (it is never overturned
    there on MNIST's test set or the development set, and the line reader's time is saved).
    """
    if float(np.max(probs)) >= DOUBT:
        return np.asarray(probs, np.float64)
    z = np.log(np.clip(np.asarray(probs, np.float64), 1e-12, 1.0)) + weight * scores(logp, DIGITS)
    z = np.where(np.isfinite(z), z, -1e9)
    e = np.exp(z - z.max())
    return e / e.sum()


def greedy(logp: np.ndarray) -> tuple[str, list[int]]:
    """Best-path decoding: the text, and for each character the column (frame) where it peaks."""
    best = logp.argmax(axis=1)
    text, frames = [], []
    prev = BLANK
    for t, k in enumerate(best):
        if k != BLANK and k != prev:
            text.append(str(int(k)))
            frames.append(t)
        elif k != BLANK and logp[t, k] > logp[frames[-1], k]:
            frames[-1] = t
        prev = k
    return "".join(text), frames


def score(logp: np.ndarray, text: str) -> float:
    """log P(text | strip) under CTC: the forward algorithm over the blank-extended label sequence."""
    return float(scores(logp, [text])[0])


def scores(logp: np.ndarray, texts: list[str]) -> np.ndarray:
    """``score`` for several texts at once: one forward pass over [texts, states]."""
    k = len(texts)
    if k == 0:
        return np.zeros(0)
    t_len = logp.shape[0]
    s_max = 2 * max(len(t) for t in texts) + 1
    ext = np.full((k, s_max), BLANK)
    ends = np.zeros(k, int)
    for i, text in enumerate(texts):
        ext[i, 1 : 2 * len(text) : 2] = [int(c) for c in text]
        ends[i] = 2 * len(text)  # index of the final blank
    # A state may skip the blank before it when it is a label different from the one two back.
    skip = np.zeros((k, s_max), bool)
    skip[:, 3::2] = ext[:, 3::2] != ext[:, 1:-2:2]
    states = np.arange(s_max)[None, :]
    valid = states <= ends[:, None]
    emit = logp[:, ext]  # [T, k, S]
    alpha = np.full((k, s_max), -np.inf)
    alpha[:, :2] = emit[0, :, :2]
    alpha[~valid] = -np.inf
    pad = np.full((k, 2), -np.inf)
    for t in range(1, t_len):
        shifted = np.concatenate((pad, alpha), axis=1)
        one, two = shifted[:, 1:-1], np.where(skip, shifted[:, :-2], -np.inf)
        alpha = np.logaddexp(np.logaddexp(alpha, one), two) + emit[t]
        alpha[~valid] = -np.inf
    rows = np.arange(k)
    last = alpha[rows, ends]
    before = np.where(ends > 0, alpha[rows, np.maximum(ends - 1, 0)], -np.inf)
    out = np.logaddexp(last, before)
    too_short = np.array([len(t) for t in texts]) > t_len
    out[too_short] = -np.inf
    return out
