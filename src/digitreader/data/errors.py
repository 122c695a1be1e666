"""Errors raised while finding and reading data sets."""

from __future__ import annotations

from pathlib import Path


class DataError(Exception):
    """A data set could not be found or read; the message says how to fix it."""


class DataFormatError(DataError):
    """A data file exists but is not what it should be (wrong format, truncated, corrupt)."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
