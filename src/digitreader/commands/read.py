"""Read the number (one or more digits, on one or more lines) in each image.

  digitreader read meter.jpg form.png               a table: file, text, confidence, digits
                                                    (tab-separated lines when piped)
  digitreader read photos/ --json                   one JSON line per image (folders are walked):
      {"file": ..., "text": "4096", "confidence": 0.97,
       "digits": [{"digit": 4, "confidence": 0.99, "box": [x, y, w, h]}, ...]}
  digitreader read photo.jpg --debug-dir debug/     also write the boxes and the 28x28 inputs
  digitreader read s3://bucket/scans/ --engine ray --address auto --out results.parquet
                                                    the same rows on a Ray cluster (the [scale] extra),
                                                    written to Parquet or JSON lines; --resume skips the
                                                    files already in --out

Lines of digits are joined with a newline in "text"; an image without digits reads as
"". An image that cannot be read gets {"file": ..., "error": ...} and the others go on;
the exit status is then 1.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from digitreader.commands import batch
from digitreader.commands.common import fail

HELP = "read the number (one or more digits) in each image"


def add_arguments(p: argparse.ArgumentParser) -> None:
    batch.add_arguments(p, "a number each")
    ray = p.add_argument_group("on a Ray cluster (--engine ray; needs the [scale] extra)")
    ray.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: threads in this process; ray: Ray Data actors on a cluster (SRC may then also be a glob, "
        "a list file (.txt, one path or URI a line) or a URI such as s3://bucket/scans/)",
    )
    ray.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="the cluster: 'auto' (one started with 'ray start' on this machine), HOST:6379 or "
        "ray://HOST:10001; none: start a Ray on this machine for the run",
    )
    ray.add_argument("--out", default=None, metavar="RESULTS", help="where the rows go: a .parquet or .jsonl file")
    ray.add_argument("--mode", choices=["read", "predict"], default="read", help="read numbers, or predict one digit")
    ray.add_argument("--resume", action="store_true", help="skip the files that already have a row in --out")
    ray.add_argument("--batch-size", type=int, default=32, metavar="N", help="files per batch handed to an actor")
    ray.add_argument("--actors", type=int, default=None, metavar="N", help="reader actors (default: one per CPU)")
    ray.add_argument("--threads", type=int, default=1, metavar="N", help="CPU threads (and CPUs) per actor")


RAY_ONLY = ("address", "out", "resume", "actors")


def run(args: argparse.Namespace) -> int:
    if args.engine == "ray":
        return _run_ray(args)
    given = [f"--{name}" for name in RAY_ONLY if getattr(args, name) not in (None, False)]
    if args.mode != "read":
        given.append("--mode")
    if given:
        return fail(f"{', '.join(given)} only go with --engine ray")
    return batch.run(args, "read", _work, ["text", "confidence", "digits"], _row)


def _run_ray(args: argparse.Namespace) -> int:
    import importlib.util

    if not args.out:
        return fail("--engine ray writes its rows to a file: give --out RESULTS.parquet (or .jsonl)")
    if args.json or args.debug_dir:
        return fail("--json and --debug-dir go with the local engine; --engine ray writes --out")
    if importlib.util.find_spec("ray") is None:
        return fail("--engine ray needs Ray: pip install 'digitreader[scale]'")
    from digitreader.scale.command import run

    return run(args)


def fields(recognizer: Any, image: Any) -> dict[str, Any]:
    """The JSON fields of one decoded image (the local engine and the Ray engine share it)."""
    return recognizer.read(image).to_dict()


def _work(recognizer: Any, debug: Path | None) -> batch.Work:
    def work(path: Path) -> dict[str, Any]:
        from digitreader.vision.io import load_image

        image = load_image(path)
        reading = recognizer.read(image)
        if debug is not None:
            from digitreader.vision.debug import write_debug

            ds = reading.digits
            write_debug(
                debug,
                batch.debug_stem(path),
                image,
                [d.box for d in ds],
                [d.input for d in ds],
                [str(d.digit) for d in ds],
                [d.confidence for d in ds],
            )
        return reading.to_dict()

    return work


def _row(fields: dict[str, Any]) -> list[str]:
    text = fields["text"].replace("\n", " / ") or "(no digits)"
    digits = " ".join(f"{d['digit']}:{d['confidence']:.2f}" for d in fields["digits"])
    return [text, f"{fields['confidence']:.3f}", digits]
