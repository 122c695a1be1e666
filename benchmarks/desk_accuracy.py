"""A sheet on a desk against the same sheet cropped, in photos (``read``) and in video (``watch``), now and before.

    DIGITREADER_DATA=../shared/data/mnist python benchmarks/desk_accuracy.py --count 300 --seconds 60 --seed 0 \
        [--baseline-src /tmp/base/src]

The set and the video (``digitreader.data.desk``, MNIST **test** digits) are written once to a
temporary folder by this checkout's code; then this checkout and, with ``--baseline-src``, another
checkout's ``src`` (in a subprocess) read the same files. The video is scored as the issue asks:
frames right once a sheet has been held for ``HELD`` frames, and changes of reading while held.
Thresholds were chosen on seed 123; report seed 0.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HELD = 15  # frames a sheet has been held before its frames are scored


def read_all(folder: Path) -> dict[str, str]:
    """file -> text read, for every image listed in ``folder/labels.csv`` (desk and sheet)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from digitreader.engine import Recognizer

    recognizer = Recognizer("default", threads=1)
    out: dict[str, str] = {}
    with open(folder / "labels.csv") as fh:
        for row in csv.DictReader(fh):
            for name in (row["file"], row["sheet"]):
                try:
                    out[name] = recognizer.read(folder / name).text
                except Exception as exc:  # an error is a miss, shown by its message
                    out[name] = f"error: {exc}"
    return out


def watch(video: Path) -> dict:
    """The text ``watch`` reports on each frame of ``video``, and its frames per second."""
    from digitreader.engine import Recognizer
    from digitreader.video import LiveReader, VideoSource, frames

    recognizer = Recognizer("default", threads=1)
    line = getattr(recognizer.line_reader, "log_probs", None)
    try:
        reader = LiveReader(recognizer.classify, line=line)
    except TypeError:  # an older checkout's LiveReader (--baseline-src): no line reader in video
        reader = LiveReader(recognizer.classify)
    texts = []
    start = time.perf_counter()
    with VideoSource(path=video) as source:
        for _, result in frames(source, reader):
            texts.append(result.text)
    return {"texts": texts, "fps": len(texts) / (time.perf_counter() - start)}


def score(folder: Path, texts: dict[str, str]) -> dict[str, tuple[int, int]]:
    """(right, total) for the sheets alone, on desks, and per desk kind."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    with open(folder / "labels.csv") as fh:
        for row in csv.DictReader(fh):
            for key, name in (("sheet alone", row["sheet"]), ("on a desk", row["file"])):
                keys = [key] + ([f"  desk: {row['desk']}"] if key == "on a desk" else [])
                for k in keys:
                    tally[k][0] += texts[name] == row["label"]
                    tally[k][1] += 1
    return {k: (v[0], v[1]) for k, v in sorted(tally.items(), key=lambda kv: (not kv[0][0].isalpha(), kv[0]))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("DIGITREADER_DATA"))
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seconds", type=float, default=60.0, help="length of the video of held sheets (0: none)")
    p.add_argument("--baseline-src", help="another checkout's src folder, reading the same files")
    p.add_argument("--read-dir", help=argparse.SUPPRESS)  # the baseline's subprocess: read this set, print JSON
    p.add_argument("--keep", metavar="DIR", help="write the set here and keep it (default: a temporary folder)")
    args = p.parse_args()
    if args.read_dir:
        folder = Path(args.read_dir)
        video = folder / "held.mp4"
        print(json.dumps({"photos": read_all(folder), "video": watch(video) if video.is_file() else None}))
        return
    from digitreader.data.desk import HOLD_SECONDS, write_desk_set, write_desk_video
    from digitreader.data.synthetic import _mnist_test
    from digitreader.data.synthetic_video import read_truth
    from digitreader.data.synthetic_video import score as score_video

    images, labels = _mnist_test(args.data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        write_desk_set(folder, images, labels, args.count, args.seed)
        if args.seconds > 0:
            write_desk_video(folder / "held.mp4", images, labels, args.seconds, 30.0, (640, 480), args.seed)
        start = time.perf_counter()
        now = {"photos": read_all(folder)}
        seconds = time.perf_counter() - start
        now["video"] = watch(folder / "held.mp4") if args.seconds > 0 else None
        before = None
        if args.baseline_src:
            env = {**os.environ, "PYTHONPATH": args.baseline_src}
            cmd = [sys.executable, __file__, "--read-dir", str(folder)]
            before = json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)
        rows = {"now": score(folder, now["photos"])}
        if before:
            rows["before"] = score(folder, before["photos"])
        truth = read_truth(folder / "held.mp4") if args.seconds > 0 else []
    print(f"seed {args.seed}, {args.count} sheets; {1000 * seconds / (2 * args.count):.0f} ms per photo now")
    print("| photos | n | " + " | ".join(rows) + " |")
    print("|---|---:|" + "---:|" * len(rows))
    for key, (_, total) in rows["now"].items():
        print(f"| {key} | {total} | " + " | ".join(f"{r[key][0] / total:.2%}" for r in rows.values()) + " |")
    if not truth:
        return
    runs = {"now": now["video"], **({"before": before["video"]} if before else {})}
    numbers = {t.text for t in truth}
    print(f"\nvideo: {len(truth)} frames, 640x480, {len(numbers)} sheets, each held {HOLD_SECONDS:g} s")
    print(f"| watch | frames right once held {HELD} | changes while held | numbers ever read | frames/s |")
    print("|---|---:|---:|---:|---:|")
    for name, run in runs.items():
        s = score_video(truth, run["texts"], after=HELD)
        ever = len(numbers & set(run["texts"]))
        right = f"{s.accuracy:.1%} ({s.correct}/{s.frames})"
        print(f"| {name} | {right} | {s.changes} | {ever} of {len(numbers)} | {run['fps']:.1f} |")


if __name__ == "__main__":
    main()
