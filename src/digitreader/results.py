"""What reading gives back: a ``Prediction`` (one digit), a ``Reading`` (a number) of ``Digit``s.

A low module that imports nothing of the project, so the engine, the vision code, the
server and the video loop all share these types without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Prediction:
    """One digit: the class, its probability, and all ten probabilities."""

    digit: int
    confidence: float
    probabilities: list[float]
    input: np.ndarray | None = field(default=None, repr=False, compare=False)  # the 28x28 the model saw

    def to_dict(self) -> dict[str, Any]:
        return {"digit": self.digit, "confidence": self.confidence, "probabilities": self.probabilities}


@dataclass(frozen=True)
class Digit:
    """One digit of a number, with its box (x, y, w, h) in the original image's pixels."""

    digit: int
    confidence: float
    box: tuple[int, int, int, int]
    probabilities: list[float] = field(default_factory=list, repr=False)
    input: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"digit": self.digit, "confidence": self.confidence, "box": list(self.box)}


@dataclass(frozen=True)
class Reading:
    """A number read from an image: its text (lines joined by newlines) and its digits."""

    text: str
    digits: list[Digit]

    @property
    def confidence(self) -> float:
        """Probability that every digit is right (the product of the digits' confidences)."""
        return float(np.prod([d.confidence for d in self.digits])) if self.digits else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "confidence": self.confidence, "digits": [d.to_dict() for d in self.digits]}
