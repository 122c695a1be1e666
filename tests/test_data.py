"""MNIST readers: the genuine files, the other formats, and every kind of bad file."""

from __future__ import annotations

import gzip
import http.server
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from digitreader.data import DataError, DataFormatError, load_mnist
from digitreader.data.formats import read_csv, read_npz
from digitreader.data.idx import read_idx, read_idx_images, read_idx_labels
from digitreader.data.mnist import FILES, cache_dir, candidate_dirs, download_mnist, find

TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _idx_bytes(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def test_genuine_test_split(mnist_test: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = mnist_test
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == TEST_COUNTS
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]


def test_genuine_train_split(mnist_path: Path) -> None:
    images, labels = load_mnist("train", mnist_path, download=False)
    assert images.shape == (60_000, 28, 28)
    assert np.bincount(labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_raw_and_gz_idx_agree(tmp_path: Path) -> None:
    arr = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    (tmp_path / "a.idx").write_bytes(_idx_bytes(arr))
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(_idx_bytes(arr)))
    assert np.array_equal(read_idx(tmp_path / "a.idx"), read_idx(tmp_path / "a.idx.gz"))


def test_truncated_gzip_names_file_and_problem(mnist_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes((mnist_path / bad.name).read_bytes()[:50_000])
    with pytest.raises(DataFormatError, match=r"t10k-images-idx3-ubyte\.gz: .*truncated"):
        read_idx_images(bad)


def test_truncated_raw_idx_reports_sizes(tmp_path: Path) -> None:
    path = tmp_path / "images.idx"
    path.write_bytes(_idx_bytes(np.zeros((3, 28, 28)))[:-100])
    with pytest.raises(DataFormatError, match=r"images\.idx: is truncated: header says shape \(3, 28, 28\)"):
        read_idx(path)


def test_corrupted_gzip_stream(mnist_path: Path, tmp_path: Path) -> None:
    data = bytearray((mnist_path / "t10k-labels-idx1-ubyte.gz").read_bytes())
    data[40:60] = b"\xff" * 20
    bad = tmp_path / "labels.gz"
    bad.write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match=r"labels\.gz: is a damaged or truncated gzip file"):
        read_idx(bad)


def test_wrong_format_file(tmp_path: Path) -> None:
    png = tmp_path / "train-images-idx3-ubyte"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(DataFormatError, match=r"train-images-idx3-ubyte: is not an IDX file: magic number 0x89504e47"):
        read_idx(png)


def test_trailing_bytes_and_wrong_kind(tmp_path: Path) -> None:
    path = tmp_path / "x.idx"
    path.write_bytes(_idx_bytes(np.zeros(5)) + b"junk")
    with pytest.raises(DataFormatError, match="4 unexpected trailing bytes"):
        read_idx(path)
    path.write_bytes(_idx_bytes(np.zeros(5)))
    with pytest.raises(DataFormatError, match=r"expected uint8 images \[N, rows, cols\]"):
        read_idx_images(path)
    path.write_bytes(_idx_bytes(np.full(5, 12)))
    with pytest.raises(DataFormatError, match="label 12"):
        read_idx_labels(path)


def test_label_count_mismatch_is_reported(tmp_path: Path) -> None:
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx_bytes(np.zeros((3, 28, 28))))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(2)))
    with pytest.raises(DataFormatError, match="has 2 labels for 3 images"):
        load_mnist("test", tmp_path, download=False)


def test_csv_with_and_without_header(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (4, 784))
    labels = np.array([3, 1, 4, 1])
    rows = [",".join(map(str, [lab, *px])) for lab, px in zip(labels, pixels, strict=True)]
    (tmp_path / "plain.csv").write_text("\n".join(rows) + "\n")
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    (tmp_path / "header.csv").write_text(header + "\n" + "\n".join(rows))
    for name in ("plain.csv", "header.csv"):
        images, got = read_csv(tmp_path / name)
        assert images.shape == (4, 28, 28) and got.tolist() == labels.tolist()
        assert np.array_equal(images.reshape(4, -1), pixels)


def test_bad_csv_files(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(DataFormatError, match=r"bad\.csv: has 3 columns per row, expected 785"):
        read_csv(path)
    path.write_text("7," + ",".join(["300"] * 784))
    with pytest.raises(DataFormatError, match=r"pixel value outside 0\.\.255"):
        read_csv(path)
    path.write_text("")
    with pytest.raises(DataFormatError, match="no data rows"):
        read_csv(path)


def test_keras_npz(tmp_path: Path) -> None:
    x = np.zeros((5, 28, 28), np.uint8)
    y = np.arange(5, dtype=np.uint8)
    np.savez(tmp_path / "mnist.npz", x_train=x, y_train=y, x_test=x[:2], y_test=y[:2])
    images, labels = load_mnist("test", tmp_path, download=False)
    assert images.shape == (2, 28, 28) and labels.tolist() == [0, 1]
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(DataFormatError, match=r"broken\.npz: is not a readable \.npz file"):
        read_npz(tmp_path / "broken.npz", "test")


def test_missing_data_says_how_to_provide_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIGITREADER_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert find("test", tmp_path) is None
    with pytest.raises(DataError, match="--data-dir FOLDER or set DIGITREADER_DATA"):
        load_mnist("test", tmp_path, download=False)


def test_env_var_is_searched(mnist_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DIGITREADER_DATA", str(mnist_path))
    source = find("test", tmp_path / "empty")
    assert source is not None and source.paths[0].parent == mnist_path


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def mirror(tmp_path: Path, mnist_path: Path):  # type: ignore[no-untyped-def]
    """A loopback HTTP mirror serving the genuine files (tests never touch the internet)."""
    root = tmp_path / "mirror"
    root.mkdir()
    for name in FILES:
        shutil.copy(mnist_path / name, root / name)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _Quiet(*a, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_download_falls_back_to_a_working_mirror(mirror, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, url = mirror
    dead = "http://127.0.0.1:9/"  # nothing listens on the discard port
    target = download_mnist(tmp_path / "dl", mirrors=(dead, url), timeout=5)
    images, labels = load_mnist("test", target, download=False)
    assert len(images) == 10_000 and len(labels) == 10_000
    assert not list(target.glob(".*part"))


def test_download_rejects_a_bad_checksum_and_leaves_no_file(mirror, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, url = mirror
    (root / "train-labels-idx1-ubyte.gz").write_bytes(b"tampered")
    target = tmp_path / "dl"
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz.*checksum mismatch"):
        download_mnist(target, mirrors=(url,), timeout=5)
    assert not (target / "train-labels-idx1-ubyte.gz").exists()
    assert not [p for p in target.iterdir() if p.name.startswith(".")]


def test_download_of_the_test_split_fetches_only_its_two_files(mirror, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, url = mirror
    target = download_mnist(tmp_path / "dl", mirrors=(url,), timeout=5, splits=("test",))
    assert sorted(p.name for p in target.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def test_the_searched_folders_are_listed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("DIGITREADER_DATA", str(cache_dir()))
    assert candidate_dirs(cache_dir()) == [cache_dir()]
