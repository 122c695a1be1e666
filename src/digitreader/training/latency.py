"""CPU inference latency through ONNX Runtime (no torch)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def onnx_latency_ms(path: Path | str, batch: int = 1, runs: int = 300, threads: int | None = None) -> float:
    """Median milliseconds per image of one ``batch``-sized call, after warm-up."""
    from digitreader.engine import Recognizer

    rec = Recognizer(path, threads=threads)
    x = np.random.default_rng(0).random((batch, 28, 28), dtype=np.float32)
    for _ in range(20):
        rec.logits(x)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        rec.logits(x)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3 / batch
