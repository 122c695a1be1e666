"""The field reader at inference: a whole field (a number with whatever is around it) -> its digits.

``field_input`` normalises any crop the same way for training and reading: grey, light paper
(inverted when the ground is dark), the paper's own shading divided out, contrast stretched,
``HEIGHT`` px high. ``FieldReader`` runs the network (ONNX Runtime, no torch) and decodes its
CTC output best-path, with each digit's place in the crop from the frame where it fires.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from digitreader.errors import ModelError
from digitreader.runtime import named_beside, open_session
from digitreader.vision.line_reader import greedy

HEIGHT = 64
MIN_WIDTH = 16
MAX_WIDTH = 1024
STRIDE = 2  # input columns per output frame
INPUT = "field"  # the network's input


def bundled_field_model() -> Path:
    return Path(str(resources.files("digitreader") / "assets" / "field" / "default.onnx"))


def field_input(grey: np.ndarray) -> np.ndarray:
    """A crop (uint8 grey, any size) as the field reader sees it: float32 [HEIGHT, W], ink 1, paper 0."""
    h, w = grey.shape[:2]
    width = int(np.clip(round(w * HEIGHT / max(h, 1)), MIN_WIDTH, MAX_WIDTH))
    width += width % STRIDE
    g = grey.astype(np.float32) / 255.0
    g = cv2.resize(g, (width, HEIGHT), interpolation=cv2.INTER_AREA if h > HEIGHT else cv2.INTER_LINEAR)
    if float(np.median(g)) < 0.4:  # light writing on a dark ground
        g = 1.0 - g
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (HEIGHT // 6 + 1,) * 2)
    paper = cv2.GaussianBlur(cv2.dilate(g, k), (0, 0), HEIGHT / 16)
    ink = np.clip(paper - g, 0.0, None) / np.maximum(paper, 0.1)
    top = max(float(np.percentile(ink, 99.5)), 0.15)
    return np.clip(ink / top, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class FieldDigit:
    digit: int
    confidence: float
    frame: int  # the output frame where it fires; x = (frame + 0.5) * STRIDE in field_input's columns


class FieldReader:
    """The field reader network: inputs [N, 1, HEIGHT, W] -> log-probabilities [N, W / STRIDE, 11]; read in int8
    where its card names a quantized copy (``training.quantize``)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, threads: int | None = None) -> None:
        self.path = Path(path) if path is not None else bundled_field_model()
        if not self.path.is_file():
            raise ModelError(f"field reader {self.path} does not exist")
        self.session = open_session(self.reading_model(self.path), threads)

    @staticmethod
    def reading_model(path: Path) -> Path:
        """The network read with: the int8 one that ``path``'s card names (``training.quantize``), else ``path``."""
        card = path.with_suffix(".json")
        return named_beside(path, json.loads(card.read_text()).get("int8") if card.is_file() else None) or path

    def log_probs(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """One [T, 11] array per ``field_input`` (T = W / STRIDE); inputs of like widths run as one
        padded batch, so a narrow field is not padded to a wide one's width."""
        out: list[np.ndarray] = [np.zeros((0, 11))] * len(inputs)
        order = sorted(range(len(inputs)), key=lambda k: inputs[k].shape[1])
        while order:
            first = inputs[order[0]].shape[1]
            n = next((i for i, k in enumerate(order) if inputs[k].shape[1] > first * 1.25 + 8), len(order))
            group, order = order[:n], order[n:]
            x = np.zeros((len(group), 1, HEIGHT, inputs[group[-1]].shape[1]), np.float32)
            for i, k in enumerate(group):
                x[i, 0, :, : inputs[k].shape[1]] = inputs[k]
            logp = self.session.run(None, {INPUT: x})[0]
            for i, k in enumerate(group):
                out[k] = logp[i, : inputs[k].shape[1] // STRIDE].astype(np.float64)
        return out

    def read(self, grey: np.ndarray) -> list[FieldDigit]:
        """The digits of one crop (uint8 grey), left to right."""
        return decode(self.log_probs([field_input(grey)])[0])


def decode(logp: np.ndarray) -> list[FieldDigit]:
    """Best-path CTC decoding (``line_reader.greedy``): each digit with its probability where it peaks."""
    text, frames = greedy(logp)
    return [FieldDigit(int(c), float(np.exp(logp[t, int(c)])), t) for c, t in zip(text, frames, strict=True)]
