"""Helpers shared by the subcommands: consoles, errors, data-dir option.

User text (paths, exception messages) is never read as Rich markup: ``fail`` and ``say`` print
it literally, and table cells holding it are ``rich.text.Text``. Rich itself is imported on
first use, so a piped ``predict`` (plain lines) never loads it.
"""

from __future__ import annotations

import argparse
import re
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


def write_line(fields: list[str], stream: Any = None) -> None:
    """One tab-separated line (tabs and newlines inside a field become spaces: one record, one line)."""
    stream = stream or sys.stdout
    stream.write("\t".join(re.sub(r"[\t\r\n]+", " ", f) for f in fields) + "\n")
    stream.flush()


def print_table(columns: list[str], rows: list[list[str]], title: str = "", emphasis: int | None = None) -> None:
    """A table when stdout is a terminal wide enough for every cell unfolded; else tab-separated lines,
    a header line first (pipes, files, narrow terminals): a path is never folded. Cells are literal text;
    column ``emphasis`` is bold."""
    if stdout_is_terminal():
        widths = [
            max(len(line) for cell in [c, *(r[i] for r in rows)] for line in cell.split("\n"))
            for i, c in enumerate(columns)
        ]
        if sum(widths) + 3 * len(columns) + 1 <= out.width:
            from rich.table import Table
            from rich.text import Text

            table = Table(title=Text(title) if title else None)
            for i, c in enumerate(columns):
                table.add_column(c, no_wrap=True, style="bold" if i == emphasis else None)
            for r in rows:
                table.add_row(*(Text(cell) for cell in r))
            out.print(table)
            return
    for r in [columns, *rows]:
        write_line(r)


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
