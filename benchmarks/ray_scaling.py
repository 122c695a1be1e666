"""``digitreader read`` on Ray against the local engine, on one machine: images/s, Ray's overhead per
image, and the memory of each reader actor.

The images are numbers of 1-3 MNIST test digits side by side, dark ink on white, 56 pixels tall, as
PNG files in a temporary folder. Each round runs every engine once, in turn, so load on a shared
machine falls on all alike; the best round of each is kept.

- local, 1 thread / 2 threads: the local engine's code (``batch.results``, ``--jobs 1`` with one ONNX
  Runtime thread, and ``--jobs 2`` as the CLI does on 2 cores), in this process.
- ray, 1 actor / 2 actors: ``scale.reader.rows`` on a local Ray of 2 CPUs (started once, not timed),
  each actor one CPU and one thread. "all" counts the whole run, actor start-up and model loading
  included; "steady" counts from the first batch back to the last (the rate a long run has).

Overhead per image: steady Ray time per image minus the local engine's at the same core count.

  python benchmarks/ray_scaling.py --images 600 --rounds 2
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def make_images(folder: Path, count: int, data_dir: str | None) -> list[str]:
    import cv2

    from digitreader.data import load_mnist

    images, _ = load_mnist("test", data_dir)
    rng = np.random.default_rng(0)
    files = []
    for i in range(count):
        picks = rng.integers(0, len(images), 1 + i % 3)
        number = 255 - np.hstack([np.pad(images[k], 4) for k in picks])
        path = folder / f"n{i:05d}.png"
        cv2.imwrite(str(path), cv2.resize(number, None, fx=1.56, fy=1.56, interpolation=cv2.INTER_LINEAR))
        files.append(str(path))
    return files


def run_local(files: list[str], jobs: int) -> tuple[float, float]:
    """(seconds for all, seconds for all but the first ``jobs * 4``): no start-up to speak of."""
    from digitreader.commands import batch, read
    from digitreader.engine import Recognizer

    work = read._work(Recognizer(threads=1), None)
    start = time.perf_counter()
    first = None
    for i, (_, fields) in enumerate(batch.results([Path(f) for f in files], work, jobs)):
        assert "error" not in fields, fields
        if i == jobs * 4 - 1:
            first = time.perf_counter()
    end = time.perf_counter()
    return end - start, end - (first or start)


def run_ray(files: list[str], actors: int, batch_size: int) -> tuple[float, float, int, list[float]]:
    """(seconds for all, seconds from the first batch, images after the first batch, max RSS MB per actor)."""
    from digitreader.scale import reader

    rss: dict[int, float] = {}
    done = threading.Event()
    watcher = threading.Thread(target=_watch_actors, args=(rss, done), daemon=True)
    watcher.start()
    start = time.perf_counter()
    first, after = None, 0
    for table in reader.rows(files, actors=actors, batch_size=batch_size):
        assert table.column("error").null_count == table.num_rows
        if first is None:
            first = time.perf_counter()
        else:
            after += table.num_rows
    end = time.perf_counter()
    done.set()
    watcher.join()
    return end - start, end - (first or start), after, sorted(rss.values())


def _watch_actors(rss: dict[int, float], done: threading.Event) -> None:
    """The largest resident memory seen of each reader actor (a descendant of this process)."""
    while not done.wait(0.25):
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if "MapBatches(ReadBatch)" not in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    continue
                pages = int((entry / "statm").read_text().split()[1])
            except (OSError, ValueError, IndexError):
                continue
            rss[int(entry.name)] = max(rss.get(int(entry.name), 0.0), pages * os.sysconf("SC_PAGE_SIZE") / 2**20)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=600, help="images per run (default: %(default)s)")
    p.add_argument(
        "--rounds", type=int, default=2, help="rounds; the best of each engine is kept (default: %(default)s)"
    )
    p.add_argument("--batch-size", type=int, default=32, help="files per Ray batch (default: %(default)s)")
    p.add_argument("--data-dir", default=None, help="MNIST folder (else $DIGITREADER_DATA, else the cache)")
    args = p.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import ray

    from digitreader.scale.cluster import THREAD_VARS

    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        logging_level="WARNING",
        runtime_env={"env_vars": THREAD_VARS},
    )
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; Ray {ray.__version__}")
    best: dict[str, tuple[float, float, int]] = {}
    memory: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        files = make_images(Path(folder), args.images, args.data_dir)
        run_ray(files[:64], 2, args.batch_size)  # the first run on a new Ray starts its worker pool: not timed
        for r in range(args.rounds):
            for name in ("local, 1 thread", "local, 2 threads", "ray, 1 actor", "ray, 2 actors"):
                if name.startswith("local"):
                    jobs = 1 if "1" in name else 2
                    total, steady = run_local(files, jobs)
                    result = (total, steady, len(files) - jobs * 4)
                else:
                    total, steady, after, rss = run_ray(files, 1 if "1 actor" in name else 2, args.batch_size)
                    result = (total, steady, after)
                    memory[name] = rss
                print(f"round {r + 1}: {name}: {len(files) / result[0]:.1f} images/s", flush=True)
                if name not in best or result[1] / result[2] < best[name][1] / best[name][2]:
                    best[name] = result
    ray.shutdown()
    print(f"\n{args.images} images, batch {args.batch_size}, best of {args.rounds} rounds")
    print(f"{'engine':<18} {'all img/s':>10} {'steady img/s':>13} {'ms/img':>8} {'overhead':>16} {'RSS/actor':>10}")
    for name, (total, steady, after) in best.items():
        per = steady / after * 1000
        line = f"{name:<18} {args.images / total:>10.1f} {after / steady:>13.1f} {per:>8.2f}"
        if name.startswith("ray"):
            local = best["local, 1 thread" if "1 actor" in name else "local, 2 threads"]
            base = local[1] / local[2] * 1000
            rss = memory.get(name) or [0.0]
            line += f" {per - base:>+7.2f} ms {100 * (per - base) / base:>+6.1f}% {max(rss):>7.0f} MB"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
