"""Build (and cache) the line reader's training strips in parallel processes."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from digitreader.data.groups import group_batch
from digitreader.training.workers import map_chunks
from digitreader.vision.strip import HEIGHT, MAX_WIDTH

CHUNK = 500


def _chunk(args: tuple[str | None, int, int, int]) -> list[tuple[np.ndarray, str]]:
    import cv2

    from digitreader.data import load_mnist

    cv2.setNumThreads(1)  # one process per core: OpenCV's own threads would only contend
    data_dir, seed, start, count = args
    images, labels = load_mnist("train", data_dir, download=False)
    return group_batch(images, labels, count, seed, start)


def make_strips(
    count: int, seed: int, data_dir: str | None, jobs: int = 2, start: int = 0
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Strips ``start .. count - 1`` padded to [n, 28, MAX_WIDTH] (uint8), their widths and their texts."""
    tasks = [(data_dir, seed, s, min(CHUNK, count - s)) for s in range(start, count, CHUNK)]
    count -= start
    strips = np.zeros((count, HEIGHT, MAX_WIDTH), np.uint8)
    widths = np.zeros(count, np.int32)
    texts: list[str] = []
    _fill(map_chunks(_chunk, tasks, jobs), strips, widths, texts)
    return strips, widths, texts


def _fill(
    parts: Iterable[list[tuple[np.ndarray, str]]], strips: np.ndarray, widths: np.ndarray, texts: list[str]
) -> None:
    """Copy generated strips into the padded uint8 array, in order."""
    i = 0
    for part in parts:
        for strip, text in part:
            w = min(strip.shape[1], MAX_WIDTH)
            strips[i, :, :w] = np.round(strip[:, :w] * 255)
            widths[i] = w
            texts.append(text)
            i += 1


def cached_strips(path: Path, count: int, seed: int, data_dir: str | None, jobs: int = 2):
    """``make_strips``, saved to (and loaded again from) ``path`` (.npz).

    Sample i depends only on (seed, i), so a smaller cache of the same seed in the same
    folder (strips-N-SEED.npz) is the beginning of a larger one: only the rest is made.
    """
    path = Path(path)
    if path.is_file():
        z = np.load(path)
        if len(z["widths"]) == count and int(z["seed"]) == seed:
            return z["strips"], z["widths"], [str(t) for t in z["texts"]]
    strips, widths, texts = _prefix(path.parent, count, seed)
    if len(texts) < count:
        more = make_strips(count, seed, data_dir, jobs, start=len(texts))
        strips, widths = np.concatenate([strips, more[0]]), np.concatenate([widths, more[1]])
        texts = texts + more[2]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, strips=strips, widths=widths, texts=np.array(texts), seed=seed)
    tmp.replace(path)
    return strips, widths, texts


def _prefix(folder: Path, count: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The largest cached run of the same seed with at most ``count`` strips (empty if none)."""
    best: tuple[int, Path] | None = None
    for f in folder.glob(f"strips-*-{seed}.npz"):
        try:
            n = int(f.stem.split("-")[1])
        except ValueError:
            continue
        if n <= count and (best is None or n > best[0]):
            best = (n, f)
    if best is None:
        return np.zeros((0, HEIGHT, MAX_WIDTH), np.uint8), np.zeros(0, np.int32), []
    z = np.load(best[1])
    return z["strips"], z["widths"], [str(t) for t in z["texts"]]
