"""Start-up cost of a cold ``digitreader predict IMAGE``: the median wall time of N fresh processes,
and the modules that take longest to import (``python -X importtime``).

Each tree (this one, and with --base another checkout, e.g. the code before a change) is run
through the same ``digitreader`` console script with PYTHONPATH at its ``src``; every case and
tree runs once per round, so load on the machine falls on all alike. stdout is a pipe, as in
scripts; CPU time (user + system of the process) moves less with load than wall time.

  python benchmarks/cli_startup.py IMAGE... --runs 30
  git worktree add /tmp/before bcaa3d5
  python benchmarks/cli_startup.py IMAGE... --base /tmp/before --runs 30
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {"predict": ["predict"], "predict --json": ["predict", "--json"]}


def script() -> str:
    """The ``digitreader`` console script of this Python, or an equivalent ``python -c``."""
    found = shutil.which("digitreader", path=str(Path(sys.executable).parent))
    return found or ""


def command(args: list[str]) -> list[str]:
    found = script()
    if found:
        return [found, *args]
    return [sys.executable, "-c", "import sys; from digitreader.cli import main; sys.exit(main())", *args]


def run_once(tree: Path, args: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one fresh process."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command(args), env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {' '.join(args)} failed:\n{done.stderr}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_offenders(tree: Path, args: list[str], top: int) -> list[tuple[float, str]]:
    """(self milliseconds, module) of the ``top`` slowest imports, one run."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    code = "import sys; from digitreader.cli import main; sys.exit(main())"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *args], env=env, capture_output=True, text=True
    )
    rows = []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)", line)
        if m:
            rows.append((int(m[1]) / 1000, m[3]))
    total = sum(ms for ms, _ in rows)
    return [(total, "(all imports)"), *sorted(rows, reverse=True)[:top]]


def heavy_modules(tree: Path, args: list[str]) -> list[str]:
    """Which of torch, fastapi, uvicorn, rich the call imports."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    code = (
        "import sys, io, contextlib\nfrom digitreader.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    main(sys.argv[1:])\n"
        "print(' '.join(m for m in ('torch', 'fastapi', 'uvicorn', 'rich') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)
    return done.stdout.split()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", nargs="+", help="images to predict, one process per image and run")
    p.add_argument("--base", type=Path, help="another checkout to compare with (e.g. a git worktree of the old code)")
    p.add_argument("--runs", type=int, default=30, help="cold runs per tree and case")
    p.add_argument("--top", type=int, default=8, help="slowest imports to list")
    args = p.parse_args()
    trees = {"this tree": ROOT}
    if args.base:
        trees = {"base": args.base.resolve(), "this tree": ROOT}
    print(
        f"{platform.node()}: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; {args.runs} cold runs each; command: {' '.join(command(['...']))}"
    )
    runs = [(case, [*extra, image]) for case, extra in CASES.items() for image in args.images]
    for _, argv in runs:
        for tree in trees.values():
            run_once(tree, argv)  # warm the file cache
    times: dict[tuple[int, str], list[tuple[float, float]]] = {(i, n): [] for i in range(len(runs)) for n in trees}
    for _ in range(args.runs):  # every case and tree once per round: load on the machine falls on all alike
        for i, (_, argv) in enumerate(runs):
            for name, tree in trees.items():
                times[i, name].append(run_once(tree, argv))
    for (i, name), measured in times.items():
        case, argv = runs[i]
        wall = [w for w, _ in measured]
        q = statistics.quantiles(wall, n=4)
        print(
            f"digitreader {case} {Path(argv[-1]).name}  [{name}]  median {statistics.median(wall) * 1000:.0f} ms "
            f"(quartiles {q[0] * 1000:.0f}-{q[2] * 1000:.0f} ms, min {min(wall) * 1000:.0f} ms; "
            f"CPU median {statistics.median(c for _, c in measured) * 1000:.0f} ms)"
        )
    for name, tree in trees.items():
        argv = ["predict", args.images[0]]
        print(f"\n[{name}] imports: {' '.join(heavy_modules(tree, argv)) or 'none'} of torch/fastapi/uvicorn/rich")
        print(f"[{name}] python -X importtime, self ms:")
        for ms, module in import_offenders(tree, argv, args.top):
            print(f"  {ms:7.1f}  {module}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
