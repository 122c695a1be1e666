"""Read the number (one or more digits, on one or more lines) in each image.

  digitreader read meter.jpg form.png               a table: file, text, confidence, digits
                                                    (tab-separated lines when piped)
  digitreader read photos/ --json                   one JSON line per image (folders are walked):
      {"file": ..., "text": "4096", "confidence": 0.97,
       "digits": [{"digit": 4, "confidence": 0.99, "box": [x, y, w, h]}, ...]}
  digitreader read photo.jpg --debug-dir debug/     also write the boxes and the 28x28 inputs

Lines of digits are joined with a newline in "text"; an image without digits reads as
"". An image that cannot be read gets {"file": ..., "error": ...} and the others go on;
the exit status is then 1.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from digitreader.commands import batch

HELP = "read the number (one or more digits) in each image"


def add_arguments(p: argparse.ArgumentParser) -> None:
    batch.add_arguments(p, "a number each")


def run(args: argparse.Namespace) -> int:
    return batch.run(args, "read", _work, ["text", "confidence", "digits"], _row)


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
