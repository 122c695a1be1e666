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
from digitreader.runtime import named_beside, open_session

__all__ = ["Digit", "Prediction", "Reading", "Recognizer", "open_session"]

ImageInput = Any  # path, bytes, PIL image or numpy array; see vision.io.load_image
REJECT_OUTPUT = "reject_logits"  # a packed model's "not a digit" network (training.pack)
GATE_OUTPUT = "gate_logit"  # a packed model's gate: the log-odds that the input is a digit (training.gate)
WIDE = 1.0  # ink wider than tall by this much may be several digits: ``predict`` asks ``read`` (no digit is, in
# 3,000 MNIST test and 2,334 real-dev cvl digits; 14 of 61 such generated non-digits, dev seed, are read as several)


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
    names = sorted(p.stem for p in bundled_models_dir().glob("*.onnx") if p.with_suffix(".json").is_file())  # models
    raise ModelError(f"unknown model {str(model)!r}: give a path to an .onnx file or one of {names}")


def _mean_log_probs(a: np.ndarray, b: np.ndarray, weight: float) -> np.ndarray:
    """Log-probabilities (as logits) of two classifiers' answers, ``b``'s with ``weight``: (1 - w) a + w b."""
    return (1 - weight) * _log_softmax(a) + weight * _log_softmax(b)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    return z - _logsumexp(z)


