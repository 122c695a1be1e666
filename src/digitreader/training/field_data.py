"""Build (and cache) the field reader's training fields in parallel processes.

Each field (``data.fields``) is stored as the reader sees it (``vision.field_reader.field_input``),
uint8 [64, W]; all fields side by side in one [64, total width] array with their offsets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from digitreader.training.workers import map_chunks
from digitreader.vision.field_reader import HEIGHT, field_input

CHUNK = 500


def _chunk(args: tuple[str | None, str, int, int, int, str | None]) -> list[tuple[np.ndarray, str]]:
    import cv2

    from digitreader.data import load_mnist
    from digitreader.data.fields import field_batch

    cv2.setNumThreads(1)
    data_dir, split, seed, start, count, kind = args
    images, labels = load_mnist(split, data_dir, download=False)
    batch = field_batch(images, labels, count, seed, start, kind)
    return [(np.round(field_input(a) * 255).astype(np.uint8), t) for a, t in batch]


def make_fields(
    count: int, seed: int, data_dir: str | None, jobs: int = 2, split: str = "train", kind: str | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``count`` fields of ``seed`` (of one ``kind``, or the mix): (columns uint8 [HEIGHT, total],
    offsets [count + 1], texts)."""
    tasks = [(data_dir, split, seed, s, min(CHUNK, count - s), kind) for s in range(0, count, CHUNK)]
    parts: list[np.ndarray] = []
    texts: list[str] = []
    for chunk in map_chunks(_chunk, tasks, jobs):
        for a, t in chunk:
            parts.append(a)
            texts.append(t)
    offsets = np.zeros(len(parts) + 1, np.int64)
    offsets[1:] = np.cumsum([a.shape[1] for a in parts])
    columns = np.concatenate(parts, axis=1) if parts else np.zeros((HEIGHT, 0), np.uint8)
    return columns, offsets, texts


def cached_fields(path: Path, count: int, seed: int, data_dir: str | None, jobs: int = 2, kind: str | None = None):
    """``make_fields``, saved to (and loaded again from) ``path`` (.npz)."""
    path = Path(path)
    if path.is_file():
        z = np.load(path)
        if len(z["offsets"]) == count + 1 and int(z["seed"]) == seed:
            return z["columns"], z["offsets"], [str(t) for t in z["texts"]]
    columns, offsets, texts = make_fields(count, seed, data_dir, jobs, kind=kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, columns=columns, offsets=offsets, texts=np.array(texts), seed=seed)
    tmp.replace(path)
    return columns, offsets, texts
