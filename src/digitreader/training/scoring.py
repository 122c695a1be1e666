"""Class probabilities of any model on MNIST-style images: ONNX through ONNX Runtime, .pt through PyTorch."""

from __future__ import annotations

import numpy as np


def model_probs(model: str, images: np.ndarray) -> np.ndarray:
    """Probabilities [N,10] of a bundled/ONNX model or a PyTorch checkpoint on uint8 images [N,28,28]."""
    x = images.astype(np.float32) / 255
    if model.endswith((".pt", ".pth")):
        import torch

        from digitreader.training.train import load_trained, predict_logits

        net = load_trained(model)
        with torch.inference_mode():
            logits = predict_logits(net, torch.from_numpy(x[:, None]))
        return torch.softmax(logits.double(), 1).numpy()
    from digitreader import Recognizer

    rec = Recognizer(model)
    return np.concatenate([rec.classify(x[i : i + 1000]) for i in range(0, len(x), 1000)])
