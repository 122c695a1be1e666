"""The options and the before -> after run shared by benchmarks that compare two checkouts' code.

``--baseline-src DIR`` runs this benchmark's own measurement again with another checkout's
``src`` (through ``PYTHONPATH``, in a subprocess): the scene-making code stays this file's, so
the two columns see the same images.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable

Measure = Callable[[str | None, int], dict]


def measure_with(script: str, src: str, args: list[str]) -> dict:
    """``python script --json ARGS`` with ``src`` first on the path; its one JSON line."""
    env = {**os.environ, "PYTHONPATH": src}
    cmd = [sys.executable, script, "--json", *args]
    return json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)


def compare(doc: str, script: str, measure: Measure, count: int) -> tuple[dict, dict | None, int] | None:
    """Parse the shared options and measure: (now, before or None, count); None when ``--json`` printed it."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("DIGITREADER_DATA"))
    p.add_argument("--count", type=int, default=count)
    p.add_argument("--baseline-src", help="another checkout's src folder, measured the same way")
    p.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one JSON line (the baseline's subprocess)
    args = p.parse_args()
    now = measure(args.data_dir, args.count)
    if args.json:
        print(json.dumps(now))
        return None
    before = None
    if args.baseline_src:
        extra = ["--data-dir", args.data_dir] if args.data_dir else []
        before = measure_with(script, args.baseline_src, ["--count", str(args.count), *extra])
    return now, before, args.count
