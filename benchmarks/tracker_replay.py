"""Tracker settings compared on the same detections: held frames right and changes while held.

    DIGITREADER_DATA=../shared/data/mnist python benchmarks/tracker_replay.py --seeds 124,125,126,127 \
        --config '{"window": 30}' --config '{"switch_margin": 0.3}'

Each desk video (``digitreader.data.desk``, MNIST **test** digits, 60 s) is read once by ``watch``'s
pipeline (``LiveReader``), keeping each frame's detections: what the tracker is given does not
depend on the tracker. Then the tracker and the settled number are replayed over those detections
with the default settings and with each ``--config`` (``TrackerConfig`` fields as JSON), in
milliseconds a video, so settings compare on identical input. Scored as ``desk_accuracy.py`` scores
``watch``: frames right once a sheet has been held ``HELD`` frames, and changes of reading while held.
The default row equals what ``watch`` reports on those videos. Develop on seeds other than 0 (the
evaluation seed of ``desk_accuracy.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

HELD = 15  # as in desk_accuracy.py


def detections(video: Path) -> tuple[list[list], list[str]]:
    """Each frame's detections as ``watch`` finds them, and the text it reports."""
    from digitreader.engine import Recognizer
    from digitreader.video import LiveReader, VideoSource, frames

    recognizer = Recognizer("default", threads=1)
    reader = LiveReader(recognizer.classify, line=recognizer.line_reader.log_probs)
    found, texts = [], []
    with VideoSource(path=video) as source:
        for _, result in frames(source, reader):
            found.append(reader.detections)
            texts.append(result.text)
    return found, texts


def replay(found: list[list], config) -> list[str]:  # type: ignore[no-untyped-def]
    """The number reported on each frame by a tracker with ``config`` given these detections."""
    from digitreader.video.tracker import SettledText, Tracker, number_text

    tracker, number = Tracker(config), SettledText(config.settle)
    return [number.update(number_text(tracker.update(frame))) for frame in found]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("DIGITREADER_DATA"))
    p.add_argument("--seeds", default="124,125,126,127", help="desk videos, comma-separated")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--config", action="append", default=[], help="TrackerConfig fields as JSON (repeatable)")
    args = p.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from digitreader.data.desk import write_desk_video
    from digitreader.data.synthetic import _mnist_test
    from digitreader.data.synthetic_video import score
    from digitreader.video.tracker import TrackerConfig

    configs = {"default": TrackerConfig()} | {c: replace(TrackerConfig(), **json.loads(c)) for c in args.config}
    images, labels = _mnist_test(args.data_dir)
    seeds = [int(s) for s in args.seeds.split(",")]
    totals = {name: [0, 0, 0] for name in configs}
    print("| settings | " + " | ".join(f"seed {s}" for s in seeds) + " | all |")
    print("|---|" + "---:|" * (len(seeds) + 1))
    cells: dict[str, list[str]] = {name: [] for name in configs}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            video = Path(tmp) / f"desk{seed}.mp4"
            truth = write_desk_video(video, images, labels, args.seconds, 30.0, (640, 480), seed)
            found, texts = detections(video)
            for name, config in configs.items():
                replayed = replay(found, config)
                if name == "default" and replayed != texts:
                    raise SystemExit(f"seed {seed}: the replay differs from what watch reported")
                s = score(truth, replayed, after=HELD)
                cells[name].append(f"{s.accuracy:.1%} / {s.changes}")
                totals[name] = [totals[name][0] + s.correct, totals[name][1] + s.frames, totals[name][2] + s.changes]
    for name, row in cells.items():
        right, frames, changes = totals[name]
        print(f"| {name} | " + " | ".join(row) + f" | {right / frames:.2%} / {changes} |")
    print(f"\ncells: frames right once held {HELD} frames / changes while held")


if __name__ == "__main__":
    main()
