"""Load an exported ONNX file's weights back into its PyTorch network, to fine-tune it.

The exporter folds each batch norm that directly follows a convolution into it (a new weight
and bias, named ``onnx::Conv_*``). Such a norm is loaded as the identity carrying the folded
bias, so the network computes exactly what the ONNX file does in eval mode; fine-tuning keeps
the norms in eval mode (``train_mode``), as batch statistics would undo the folding.
"""

from __future__ import annotations

from pathlib import Path

import onnx
import torch
from onnx import numpy_helper
from torch import nn

NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def load_onnx_weights(model: nn.Module, path: str | Path, prefix: str = "") -> None:
    """Set ``model``'s weights from the ONNX file at ``path``; ``prefix`` is stripped from its names.

    Raises ValueError when the file does not hold this network's weights.
    """
    path = Path(path)
    weights = {}
    for t in onnx.load(path).graph.initializer:
        weights[t.name.removeprefix(prefix)] = torch.from_numpy(numpy_helper.to_array(t).copy())
    state = model.state_dict()
    folded = [w for name, w in weights.items() if name.startswith("onnx::")]  # [weight, bias] per conv, in order
    convs = [n for n in state if n.endswith(".weight") and state[n].dim() >= 3 and n not in weights]
    if len(folded) != 2 * len(convs):
        raise ValueError(f"{path} does not hold this network's weights")
    new = {name: w for name, w in weights.items() if name in state}
    for k, name in enumerate(convs):
        parent, index, _ = name.rsplit(".", 2)
        norm = f"{parent}.{int(index) + 1}"
        module = model.get_submodule(norm)
        if not isinstance(module, NORMS):
            raise ValueError(f"{path} does not hold this network's weights ({name} is not followed by a norm)")
        weight, bias = folded[2 * k], folded[2 * k + 1]
        new[name] = weight
        new[norm + ".weight"], new[norm + ".bias"] = torch.ones_like(bias), bias
        new[norm + ".running_mean"] = torch.zeros_like(bias)
        new[norm + ".running_var"] = torch.full_like(bias, 1 - module.eps)
    wanted = [n for n in state if not n.endswith("num_batches_tracked")]
    wrong = [n for n in wanted if n not in new or new[n].shape != state[n].shape]
    if wrong:
        raise ValueError(f"{path} does not hold this network's weights ({', '.join(wrong)})")
    model.load_state_dict(new, strict=False)


def train_mode(model: nn.Module, frozen_norms: bool) -> None:
    """Training mode; with ``frozen_norms`` the batch norms keep the statistics they were trained with."""
    model.train()
    if frozen_norms:
        for m in model.modules():
            if isinstance(m, NORMS):
                m.eval()
