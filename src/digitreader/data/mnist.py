"""Find, download and load MNIST.

Search order: ``--data-dir``, then ``$DIGITREADER_DATA``, then the user cache
(``$XDG_CACHE_HOME/digitreader/mnist``). A directory may hold the four IDX files
(``.gz`` or raw), ``mnist_train.csv``/``mnist_test.csv``, or Keras' ``mnist.npz``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitreader.data.errors import DataError, DataFormatError
from digitreader.data.formats import read_csv, read_npz
from digitreader.data.idx import read_idx_images, read_idx_labels

ENV_VAR = "DIGITREADER_DATA"
SPLITS = ("train", "test")

# md5 of the published gzip files (the same on every mirror).
FILES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)
_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
EXPECTED_SIZE = {"train": 60_000, "test": 10_000}


@dataclass(frozen=True)
class Source:
    """Where one split was found and in which form."""

    split: str
    form: str  # "idx", "csv" or "npz"
    paths: tuple[Path, ...]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "digitreader" / "mnist"


def candidate_dirs(data_dir: Path | str | None = None) -> list[Path]:
    """Directories searched for MNIST, in order."""
    dirs = [Path(data_dir)] if data_dir else []
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]))
    dirs.append(cache_dir())
    return list(dict.fromkeys(dirs))  # each folder once (--data-dir may be the cache)


def _find_in(directory: Path, split: str) -> Source | None:
    for suffix in (".gz", ""):
        paths = tuple(directory / (stem + suffix) for stem in _STEMS[split])
        if all(p.is_file() for p in paths):
            return Source(split, "idx", paths)
    for name in (f"mnist_{split}.csv", f"{split}.csv"):
        if (directory / name).is_file():
            return Source(split, "csv", (directory / name,))
    if (directory / "mnist.npz").is_file():
        return Source(split, "npz", (directory / "mnist.npz",))
    return None


def find(split: str, data_dir: Path | str | None = None) -> Source | None:
    """Locate a split without reading it, or None."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    for directory in candidate_dirs(data_dir):
        if directory.is_dir() and (source := _find_in(directory, split)):
            return source
    return None


def read_source(source: Source) -> tuple[np.ndarray, np.ndarray]:
    if source.form == "idx":
        images, labels = read_idx_images(source.paths[0]), read_idx_labels(source.paths[1])
    elif source.form == "csv":
        images, labels = read_csv(source.paths[0])
    else:
        images, labels = read_npz(source.paths[0], source.split)
    if images.shape[1:] != (28, 28):
        raise DataFormatError(source.paths[0], f"holds images of {images.shape[1:]}, expected 28x28")
    if len(images) != len(labels):
        raise DataFormatError(
            source.paths[-1], f"has {len(labels)} labels for {len(images)} images in {source.paths[0].name}"
        )
    return images, labels


def load_mnist(split: str, data_dir: Path | str | None = None, download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Return (images uint8 [N,28,28], labels uint8 [N]) for "train" or "test"."""
    source = find(split, data_dir)
    if source is None:
        if not download:
            raise DataError(_missing_message(data_dir))
        download_mnist(cache_dir(), splits=(split,))  # only the files this split needs
        source = find(split, cache_dir())
        assert source is not None
    return read_source(source)


def _missing_message(data_dir: Path | str | None) -> str:
    where = ", ".join(str(d) for d in candidate_dirs(data_dir))
    return (
        f"MNIST not found (looked in: {where}). Put the four files "
        f"({', '.join(FILES)}) or mnist.npz or mnist_train.csv/mnist_test.csv in a folder and pass "
        f"--data-dir FOLDER or set {ENV_VAR}=FOLDER; with internet access, "
        "`digitreader data download` fetches them."
    )


def md5sum(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url: str, target: Path, md5: str, timeout: float) -> None:
    """Download url to target atomically (temp file + rename) and verify its md5."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            for block in iter(lambda: resp.read(1 << 20), b""):
                out.write(block)
        got = md5sum(Path(tmp))
        if got != md5:
            raise DataError(f"{url}: checksum mismatch (md5 {got}, expected {md5})")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def download_mnist(
    directory: Path | str | None = None,
    mirrors: tuple[str, ...] = MIRRORS,
    timeout: float = 30.0,
    splits: tuple[str, ...] = SPLITS,
) -> Path:
    """Download the MNIST files of ``splits`` (default: all four) into directory (default: the cache),
    trying each mirror."""
    directory = Path(directory or cache_dir())
    directory.mkdir(parents=True, exist_ok=True)
    wanted = {f"{stem}.gz" for split in splits for stem in _STEMS[split]}
    for name, md5 in FILES.items():
        if name not in wanted:
            continue
        target = directory / name
        if target.is_file() and md5sum(target) == md5:
            continue
        errors = []
        for mirror in mirrors:
            try:
                _fetch(mirror + name, target, md5, timeout)
                break
            except (OSError, urllib.error.URLError, DataError) as exc:
                errors.append(f"{mirror}: {exc}")
        else:
            raise DataError(
                f"could not download {name} from any mirror ({'; '.join(errors)}). " + _missing_message(directory)
            )
    return directory
