"""Building the network from ImageNet weights, a local file or scratch; aux heads never leak out."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.models import GoogLeNet_Weights, googlenet

from scalp_model.serving.network import ScalpNet, build_scalpnet, unwrap_logits


def _imagenet_like_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return googlenet(weights=None, aux_logits=True, init_weights=True).state_dict()


def test_imagenet_path_uses_torchvision_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline stand-in for the download: the real code path, with torchvision's loader patched."""
    state = _imagenet_like_state()
    monkeypatch.setattr(type(GoogLeNet_Weights.IMAGENET1K_V1), "get_state_dict",
                        lambda self, *a, **k: state)
    net, transform_input = build_scalpnet(init="imagenet")
    assert transform_input is True
    assert net.backbone.aux1 is None and net.backbone.aux2 is None
    assert net.backbone.fc.out_features == 2
    assert torch.equal(net.backbone.conv1.conv.weight, state["conv1.conv.weight"])


def test_local_pth_loads_trunk_and_keeps_new_head(tmp_path: Path) -> None:
    state = _imagenet_like_state()
    torch.save(state, tmp_path / "googlenet.pth")
    net, transform_input = build_scalpnet(init=str(tmp_path / "googlenet.pth"))
    assert transform_input is True
    assert torch.equal(net.backbone.inception5b.branch1.conv.weight, state["inception5b.branch1.conv.weight"])
    assert net.backbone.fc.weight.shape == (2, 1024)


def test_bad_init_values(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="imagenet"):
        build_scalpnet(init=str(tmp_path / "missing.pth"))
    torch.save({"x": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="GoogLeNet"):
        build_scalpnet(init=str(tmp_path / "other.pth"))


def test_training_mode_outputs_are_plain_logits() -> None:
    net, _ = build_scalpnet(init="scratch")
    assert isinstance(net, ScalpNet)
    net.train()
    out = net(torch.randn(2, 3, 224, 224))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 2)
    assert unwrap_logits((out, None, None)) is out
