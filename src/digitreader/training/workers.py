"""Run chunks of data generation in worker processes (or in-process for one job)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_chunks(fn: Callable[[T], R], tasks: Iterable[T], jobs: int) -> Iterator[R]:
    """``map(fn, tasks)`` in ``jobs`` spawned processes, results in order; ``jobs <= 1`` runs in-process.

    Processes are spawned, not forked: a forked child of a process that has run torch
    (OpenMP threads) can deadlock.
    """
    if jobs <= 1:
        yield from map(fn, tasks)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        yield from pool.map(fn, tasks)
