"""The Ray Data pipeline: file names -> a pool of actors, each holding one ``Recognizer`` -> rows.

Each actor loads the model once, takes one CPU and runs ONNX Runtime (and OpenCV, OpenBLAS) on
one thread, so N actors keep N cores busy without oversubscribing them. An actor fetches each
file's bytes itself (local path or bucket object) and decodes them with the same bounded loader
as the local engine, so a file's bytes never pass through the object store and one bad file is
one error row. Ray restarts an actor that dies and retries its batch: no row is lost.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from digitreader.scale import output
from digitreader.scale.cluster import cluster_cpus


class ReadBatch:
    """A Ray Data actor: a batch of file names (an Arrow table with a ``file`` column) -> its rows."""

    def __init__(
        self, mode: str, model: str, line_model: str | None, field_model: str | None, threads: int, cwd: str
    ) -> None:
        import cv2

        from digitreader.engine import Recognizer

        cv2.setNumThreads(threads)
        if os.path.isdir(cwd):
            os.chdir(cwd)  # relative names mean what they meant to the driver (on a shared file system)
        self.mode = mode
        self.recognizer = Recognizer(model, threads=threads, line_model=line_model, field_model=field_model)
        if mode == "read":
            from digitreader.commands.read import fields
        else:
            from digitreader.commands.predict import fields
        self.fields = fields

    def one(self, name: str) -> dict[str, Any]:
        """The row of one file: the local engine's fields, or ``{"error": ...}``."""
        from digitreader.commands.batch import failure
        from digitreader.scale.sources import fetch
        from digitreader.vision.io import load_named

        try:
            return {"file": name, **self.fields(self.recognizer, load_named(fetch(name), name))}
        except Exception as exc:  # every failure becomes an error row, never a failed job
            return {"file": name, **failure(exc)}

    def __call__(self, batch: pa.Table) -> pa.Table:
        return output.table([self.one(name) for name in batch.column("file").to_pylist()], self.mode)


def rows(
    files: list[str],
    *,
    mode: str = "read",
    model: str = "default",
    line_model: str | None = "default",
    field_model: str | None = "default",
    actors: int | None = None,
    threads: int = 1,
    batch_size: int = 32,
) -> Iterator[pa.Table]:
    """Run ``files`` on the cluster (``connect`` first); yield their rows a batch at a time, in no set order."""
    import ray

    if not files:
        return
    actors = actors or max(1, cluster_cpus() // threads)
    # One block per batch: blocks are what Ray hands to actors (and retries), so this spreads the work.
    blocks = min(math.ceil(len(files) / batch_size), 100_000)
    ds = ray.data.from_items([{"file": f} for f in files], override_num_blocks=blocks)
    ds = ds.map_batches(
        ReadBatch,
        fn_constructor_kwargs={
            "mode": mode,
            "model": model,
            "line_model": line_model,
            "field_model": field_model,
            "threads": threads,
            "cwd": os.getcwd(),
        },
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=threads,
    )
    yield from ds.iter_batches(batch_size=None, batch_format="pyarrow")
