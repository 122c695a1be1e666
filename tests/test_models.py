"""The model zoo: every architecture builds by name and maps [N,1,28,28] to [N,10]."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="model zoo tests need the [train] extra (PyTorch)")

from digitreader.models import count_params, create_model, list_models  # noqa: E402

SEED_PARAMS = {"mlp": 784 * 300 + 300 + 300 * 50 + 50 + 50 * 10 + 10}


def test_registry_lists_seed_and_own_models() -> None:
    names = {spec.name for spec in list_models()}
    assert {"mlp", "lenet5", "cnn2", "cnn3", "swift", "sharp"} <= names
    assert all(spec.description and spec.origin for spec in list_models())


@pytest.mark.parametrize("name", [spec.name for spec in list_models()])
def test_forward_shape_and_batch_independence(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name).eval()
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        batch = model(x)
        single = model(x[1:2])
    assert batch.shape == (3, 10)
    assert torch.allclose(batch[1:2], single, atol=1e-5)


def test_seed_models_match_their_tutorials() -> None:
    assert count_params(create_model("mlp")) == SEED_PARAMS["mlp"]
    lenet = create_model("lenet5")
    convs = [m for m in lenet.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [6, 16, 120]  # C1, C3, C5


def test_unknown_model_names_the_choices() -> None:
    with pytest.raises(KeyError, match=r"choose one of: .*lenet5"):
        create_model("resnet9000")