def _logsumexp(z: np.ndarray) -> np.ndarray:
    """log(sum(exp(z))) over each row, [N, K] -> [N, 1], without overflow."""
    top = z.max(axis=1, keepdims=True)
    return top + np.log(np.exp(z - top).sum(axis=1, keepdims=True))


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
        # "Not a digit": an image whose score (``scores``) is below the card's threshold (training.reject).
        reject = self.card.get("reject", {})
        self.reject_below = float(reject.get("below", reject.get("energy_below", float("-inf"))))
        self.tiny_reject_below = float(reject.get("tiny_below", self.reject_below))  # for the tiny-image path
        self.fuse: dict[str, float] = dict(reject.get("fuse", {}))
        scorer = self.card.get("reject_model", self.card)  # a packed reject network's card, else the model's own
        self.score_temperature = float(reject.get("temperature", scorer.get("calibration", {}).get("temperature", 1.0)))
        self._input = self.session.get_inputs()[0].name
        # A packed model (training.pack) has networks beside the digit model that score "not a digit".
        outputs = [o.name for o in self.session.get_outputs()]
        self._logits_output = outputs[0]
        self._score_outputs = [REJECT_OUTPUT if REJECT_OUTPUT in outputs else outputs[0]]
        self._score_outputs += [GATE_OUTPUT] if GATE_OUTPUT in outputs else []
        # The packed "not a digit" network is a digit classifier too, trained on other writers' styles: ``predict``
        # takes its log-probabilities into the digit's with this weight (the card's ``reject_vote``; 0: not at all).
        self.reject_vote = float(self.card.get("reject_vote", {}).get("weight", 0.0))
        # Tiny images (vision.small) up to ``max_side`` pixels are classified by a model trained on tiny scans.
        tiny = self.card.get("tiny_images", {})
        tiny_path = named_beside(self.path, tiny)
        self.tiny_max_side = int(tiny.get("max_side", 0)) if tiny_path is not None else 0
        self._tiny_path = tiny_path
        self._sessions: dict[Path, Any] = {}  # the files beside the model, each opened on first use (``_opened``)
        # A packed model's digit network alone (training.pack.logits_only), for ``logits``: ONNX Runtime would run
        # the "not a digit" networks too, and ``read`` classifies some hundred candidate pieces a line.
        self._alone_path = named_beside(self.path, self.card.get("logits_model"))
        # ... and its "not a digit" networks alone (training.pack.scores_card), for the tiny-image path.
        self._scores_path = named_beside(self.path, self.card.get("scores_model"))
        if set(self.fuse) - {"bias", "energy"} - ({"gate"} if GATE_OUTPUT in outputs else set()):
            raise ModelError(f"{self.path.with_suffix('.json')} fuses scores that {self.path.name} does not give")

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
        session = self._opened(self._alone_path) or self.session
        return session.run([self._logits_output], {self._input: np.ascontiguousarray(x)})[0]

    def scores(self, batch: np.ndarray) -> np.ndarray:
        """How much like a digit each MNIST-style input [N,28,28] in [0,1] is (``fused``): below the
        card's threshold, ``predict`` answers "not a digit"."""
        return self.fused(self.score_features(batch))

    def score_features(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """The scores ``fused`` combines, each [N]: ``energy`` and, with a gate packed, ``gate``."""
        x = np.ascontiguousarray(np.asarray(batch, dtype=np.float32).reshape(-1, 1, 28, 28))
        return self._features(self.session.run(self._score_outputs, {self._input: x}))

    def classify(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities [N,10] for MNIST-style inputs [N,28,28] in [0,1]."""
        return softmax(self.logits(batch).astype(np.float64))

    def predict_array(self, array: np.ndarray, reject: bool = True, tiny_side: int | None = None) -> Prediction:
        """Classify one MNIST-style 28x28 array in [0,1] (white ink on black).

        ``tiny_side``: the longest side of the tiny image it was prepared from (``vision.preprocess.locate``);
        up to the card's ``tiny_images.max_side``, the model of tiny images gives the digit's probabilities.

        With the line reader on, its reading of the same digit is a second opinion
        (``vision.line_reader.second_opinion``): the probabilities are the two models' combined.
        Raises ``NotADigitError`` when the input scores below the card's "not a digit" threshold
        (``scores``), unless ``reject`` is False.
        """
        x = np.ascontiguousarray(np.asarray(array, np.float32).reshape(1, 1, 28, 28))
        scored = reject and self.reject_below > -np.inf
        tiny = tiny_side is not None and tiny_side <= self.tiny_max_side
        session = self.session
        if tiny:  # the model of tiny images gives the digit: only the scores are wanted of the packed networks
            names = list(self._score_outputs) if scored else []
            session = self._opened(self._scores_path) or session
        else:
            voted = [REJECT_OUTPUT] if self.reject_vote and REJECT_OUTPUT in self._score_outputs else []
            names = list(dict.fromkeys([self._logits_output, *(self._score_outputs if scored else []), *voted]))
        outs = dict(zip(names, session.run(names, {self._input: x}), strict=True)) if names else {}
        if tiny:
            logits, below = self.tiny_logits(x), self.tiny_reject_below
        else:
            logits, below = outs[self._logits_output], self.reject_below
            if self.reject_vote and REJECT_OUTPUT in outs:
                logits = _mean_log_probs(logits, outs[REJECT_OUTPUT], self.reject_vote)
        probs = softmax(logits.astype(np.float64))[0]
        if scored and float(self.fused(self._features([outs[n] for n in self._score_outputs]))[0]) < below:
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

    def tiny_logits(self, batch: np.ndarray) -> np.ndarray:
        """Logits [N,10] of the model of tiny images (opened on first use) for MNIST-style inputs [N,28,28]
        or [N,1,28,28]."""
        if self._tiny_path is None:
            raise ModelError(f"{self.path.with_suffix('.json')} names no model of tiny images")
        x = np.ascontiguousarray(np.asarray(batch, np.float32).reshape(-1, 1, 28, 28))
        return self._opened(self._tiny_path).run(["logits"], {"image": x})[0]

    def _opened(self, path: Path | None) -> Any:
        """The ONNX Runtime session of a model file beside the model, opened on first use; None for no file."""
        if path is None:
            return None
        if path not in self._sessions:
            self._sessions[path] = open_session(path, self._threads)
        return self._sessions[path]

    def _features(self, outputs: list[np.ndarray]) -> dict[str, np.ndarray]:
        """``score_features`` from the score outputs' values (in ``_score_outputs``' order).

        ``energy``: the free energy ``logsumexp`` of the (reject network's) logits times the
        temperature. A model trained with non-digits towards no answer (``train --non-digits``)
        keeps all its logits low for them, and a low energy says so better than a low top
        probability does (an ambiguous digit has a low top probability too, but a high energy).
        ``gate``: the gate's log-odds that the input is a digit (``training.gate``).
        """
        z = np.asarray(outputs[0], np.float64) * self.score_temperature
        found = {"energy": _logsumexp(z)[:, 0]}
        if len(outputs) > 1:
            found["gate"] = np.asarray(outputs[1], np.float64)[:, 0]
        return found

    def fused(self, features: dict[str, np.ndarray]) -> np.ndarray:
        """One score from ``score_features``: the card's ``reject.fuse`` (a logistic regression fitted
        by ``training.reject`` on held-out data: bias + a weight per score), else the energy alone."""
        if not self.fuse:
            return features["energy"]
        return self.fuse.get("bias", 0.0) + sum(w * features[k] for k, w in self.fuse.items() if k != "bias")

    def predict(self, image: ImageInput) -> Prediction:
        """The single digit in an image (a photo, a drawing, or a 28x28 MNIST-style array).

        Raises ``ImageError`` for unreadable input, ``NoDigitError`` for a blank image and
        ``NotADigitError`` (a ``NoDigitError``) for a mark that is no digit, or for several digits
        (its message then says so and points to ``read``): ink wider than tall is read as a number
        first, and two sure digits in it make it several, whatever the digit model says.
        """
        from digitreader.vision.preprocess import locate

        return self.predict_located(image, locate(image))

    def predict_located(self, image: ImageInput, located: Any) -> Prediction:
        """``predict`` of ``image``, given what ``vision.preprocess.locate`` found in it (``Located``)."""
        try:
            prediction = self.predict_array(located.array, tiny_side=located.tiny_side)
        except NotADigitError as exc:
            raise self.explain(image, exc) from None
        _, _, w, h = located.box
        several = self._several_digits(image) if w > WIDE * h else None
        if several is not None:
            raise NotADigitError(f"several digits ({several}): use read for numbers", several=several)
        return prediction

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
