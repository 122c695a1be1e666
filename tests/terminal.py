"""Run the ``digitreader`` command as a user does: in a fresh process, its stdout a pipe or a terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from dataclasses import dataclass

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class Run:
    code: int
    out: str
    err: str


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
    """``python -m digitreader ARGS`` with stdout and stderr piped."""
    proc = subprocess.run(
        [sys.executable, "-m", "digitreader", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def cli_in_terminal(*args: str, columns: int = 200, timeout: float = 120) -> Run:
    """``python -m digitreader ARGS`` with stdout a terminal ``columns`` wide (ANSI codes removed) and
    stderr a pipe."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen([sys.executable, "-m", "digitreader", *args], stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    err = proc.stderr.read().decode() if proc.stderr else ""
    code = proc.wait(timeout=timeout)
    out = ANSI.sub("", b"".join(chunks).decode()).replace("\r\n", "\n")
    return Run(code, out, err)
