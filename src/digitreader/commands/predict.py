"""Recognise the single digit in each image (a photo, a scan, a canvas drawing, a 28x28 array).

  digitreader predict digit.png photo.jpg             a table: file, digit, confidence, runner-up
                                                      (tab-separated lines when piped)
  digitreader predict scans/ --json                   one JSON line per image:
      {"file": ..., "digit": 7, "confidence": 0.998, "probabilities": [10 floats]}
  digitreader predict photo.jpg --debug-dir debug/    also write what the model saw

An image that holds no digit (blank, a mark that is no digit, or several digits: use read)
gets {"file": ..., "digit": null, ..., "reason": ...}. An image that cannot be read gets
{"file": ..., "error": ...} and the others go on; the exit status is then 1.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from digitreader.commands import batch

HELP = "recognise the single digit in each image"


def add_arguments(p: argparse.ArgumentParser) -> None:
    batch.add_arguments(p, "one digit each")


def run(args: argparse.Namespace) -> int:
    return batch.run(args, "predict", _work, ["digit", "confidence", "runner-up"], _row)


def fields(recognizer: Any, image: Any, debug: Path | None = None, stem: str = "") -> dict[str, Any]:
    """The JSON fields of one decoded image (the local engine and the Ray engine share it)."""
    from digitreader.errors import NoDigitError
    from digitreader.vision.preprocess import locate

    try:
        located = locate(image)
        p = recognizer.predict_located(image, located)
    except NoDigitError as exc:
        return {"digit": None, "confidence": None, "probabilities": None, "reason": str(exc)}
    if debug is not None:
        from digitreader.vision.debug import write_debug

        write_debug(debug, stem, image, [located.box], [located.array], [str(p.digit)], [p.confidence])
    return p.to_dict()


def _work(recognizer: Any, debug: Path | None) -> batch.Work:
    def work(path: Path) -> dict[str, Any]:
        from digitreader.vision.io import load_image

        return fields(recognizer, load_image(path), debug, batch.debug_stem(path))

    return work


def _row(fields: dict[str, Any]) -> list[str]:
    if fields["digit"] is None:
        return ["", "", fields["reason"]]
    probs = fields["probabilities"]
    second = sorted(range(10), key=lambda k: -probs[k])[1]
    return [str(fields["digit"]), f"{fields['confidence']:.3f}", f"{second} ({probs[second]:.3f})"]
