"""Shared fixtures: the genuine MNIST files (skip with a clear message when absent), output folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"
OUTPUT = ROOT / "test-output"


def mnist_dir() -> Path | None:
    for candidate in (os.environ.get("DIGITREADER_DATA"), SHARED_MNIST):
        if candidate and (Path(candidate) / "t10k-images-idx3-ubyte.gz").is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session", autouse=True)
def user_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The user data dir, for the whole run: a temporary one (``serve`` makes its corrections database there)."""
    before = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))
    yield Path(os.environ["XDG_DATA_HOME"])
    if before is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = before


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    path = mnist_dir()
    if path is None:
        pytest.skip("MNIST files not found: set DIGITREADER_DATA to a folder holding the four IDX .gz files")
    return path


@pytest.fixture(scope="session")
def mnist_test(mnist_path: Path) -> tuple[np.ndarray, np.ndarray]:
    from digitreader.data import load_mnist

    return load_mnist("test", mnist_path, download=False)


@pytest.fixture(scope="session")
def recognizer():  # type: ignore[no-untyped-def]
    from digitreader import Recognizer

    return Recognizer()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Artefacts a person may want to look at after a run (screenshots, reports)."""
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


@pytest.fixture(scope="session")
def ray_cluster():  # type: ignore[no-untyped-def]
    """One real local Ray cluster of 2 CPUs, started by this process, for the tests that pass ``--address``
    (its GCS address); its processes are this process's descendants. Shut down in the finaliser."""
    ray = pytest.importorskip("ray", reason="the Ray tests need the [scale] extra: pip install 'digitreader[scale]'")
    context = ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
    try:
        yield context.address_info["gcs_address"]
    finally:
        ray.shutdown()
