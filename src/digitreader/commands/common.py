"""Helpers shared by the subcommands: consoles, errors, data-dir option.

User text (paths, exception messages) is never read as Rich markup: ``fail`` and ``say`` print
it literally, and table cells holding it are ``rich.text.Text``. Rich itself is imported on
first use, so a piped ``predict`` (plain lines) never loads it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


class _LazyConsole:
    """A ``rich.console.Console`` built on first use (importing Rich costs ~20 ms of start-up)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Any = None

    def get(self) -> Any:
        """The console itself (for Rich objects that need a real ``Console``, e.g. ``Progress``)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


out: Any = _LazyConsole(highlight=False, soft_wrap=True)
err: Any = _LazyConsole(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> int:
    """Print ``error: MESSAGE`` on stderr (the message taken literally) and return ``code``."""
    from rich.text import Text

    err.print(Text.assemble(("error:", "bold red"), " ", str(message)))
    return code


def say(message: str, stderr: bool = False) -> None:
    """Print a line of plain text (paths and messages taken literally, never as markup)."""
    (err if stderr else out).print(str(message), markup=False)


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal (tables) rather than a pipe or a file (plain lines)."""
    return sys.stdout.isatty() if hasattr(sys.stdout, "isatty") else False


def add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        default=None,
        help="folder holding MNIST (IDX .gz/raw, CSV or mnist.npz); else $DIGITREADER_DATA, else the cache",
    )


def require_torch() -> None:
    """Exit with a clear, copy-pasteable message when the [train] extra is missing."""
    try:
        import torch  # noqa: F401
    except ImportError:
        sys.exit(fail("this command needs PyTorch: pip install 'digitreader[train]'"))
