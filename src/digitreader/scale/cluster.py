"""Joining a Ray cluster, or starting one on this machine for one command."""

from __future__ import annotations

import os

# Single-threaded native libraries in every worker: one actor (or one thread of a trainer) per core.
THREAD_VARS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def connect(address: str | None) -> None:
    """Join the cluster at ``address`` ('auto', 'ray://host:10001', 'host:6379'; else ``$RAY_ADDRESS``),
    or start a Ray of this machine's CPUs for this run only (never someone else's 'ray start' here)."""
    import logging

    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS") or "local"
    ray.init(
        address=address,
        runtime_env={"env_vars": THREAD_VARS},
        logging_level=logging.WARNING,
        **({"include_dashboard": False} if address == "local" else {}),
    )


def cluster_cpus() -> int:
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", 1)))
