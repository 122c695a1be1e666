"""The model zoo: ``create_model(name)``, ``list_models()`` (torch is imported on first use)."""

from digitreader.models.registry import ModelSpec, count_params, create_model, list_models

__all__ = ["ModelSpec", "count_params", "create_model", "list_models"]
