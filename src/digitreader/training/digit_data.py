"""Build (and cache) MNIST training digits photographed and prepared by the pipeline (``data.groups``).

Fine-tuning the digit model on them teaches it what ``predict`` and ``read`` really hand it
from a photo or a scan (pen widths, blur, JPEG, the ink finder's cut) rather than only the
clean MNIST scans; the pieces of touching pairs cut apart as ``read`` cuts them show it a
neighbour's stray strokes and a cut-off stroke, and the wrong cuts (labelled
``data.groups.NOT_A_DIGIT``) teach it to be unsure of what is no digit, so that it judges
the cuts better. Only training digits are used, never an evaluation-set digit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from digitreader.training.workers import map_chunks

CHUNK = 500
# Of what the samples hold (2: pieces with what is no digit; 3: styles, non-digits and a held-out limit;
# 4: styles and non-digits written on paper and prepared by vision.preprocess); another version is remade.
VERSION = 4


def _chunk(args: tuple[str, str | None, int, int, int, int | None]) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    from digitreader.data import load_mnist
    from digitreader.data.groups import digit_sample, overcut_sample, piece_sample
    from digitreader.data.styles import nondigit_sample, style_sample, thumbnail_sample

    cv2.setNumThreads(1)  # one process per core: OpenCV's own threads would only contend
    kind, data_dir, seed, start, count, limit = args
    images, labels = load_mnist("train", data_dir, download=False)
    images, labels = images[:limit], labels[:limit]  # the rest is held out
    made: list[tuple[np.ndarray, int]] = []
    for i in range(start, start + count):
        rng = np.random.default_rng([seed, i])
        if kind == "digits":
            made.append(digit_sample(images, labels, rng))
        elif kind == "styles":
            made.append(style_sample(images, labels, rng))
        elif kind == "tiny":
            made.append(style_sample(images, labels, rng, tiny=1.0))
        elif kind == "thumbnails":
            made.append(thumbnail_sample(images, labels, rng))
        elif kind == "nondigits":
            made.append(nondigit_sample(images, labels, rng))
        else:
            made += piece_sample(images, labels, rng) + overcut_sample(images, labels, rng)
    if not made:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    x = np.stack([np.round(d * 255) for d, _ in made]).astype(np.uint8)
    return x, np.array([k for _, k in made], np.int64)


def make_digits(
    count: int, seed: int, data_dir: str | None, jobs: int = 2, kind: str = "digits", limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Digits ``0 .. count - 1`` as uint8 [n, 28, 28] (MNIST-style) and their labels; digit i depends on (seed, i).

    ``kind="pieces"``: for each i, a touching pair cut apart (``data.groups.piece_sample``) and a
    lone digit cut in two (``overcut_sample``): their digits and what is no digit (label -1).
    ``kind="styles"``: other writers' and scanners' versions of training digits (``data.styles.style_sample``),
    ``kind="tiny"`` the same, each shrunk to a tiny (7-20 px) scan; ``kind="thumbnails"``: training digits as
    written, shrunk whole to 7-12 px (``data.styles.thumbnail_sample``);
    ``kind="nondigits"``: what is no digit (``data.styles.nondigit_sample``). Only the first ``limit``
    training digits are drawn on (all when None), so that the rest can be held out.
    """
    tasks = [(kind, data_dir, seed, s, min(CHUNK, count - s), limit) for s in range(0, count, CHUNK)]
    parts = list(map_chunks(_chunk, tasks, jobs))
    if not parts:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def cached_digits(
    path: Path,
    count: int,
    seed: int,
    data_dir: str | None,
    jobs: int = 2,
    kind: str = "digits",
    limit: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``make_digits``, saved to (and loaded again from) ``path`` (.npz)."""
    path = Path(path)
    if path.is_file():
        z = np.load(path)
        made = {k: str(z[k]) for k in ("count", "seed", "kind", "version", "limit") if k in z.files}
        wanted = {"count": str(count), "seed": str(seed), "kind": kind, "version": str(VERSION), "limit": str(limit)}
        if made == wanted:
            return z["x"], z["y"]
    x, y = make_digits(count, seed, data_dir, jobs, kind, limit)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, x=x, y=y, seed=seed, count=count, kind=kind, version=VERSION, limit=str(limit))
    tmp.replace(path)
    return x, y
