"""Recognise the single digit in each image (a photo, a scan, a canvas drawing, a 28x28 array).

  digitreader predict digit.png photo.jpg             a table: file, digit, confidence, runner-up
  digitreader predict scans/ --json                   one JSON line per image:
      {"file": ..., "digit": 7, "confidence": 0.998, "probabilities": [10 floats]}
  digitreader predict photo.jpg --debug-dir debug/    also write what the model saw

An image that cannot be read, or holds no digit, gets {"file": ..., "error": ...} and
the others go on; the exit status is then 1.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from digitreader.commands import batch
from digitreader.commands.common import fail

HELP = "recognise the single digit in each image"


def add_arguments(p: argparse.ArgumentParser) -> None:
    batch.add_arguments(p, "one digit each")


def run(args: argparse.Namespace) -> int:
    from digitreader.engine import Recognizer
    from digitreader.errors import ModelError

    try:
        recognizer = Recognizer(args.model, threads=1 if args.jobs > 1 else None)
    except ModelError as exc:
        return fail(str(exc))
    debug = Path(args.debug_dir) if args.debug_dir else None

    def work(path: Path) -> dict[str, Any]:
        from digitreader.vision.io import load_image
        from digitreader.vision.preprocess import locate

        image = load_image(path)
        x, box = locate(image)
        p = recognizer.predict_array(x)
        if debug is not None:
            from digitreader.vision.debug import write_debug

            write_debug(debug, debug_stem(path), image, [box], [x], [str(p.digit)], [p.confidence])
        return p.to_dict()

    return batch.run(args, "predict", work, ["digit", "confidence", "runner-up"], _row)


def debug_stem(path: Path) -> str:
    """A file name for the debug pictures of ``path`` that two files of one name cannot share."""
    parts = [p for p in path.with_suffix("").parts if p not in ("/", "..", ".")]
    return "__".join(parts[-3:])


def _row(fields: dict[str, Any]) -> list[str]:
    probs = fields["probabilities"]
    second = sorted(range(10), key=lambda k: -probs[k])[1]
    return [f"[bold]{fields['digit']}[/]", f"{fields['confidence']:.3f}", f"{second} ({probs[second]:.3f})"]
