"""Helpers shared by the subcommands: consoles, errors, data-dir option."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 2) -> int:
    err.print(f"[bold red]error:[/] {message}")
    return code


def add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        default=None,
        help="folder holding MNIST (IDX .gz/raw, CSV or mnist.npz); else $DIGITREADER_DATA, else the cache",
    )


def require_torch() -> None:
    """Exit with a clear message when the [train] extra is missing."""
    try:
        import torch  # noqa: F401
    except ImportError:
        err.print("[bold red]error:[/] this command needs PyTorch: pip install 'digitreader[train]'")
        sys.exit(2)
