"""Honest evaluation: accuracy, per-class precision/recall/F1, confusion matrix, misclassified digits.

Pure numpy + Pillow, so an ONNX model can be evaluated without torch installed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont


@dataclass
class Evaluation:
    labels: np.ndarray  # [N] true digits
    probs: np.ndarray  # [N, 10]

    @property
    def predicted(self) -> np.ndarray:
        return self.probs.argmax(1)

    @property
    def accuracy(self) -> float:
        return float((self.predicted == self.labels).mean())

    @property
    def errors(self) -> np.ndarray:
        """Indices of misclassified images, most confident mistakes first."""
        wrong = np.flatnonzero(self.predicted != self.labels)
        return wrong[np.argsort(-self.probs[wrong].max(1))]

    def confusion(self) -> np.ndarray:
        """cm[true, predicted] counts."""
        cm = np.zeros((10, 10), np.int64)
        np.add.at(cm, (self.labels, self.predicted), 1)
        return cm

    def per_class(self) -> list[dict[str, float]]:
        cm = self.confusion()
        tp = np.diag(cm).astype(float)
        precision = tp / np.maximum(cm.sum(0), 1)
        recall = tp / np.maximum(cm.sum(1), 1)
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        return [
            {"digit": d, "precision": precision[d], "recall": recall[d], "f1": f1[d], "support": int(cm[d].sum())}
            for d in range(10)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": len(self.labels),
            "accuracy": self.accuracy,
            "errors": len(self.errors),
            "per_class": self.per_class(),
            "confusion": self.confusion().tolist(),
            "misclassified": [
                {
                    "index": int(i),
                    "true": int(self.labels[i]),
                    "predicted": int(self.predicted[i]),
                    "confidence": float(self.probs[i].max()),
                }
                for i in self.errors
            ],
        }


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def confusion_png(cm: np.ndarray, path: Path, title: str = "") -> Path:
    """A 10x10 heat map with counts; the diagonal is green, errors red, by share of the row."""
    cell, margin = 48, 64
    size = margin + 10 * cell + 16
    img = Image.new("RGB", (size, size + 24), "white")
    draw = ImageDraw.Draw(img)
    font, small = _font(15), _font(13)
    draw.text((margin, 4), title or "confusion matrix (rows: true, columns: predicted)", fill="black", font=small)
    rows = np.maximum(cm.sum(1, keepdims=True), 1)
    for t in range(10):
        draw.text((margin - 22, margin + t * cell + 16), str(t), fill="black", font=font)
        draw.text((margin + t * cell + 20, margin - 24), str(t), fill="black", font=font)
        for p in range(10):
            share = cm[t, p] / rows[t, 0]
            if t == p:
                colour = (int(255 - 150 * share), int(255 - 60 * share), int(255 - 150 * share))
            else:
                strength = min(1.0, share * 50)  # 2% of a row is already a strong red
                colour = (255, int(255 - 170 * strength), int(255 - 170 * strength)) if cm[t, p] else (250, 250, 250)
            x0, y0 = margin + p * cell, margin + t * cell
            draw.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=colour, outline=(220, 220, 220))
            if cm[t, p]:
                text = str(cm[t, p])
                w = draw.textlength(text, font=small)
                draw.text((x0 + (cell - w) / 2, y0 + 16), text, fill="black", font=small)
    img.save(path)
    return path


def gallery_png(images: np.ndarray, ev: Evaluation, path: Path, limit: int = 100, cols: int = 10) -> Path:
    """The misclassified digits, most confident mistakes first, captioned 'true -> predicted (conf)'."""
    idx = ev.errors[:limit]
    scale, cap = 3, 18
    tile = 28 * scale
    rows = max(1, -(-len(idx) // cols))
    img = Image.new("RGB", (cols * (tile + 8), rows * (tile + cap + 8)), "white")
    draw, font = ImageDraw.Draw(img), _font(12)
    for k, i in enumerate(idx):
        x0, y0 = (k % cols) * (tile + 8) + 4, (k // cols) * (tile + cap + 8) + 4
        digit = Image.fromarray(255 - images[i]).resize((tile, tile), Image.NEAREST)
        img.paste(digit, (x0, y0))
        caption = f"{ev.labels[i]}→{ev.predicted[i]} {ev.probs[i].max():.0%}"
        draw.text((x0, y0 + tile + 2), caption, fill=(180, 0, 0), font=font)
    if not len(idx):
        draw.text((8, 8), "no misclassified digits", fill="black", font=font)
    img.save(path)
    return path


def write_report(images: np.ndarray, ev: Evaluation, out_dir: Path, model_name: str = "") -> dict[str, Path]:
    """metrics.json, confusion.png and misclassified.png in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {"model": model_name, **ev.to_dict()}
    paths = {
        "metrics": out_dir / "metrics.json",
        "confusion": out_dir / "confusion.png",
        "misclassified": out_dir / "misclassified.png",
    }
    paths["metrics"].write_text(json.dumps(data, indent=2) + "\n")
    confusion_png(
        ev.confusion(),
        paths["confusion"],
        f"{model_name}: {ev.accuracy:.2%} on {len(ev.labels):,} images (rows true, columns predicted)",
    )
    gallery_png(images, ev, paths["misclassified"])
    return paths
