"""CPU inference latency through ONNX Runtime (no torch)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def onnx_latency_ms(
    path: Path | str, batch: int = 1, runs: int = 300, threads: int | None = None, whole: bool = False
) -> float:
    """Median milliseconds per image of one ``batch``-sized call, after warm-up: of the digit network's logits
    (``Recognizer.logits``: what ``read`` runs on its pieces), or with ``whole`` of every output of the model's
    graph (what ``predict`` runs: the digit model and the "not a digit" networks packed beside it)."""
    from digitreader.engine import Recognizer

    rec = Recognizer(path, threads=threads)
    x = np.random.default_rng(0).random((batch, 28, 28), dtype=np.float32)
    feed = {rec.session.get_inputs()[0].name: x[:, None]}
    call = (lambda: rec.session.run(None, feed)) if whole else (lambda: rec.logits(x))
    for _ in range(20):
        call()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3 / batch
