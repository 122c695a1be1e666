"""``Recognizer``: ONNX Runtime inference on MNIST-style inputs. No torch import, ever.

Contract (DESIGN.md): the model takes ``image`` float32 [N,1,28,28] in [0,1]
(white ink on black) and returns ``logits`` float32 [N,10].
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from digitreader.errors import ModelError, NoDigitError, NotADigitError
from digitreader.results import Digit, Prediction, Reading
from digitreader.runtime import open_session

__all__ = ["Digit", "Prediction", "Reading", "Recognizer", "open_session"]

ImageInput = Any  # path, bytes, PIL image or numpy array; see vision.io.load_image
REJECT_OUTPUT = "reject_logits"  # a packed model's "not a digit" network (training.pack)


def bundled_models_dir() -> Path:
    return Path(__file__).resolve().parent / "assets" / "models"  # not importlib.resources: 10 ms at start-up


def resolve_model(model: str | os.PathLike[str]) -> Path:
    """A bundled model name ("default") or a path to an .onnx file."""
    path = Path(model)
    if path.suffix == ".onnx":
        if not path.is_file():
            raise ModelError(f"model file {path} does not exist")
        return path
    bundled = bundled_models_dir() / f"{model}.onnx"
    if bundled.is_file():
        return bundled
    names = sorted(p.stem for p in bundled_models_dir().glob("*.onnx"))
    raise ModelError(f"unknown model {str(model)!r}: give a path to an .onnx file or one of {names}")


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class Recognizer:
    """Reads digits with an ONNX model through ONNX Runtime; load once, call many times."""

    def __init__(
        self,
        model: str | os.PathLike[str] = "default",
        threads: int | None = None,
        line_model: str | os.PathLike[str] | None = "default",
        field_model: str | os.PathLike[str] | None = "default",
    ) -> None:
        """``line_model``: the CTC line reader that helps ``read`` with touching digits and
        gives a second opinion on single digits: "default" (the bundled one), a path to an
        .onnx file, or None to read with the digit model alone. ``field_model``: the field
        reader that reads each line again whole (``vision.document``): the same choices."""
        self.path = resolve_model(model)
        self._threads = threads
        self._line_model = line_model
        self._line: Any = None
        self._field_model = field_model
        self._field: Any = None
        self.session = open_session(self.path, threads)
        self.sha256: str = hashlib.sha256(self.path.read_bytes()).hexdigest()  # names the exact model
        card = self.path.with_suffix(".json")
        self.card: dict[str, Any] = json.loads(card.read_text()) if card.is_file() else {"name": self.path.stem}
        self.name: str = self.card.get("name", self.path.stem)
        # "Not a digit": an image whose score (``digit_score``) is below the card's threshold (training.reject).
        reject = self.card.get("reject", {})
        self.reject_below = float(reject.get("energy_below", float("-inf")))
        scorer = self.card.get("reject_model", self.card)  # a packed reject network's card, else the model's own
        self.score_temperature = float(reject.get("temperature", scorer.get("calibration", {}).get("temperature", 1.0)))
        self._input = self.session.get_inputs()[0].name
        # A packed model (training.pack) has a second network beside the digit model that scores "not a digit".
        outputs = [o.name for o in self.session.get_outputs()]
        self._logits_output = outputs[0]
        self._score_output = REJECT_OUTPUT if REJECT_OUTPUT in outputs else outputs[0]

    def __repr__(self) -> str:
        return f"Recognizer(model={str(self.path)!r})"

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Raw logits [N,10] for MNIST-style inputs [N,28,28] or [N,1,28,28] in [0,1]."""
        x = np.asarray(batch, dtype=np.float32)
        if x.shape[1:] not in ((28, 28), (1, 28, 28)):
            raise ValueError(f"expected inputs of shape [N,28,28] or [N,1,28,28], got {list(x.shape)}")
        if x.ndim == 3:
            x = x[:, None]
        if len(x) == 0:
            return np.zeros((0, 10), np.float32)
        return self.session.run([self._logits_output], {self._input: np.ascontiguousarray(x)})[0]

    def scores(self, batch: np.ndarray) -> np.ndarray:
        """``digit_score`` [N] of MNIST-style inputs [N,28,28] in [0,1], from the packed reject network if any."""
        x = np.ascontiguousarray(np.asarray(batch, dtype=np.float32).reshape(-1, 1, 28, 28))
        return self.digit_score(self.session.run([self._score_output], {self._input: x})[0])

    def classify(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities [N,10] for MNIST-style inputs [N,28,28] in [0,1]."""
        return softmax(self.logits(batch).astype(np.float64))

    def predict_array(self, array: np.ndarray, reject: bool = True) -> Prediction:
        """Classify one MNIST-style 28x28 array in [0,1] (white ink on black).

        With the line reader on, its reading of the same digit is a second opinion
        (``vision.line_reader.second_opinion``): the probabilities are the two models' combined.
        Raises ``NotADigitError`` when the input scores below the card's "not a digit" threshold
        (``digit_score``), unless ``reject`` is False.
        """
        x = np.ascontiguousarray(np.asarray(array, np.float32).reshape(1, 1, 28, 28))
        names = [self._logits_output]
        if reject and self.reject_below > -np.inf:
            names.append(self._score_output)
        outs = self.session.run(list(dict.fromkeys(names)), {self._input: x})
        probs = softmax(outs[0].astype(np.float64))[0]
        if len(names) > 1 and float(self.digit_score(outs[-1])[0]) < self.reject_below:
            k = int(probs.argmax())
            raise NotADigitError(f"that doesn't look like a digit (it is nearest to a {k})", nearest=k)
        # The line reader is loaded only when the digit model doubts: a confident answer stands, and a
        # one-image `digitreader predict` does not pay for a second ONNX session.
        if self._line_model is not None:
            from digitreader.vision.line_reader import DOUBT, second_opinion
            from digitreader.vision.strip import group_strip

            with contextlib.suppress(NoDigitError):  # no ink: nothing for the line reader to read
                if float(probs.max()) < DOUBT:  # else the digit model's answer stands (and no time is spent)
                    strip = group_strip(np.asarray(array, np.float32))
                    probs = second_opinion(probs, self.line_reader.log_probs([strip])[0])
        k = int(probs.argmax())
        return Prediction(k, float(probs[k]), [float(p) for p in probs], input=np.asarray(array, np.float32))

    def digit_score(self, logits: np.ndarray) -> np.ndarray:
        """How much like a digit each input is: the free energy ``logsumexp`` of (uncalibrated) logits.

        A model trained with non-digits towards no answer (``train --non-digits``) keeps all its
        logits low for them, and a low energy says so better than a low top probability does
        (an ambiguous digit has a low top probability too, but a high energy).
        """
        z = np.asarray(logits, np.float64) * self.score_temperature
        top = z.max(axis=1, keepdims=True)
        return (top + np.log(np.exp(z - top).sum(axis=1, keepdims=True)))[:, 0]

    def predict(self, image: ImageInput) -> Prediction:
        """The single digit in an image (a photo, a drawing, or a 28x28 MNIST-style array).

        Raises ``ImageError`` for unreadable input, ``NoDigitError`` for a blank image and
        ``NotADigitError`` (a ``NoDigitError``) for a mark that is no digit, or for several digits
        (its message then says so and points to ``read``).
        """
        from digitreader.vision.preprocess import preprocess

        prepared = preprocess(image)
        try:
            return self.predict_array(prepared)
        except NotADigitError as exc:
            raise self.explain(image, exc) from None

    def explain(self, image: ImageInput, rejected: NotADigitError) -> NotADigitError:
        """Why ``image`` was rejected: "several digits (...): use read" when ``read`` finds them, else ``rejected``."""
        several = self._several_digits(image)
        if several is None:
            return rejected
        return NotADigitError(f"several digits ({several}): use read for numbers", several=several)

    def _several_digits(self, image: ImageInput) -> str | None:
        """The number in ``image`` when ``read`` finds two or more sure digits in it, else None."""
        if isinstance(image, np.ndarray) and image.shape[:2] == (28, 28):
            return None
        try:
            reading = self.read(image)
        except NoDigitError:
            return None
        sure = [d for d in reading.digits if d.confidence >= 0.5]
        return reading.text.replace("\n", " ") if len(reading.digits) >= 2 and len(sure) >= 2 else None

    def read(self, image: ImageInput) -> Reading:
        """Every digit in an image, in reading order (left to right, lines top to bottom)."""
        from digitreader.vision.ink import WORK_SIDE
        from digitreader.vision.io import load_scaled
        from digitreader.vision.segment import read_number

        scaled = load_scaled(image, work_side=WORK_SIDE)
        line = self.line_reader
        reading = read_number(scaled, self.classify, line=line.log_probs if line is not None else None)
        fields = self.field_reader
        if fields is None:
            return reading
        from digitreader.vision.document import reread

        return reread(scaled, reading, fields)

    @property
    def field_reader(self) -> Any:
        """The field reader (``vision.field_reader.FieldReader``), loaded on first use; None when off."""
        if self._field is None and self._field_model is not None:
            from digitreader.vision.field_reader import FieldReader, bundled_field_model

            path = bundled_field_model() if self._field_model == "default" else Path(self._field_model)
            self._field = FieldReader(path, self._threads)
        return self._field

    @property
    def line_model_path(self) -> Path | None:
        """The line reader's .onnx file, or None when reading without it."""
        if self._line_model is None:
            return None
        from digitreader.vision.line_reader import bundled_line_model

        return bundled_line_model() if self._line_model == "default" else Path(self._line_model)

    @property
    def line_reader(self) -> Any:
        """The CTC line reader (``vision.line_reader.LineReader``), loaded on first use; None when off."""
        if self._line is None and self._line_model is not None:
            from digitreader.vision.line_reader import LineReader

            self._line = LineReader(self.line_model_path, self._threads)
        return self._line
