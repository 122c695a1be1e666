"""Is a TCP port free to listen on, and if not, which process holds it (Linux: from /proc)."""

from __future__ import annotations

import errno
import socket
from pathlib import Path


def port_problem(host: str, port: int) -> str | None:
    """Why ``serve`` could not listen on host:port, or None when it can."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        return f"cannot listen on {host}: {exc.strerror}"
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no conflict
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                holder = listener(port)
                by = f"by {holder}" if holder else "by another process"
                return f"port {port} is already in use {by}; stop it or choose another with --port"
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def listener(port: int) -> str | None:
    """'process PID (COMMAND)' listening on TCP ``port``, or None when it cannot be seen."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(fd.readlink().as_posix() in inodes for fd in (proc / "fd").iterdir()):
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                return f"process {proc.name} ({command or (proc / 'comm').read_text().strip()})"
        except OSError:  # another user's process, or gone
            continue
    return None
