"""Atomic checkpoints: a run killed at any instant (Ctrl-C, kill -9) keeps its last finished epoch.

``save_atomic(..., keep_previous=True)`` keeps the checkpoint it replaces as ``<name>.prev.pt``,
so that a damaged ``last.pt`` still leaves one good epoch to resume from (``load_latest``).
Temporary files left by a run killed while saving are removed by ``clean_stale``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from digitreader.errors import DigitReaderError

RUN_KEYS = ("epoch", "config", "model", "optimizer", "scheduler", "history")  # what a run's last.pt holds


class CheckpointError(DigitReaderError):
    """A checkpoint that is missing, unreadable or not one this code wrote."""


def previous(path: Path) -> Path:
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def save_atomic(obj: Any, path: Path, keep_previous: bool = False) -> None:
    """torch.save to a temporary file in the same folder, fsync, then rename over path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        if keep_previous and path.exists():
            os.replace(path, previous(path))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def clean_stale(folder: Path) -> list[Path]:
    """Remove the temporary files of saves that never finished (a run killed while saving)."""
    stale = sorted(folder.glob(".*.pt.*.tmp")) if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def load(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """A checkpoint's contents; ``CheckpointError`` (one line) when it is missing or unreadable."""
    try:
        state = torch.load(path, map_location=device, weights_only=False)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except Exception as exc:  # truncated, empty, random bytes: RuntimeError, EOFError, UnpicklingError ...
        reason = (str(exc).strip().splitlines() or [""])[0][:120]
        raise CheckpointError(
            f"{path} is not a readable checkpoint (truncated, empty or not written by digitreader): "
            f"{type(exc).__name__}: {reason}"
        ) from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} is not a digitreader checkpoint (it holds a {type(state).__name__})")
    return state


def load_run(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """A run's ``last.pt`` (every key a resume needs present), or ``CheckpointError``."""
    state = load(path, device)
    missing = [k for k in RUN_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path} is not a training run's checkpoint (no {', '.join(missing)})")
    return state


def load_latest(path: Path, device: torch.device | str = "cpu") -> tuple[dict[str, Any], Path, list[str]] | None:
    """The newest good checkpoint of ``path`` (``last.pt``, else the ``last.prev.pt`` kept beside it).

    Returns (state, the file it came from, why newer files were passed over), or None when there
    is neither file; raises ``CheckpointError`` when every one there is damaged.
    """
    problems: list[str] = []
    for candidate in (path, previous(path)):
        if not candidate.exists():
            continue
        try:
            return load_run(candidate, device), candidate, problems
        except CheckpointError as exc:
            problems.append(str(exc))
    if problems:
        raise CheckpointError("; ".join(problems) + ": nothing to resume from; train again without --resume")
    return None
