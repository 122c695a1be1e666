"""Read digits live from a camera or a video file: a box and the digit over each digit, the whole number, fps.

  digitreader watch --camera 0                            a window with the live reading (q quits)
  digitreader watch --camera 0 --json                     headless: one JSON line per frame (Ctrl-C stops)
  digitreader watch --video clip.mp4                      print the number each time it changes
  digitreader watch --video clip.mp4 --out annotated.mp4  write the annotated video
  digitreader watch --video clip.mp4 --json               one JSON line per frame: frame, time, text, digits

Readings are stable: each digit is tracked across frames and its reading is the vote of its
last frames, so a number is reported once it has been seen a few frames and does not flicker.
Without a display (or with opencv-python-headless) it runs headless; a camera then needs
--json or --out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack
from typing import Any

from digitreader.commands.common import err, fail, say

HELP = "read digits live from a camera or a video file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--camera", type=int, metavar="INDEX", help="read from this camera (0 is the first)")
    src.add_argument("--video", metavar="FILE", help="read from this video file")
    p.add_argument("--out", metavar="FILE", help="write the annotated video here (.mp4 or .avi)")
    p.add_argument(
        "--json", action="store_true", help='print one JSON line per frame: {"frame", "time", "text", "digits": [...]}'
    )
    show = p.add_mutually_exclusive_group()
    show.add_argument(
        "--show",
        dest="show",
        action="store_true",
        default=None,
        help="show a window (the default with a camera, or with a video and neither --out nor --json)",
    )
    show.add_argument("--no-show", dest="show", action="store_false", help="never open a window")
    p.add_argument("--model", default="default", help="bundled model name or path to an .onnx file")
    p.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    p.add_argument(
        "--detect-width",
        type=int,
        default=320,
        metavar="PX",
        help="find digits on the frame reduced to this width, for speed; small digits are still read at full "
        "resolution (0: always full resolution)",
    )
    p.add_argument("--window", type=int, default=8, metavar="N", help="vote over each digit's last N readings")
    p.add_argument("--confirm-after", type=int, default=3, metavar="N", help="show a digit once seen in N frames")
    p.add_argument("--stats", action="store_true", help="print the time spent per stage at the end")


def _wants_window(args: argparse.Namespace) -> bool:
    if args.show is not None:
        return args.show
    return args.camera is not None or not (args.out or args.json)


def _check(args: argparse.Namespace) -> str | None:
    """A usage problem, or None."""
    if args.max_frames is not None and args.max_frames < 1:
        return "--max-frames must be at least 1"
    if args.detect_width < 0 or 0 < args.detect_width < 64:
        return "--detect-width must be 0 (full resolution) or at least 64"
    if args.window < 1 or args.confirm_after < 1:
        return "--window and --confirm-after must be at least 1"
    if args.confirm_after > args.window:
        return "--confirm-after cannot exceed --window"
    return None


def run(args: argparse.Namespace) -> int:
    problem = _check(args)
    if problem:
        return fail(problem)
    from digitreader.errors import DigitReaderError
    from digitreader.video.window import gui_problem

    headless_ok = bool(args.out or args.json) or args.camera is None  # a video alone prints its numbers
    window = _wants_window(args)
    if window:
        why = gui_problem()
        if why is not None and (args.show or not headless_ok):
            hint = "" if headless_ok else "; run headless with --json and/or --out FILE"
            return fail(f"cannot open a window: {why}{hint}")
        window = why is None
    if args.camera is not None and not window and not (args.out or args.json):
        return fail("with --no-show a camera needs --json and/or --out FILE")
    # FFmpeg prints its own lines ("[png @ 0x...] Invalid PNG signature") straight to stderr; the
    # VideoError raised instead says it plainly. Set before OpenCV's FFmpeg backend first opens a file.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    try:
        return _watch(args, window)
    except DigitReaderError as exc:
        return fail(str(exc))


def _watch(args: argparse.Namespace, window: bool) -> int:
    from digitreader.engine import Recognizer
    from digitreader.video import LiveReader, Settings, TrackerConfig, VideoSource, VideoWriter

    with ExitStack() as stack:
        # The source first: a missing camera or a bad file is reported before the model loads.
        source = stack.enter_context(
            VideoSource(camera=args.camera) if args.camera is not None else VideoSource(path=args.video)
        )
        writer = (
            stack.enter_context(VideoWriter(args.out, source.fps, (source.width, source.height))) if args.out else None
        )
        tracker = TrackerConfig(window=args.window, confirm_after=args.confirm_after)
        # One inference thread: a frame's batch is small, and the other core decodes and encodes
        # (benchmarks/video_fps.py: less CPU per frame than one thread per core).
        recognizer = Recognizer(args.model, threads=1)
        line = recognizer.line_reader.log_probs if recognizer.line_reader is not None else None
        reader = LiveReader(recognizer.classify, Settings(detect_width=args.detect_width, tracker=tracker), line=line)
        screen = None
        if window:
            from digitreader.video.window import Window

            screen = Window()
            stack.callback(screen.close)
        progress = stack.enter_context(_progress(source, args.max_frames, enabled=screen is None))
        stats = _Stats()
        try:
            _loop(args, source, reader, writer, screen, progress, stats)
        except KeyboardInterrupt:
            stats.interrupted = True
    stats.report(args.out, args.stats)
    if stats.interrupted and not source.live:  # a camera is stopped with Ctrl-C as a matter of course
        err.print("interrupted")
        return 130
    return 0


def _loop(
    args: argparse.Namespace, source: Any, reader: Any, writer: Any, screen: Any, progress: _progress, stats: _Stats
) -> None:
    """Each frame: read it, then print its JSON line or number change, draw it, write it, show it."""
    from digitreader.video import FpsMeter, draw, frames

    fps = FpsMeter()
    last_text: str | None = None
    for frame, result in frames(source, reader, args.max_frames):
        rate = fps.tick()
        stats.add(result)
        if args.json:
            sys.stdout.write(json.dumps(result.to_dict()) + "\n")
            sys.stdout.flush()
        elif screen is None and result.text != last_text:
            say(f"frame {result.frame:>6}  {result.time:8.2f} s  {result.text or '(no number)'}")
        last_text = result.text
        if writer is not None or screen is not None:
            annotated = draw(frame.image, result, rate)
            if writer is not None:
                writer.write(annotated)
            if screen is not None and not screen.show(annotated):
                break
        progress.advance(result.text, rate)


class _Stats:
    """Frame count and seconds per stage over the run."""

    def __init__(self) -> None:
        self.frames = 0
        self.seconds: dict[str, float] = {}
        self.analysed = 0
        self.classified = 0
        self.interrupted = False

    def add(self, result: Any) -> None:
        self.frames += 1
        self.analysed += result.analysed
        self.classified += result.classified
        for k, v in result.seconds.items():
            self.seconds[k] = self.seconds.get(k, 0.0) + v

    def report(self, written: str | None, detailed: bool) -> None:
        if written:
            say(f"wrote {written} ({self.frames} frames)", stderr=True)
        if detailed and self.frames:
            total = sum(self.seconds.values())
            parts = "  ".join(f"{k} {v / self.frames * 1000:.2f}" for k, v in self.seconds.items())
            err.print(
                f"{self.frames} frames, {self.frames / max(total, 1e-9):.1f} frames/s of pipeline time; "
                f"ms per frame: {parts}; segmented {self.analysed}, classified {self.classified} digits"
            )


class _progress:
    """A progress bar on stderr (frames, fps, current number); a no-op when disabled."""

    def __init__(self, source: Any, max_frames: int | None, enabled: bool) -> None:
        from rich.markup import escape
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        total = source.frame_count
        if max_frames is not None:
            total = min(total, max_frames) if total else None
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>5.1f} fps  number {task.fields[text]}"),
            TimeRemainingColumn(),
            console=err.get(),
            transient=True,
            disable=not enabled,
        )
        self.task = self.bar.add_task(escape(source.name), total=total, rate=0.0, text="-")  # a name, not markup

    def __enter__(self) -> _progress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def advance(self, text: str, rate: float) -> None:
        self.bar.update(self.task, advance=1, rate=rate, text=text.replace("\n", "/") or "-")
