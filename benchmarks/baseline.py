"""Run this benchmark's own measurement again with another checkout's code, for a before -> after table.

The scene-making code stays this file's; only the ``digitreader`` package comes from
``src`` (through ``PYTHONPATH``), so the two columns see the same images.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def measure_with(script: str, src: str, args: list[str]) -> dict:
    """``python script --json ARGS`` with ``src`` first on the path; its one JSON line."""
    env = {**os.environ, "PYTHONPATH": src}
    cmd = [sys.executable, script, "--json", *args]
    return json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)
