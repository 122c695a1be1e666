"""ONNX Runtime sessions, opened the same way for every network the project runs. No torch."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from digitreader.errors import ModelError


def open_session(path: Path, threads: int | None = None) -> ort.InferenceSession:
    """An ONNX Runtime CPU session for ``path`` (``threads`` intra-op threads; None: ORT's default)."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(f"{path} is not a loadable ONNX model: {exc}") from exc


def named_beside(path: Path, entry: object) -> Path | None:
    """The file a model card's entry names (``{"model": NAME, ...}``) beside ``path``, or None when the entry
    names none or the file is missing: a model of tiny images, a digit network cut out alone, an int8 copy."""
    name = entry.get("model") if isinstance(entry, dict) else None
    found = path.parent / str(name) if name else None
    return found if found is not None and found.is_file() else None
