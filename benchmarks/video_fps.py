"""Frames per second of `digitreader watch` on 640x480 video, with the time per stage.

Generates the synthetic test video (MNIST test digits on moving, relit paper; see
``digitreader.data.synthetic_video``) and runs the live reader over it in several
configurations, side by side in one process, interleaved and repeated (the best run of
each counts: the machine is shared). For each it prints frames/s (wall clock), CPU ms per
frame (all threads of the process), milliseconds per frame per stage, how much work was
skipped, and the reading quality against the truth. Decoding and encoding run on their own
threads: "decode" and "write" are the time the pipeline waited for them.

    python benchmarks/video_fps.py [--seconds 30] [--repeat 3] [--require-fps 30]

Bar (DESIGN.md): >= 30 frames/s on 640x480 on 2 CPU cores, without flicker.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from digitreader import Recognizer
from digitreader.data import load_mnist
from digitreader.data.synthetic_video import read_truth, score, write_video
from digitreader.video import FpsMeter, LiveReader, Settings, VideoSource, VideoWriter, draw, frames

STAGES = ("decode", "prepare", "detect", "classify", "track", "draw", "write")


@dataclass(frozen=True)
class Config:
    name: str
    settings: Settings
    annotate: bool = False  # draw the overlay and write the annotated video (`watch --out`)
    threads: int | None = 1  # ONNX Runtime intra-op threads, as `watch` uses (None: one per core)


CONFIGS = [
    Config("watch --json (default)", Settings()),
    Config("watch --out annotated.mp4", Settings(), annotate=True),
    Config(
        "no skipping (every frame segmented, every digit classified)", Settings(still_threshold=-1, reuse_threshold=-1)
    ),
    Config("--detect-width 0 (full resolution)", Settings(detect_width=0)),
    Config("without the line reader", Settings(line_reader=False)),
    Config("ONNX Runtime with one thread per core", Settings(), threads=None),
]


def run(config: Config, video: Path, recognizer: Recognizer, out_dir: Path) -> dict:
    """One pass over the video; times, work done and the text reported for each frame."""
    reader = LiveReader(recognizer.classify, config.settings, line=recognizer.line_reader.log_probs)
    seconds = dict.fromkeys(STAGES, 0.0)
    texts, analysed, classified = [], 0, 0
    meter = FpsMeter()
    with VideoSource(path=video) as source:
        writer = (
            VideoWriter(out_dir / "annotated.mp4", source.fps, (source.width, source.height))
            if config.annotate
            else None
        )
        start, cpu = time.perf_counter(), time.process_time()
        for frame, result in frames(source, reader):
            rate = meter.tick()
            for k, v in result.seconds.items():
                seconds[k] += v
            if writer is not None:
                t0 = time.perf_counter()
                image = draw(frame.image, result, rate)
                t1 = time.perf_counter()
                writer.write(image)
                seconds["draw"] += t1 - t0
                seconds["write"] += time.perf_counter() - t1
            texts.append(result.text)
            analysed += result.analysed
            classified += result.classified
        if writer is not None:
            writer.close()  # waits for the encoder thread to finish
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    n = len(texts)
    return {
        "frames": n,
        "wall": wall,
        "fps": n / wall,
        "cpu_ms": cpu / n * 1000,
        "ms": {k: v / n * 1000 for k, v in seconds.items()},
        "analysed": analysed / n,
        "classified": classified / n,
        "texts": texts,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=30.0, help="length of the generated video (30 fps)")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated video")
    p.add_argument("--repeat", type=int, default=3, help="runs per configuration (the fastest counts)")
    p.add_argument("--data-dir", default=None, help="folder holding MNIST (else $DIGITREADER_DATA, else the cache)")
    p.add_argument("--require-fps", type=float, default=None, help="exit 1 if the default configuration is slower")
    args = p.parse_args()

    images, labels = load_mnist("test", args.data_dir)
    recognizers = {c.threads: Recognizer(threads=c.threads) for c in CONFIGS}
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "bench.mp4"
        t0 = time.perf_counter()
        write_video(video, images, labels, seconds=args.seconds, seed=args.seed)
        truth = read_truth(video)
        print(
            f"video: {len(truth)} frames of 640x480 at 30 fps (seed {args.seed}), generated in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        print(
            f"machine: {platform.processor() or platform.machine()}, onnxruntime {ort.__version__}, "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start; "
            f"best of {args.repeat} interleaved runs"
        )
        best: dict[str, dict] = {}
        for _ in range(args.repeat):
            for config in CONFIGS:
                r = run(config, video, recognizers[config.threads], Path(tmp))
                if config.name not in best or r["fps"] > best[config.name]["fps"]:
                    best[config.name] = r
    header = (
        "| configuration | frames/s | CPU ms/frame | "
        + " | ".join(f"{s} ms" for s in STAGES)
        + " | segmented | classified/frame | correct (still >= 5) | changes in still parts |"
    )
    print()
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for config in CONFIGS:
        r = best[config.name]
        s = score(truth, r["texts"])
        stages = " | ".join(f"{r['ms'][k]:.2f}" if r["ms"][k] else "-" for k in STAGES)
        print(
            f"| {config.name} | {r['fps']:.1f} | {r['cpu_ms']:.1f} | {stages} | {r['analysed']:.0%} | "
            f"{r['classified']:.2f} | "
            f"{s.correct}/{s.frames} = {s.accuracy:.1%} | {s.changes} |"
        )
    default = best[CONFIGS[0].name]["fps"]
    if args.require_fps is not None and default < args.require_fps:
        print(f"FAIL: {default:.1f} frames/s < {args.require_fps}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
