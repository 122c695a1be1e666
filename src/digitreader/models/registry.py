"""One registry for every architecture: register by name, build by name (as timm does)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_REGISTRY: dict[str, ModelSpec] = {}


@dataclass(frozen=True)
class ModelSpec:
    """A registered architecture: its builder and a one-line description."""

    name: str
    build: Callable[..., Any]
    description: str
    origin: str  # "seed 000/002", "ours", ...


def register(name: str, description: str, origin: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelSpec(name, fn, description, origin)
        return fn

    return wrap


def _load_all() -> None:
    # Importing the modules registers their models; torch is imported only here.
    from digitreader.models import ours, seeds  # noqa: F401


def list_models() -> list[ModelSpec]:
    _load_all()
    return list(_REGISTRY.values())


def create_model(name: str, **kwargs: Any) -> Any:
    """Build a fresh (untrained) torch module by its registered name.

    The module takes images [N, 1, 28, 28] in [0, 1] and returns logits [N, 10];
    input normalisation is its first layer.
    """
    _load_all()
    if name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; choose one of: {', '.join(sorted(_REGISTRY))}")
    from digitreader.models.layers import classifier

    return classifier(_REGISTRY[name].build(**kwargs))


def count_params(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())
