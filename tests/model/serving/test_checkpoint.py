"""Checkpoint round trip and every way a weights file can be wrong."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from scalp_model.serving.checkpoint import ModelMeta, card_path, file_sha256, load_checkpoint, save_checkpoint
from scalp_model.errors import WeightsCorruptError, WeightsMismatchError, WeightsMissingError
from tests.factories import lively_scalpnet, make_checkpoint


def test_round_trip_keeps_weights_and_meta(tmp_path: Path) -> None:
    net = lively_scalpnet(3)
    meta = ModelMeta(version="rt-1", threshold=0.37, temperature=1.7, metrics={"auc": 0.9}, training={"epochs": 2})
    sha = save_checkpoint(tmp_path / "m.pt", net, meta)
    ckpt = load_checkpoint(tmp_path / "m.pt")
    assert ckpt.sha256 == sha == file_sha256(tmp_path / "m.pt")
    assert ckpt.meta == meta
    x = torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        assert torch.allclose(ckpt.model(x), net(x), atol=1e-5)


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(WeightsMissingError, match="SCALPSCOPE_WEIGHTS"):
        load_checkpoint(tmp_path / "nope.pt")


def test_truncated_file(tmp_path: Path) -> None:
    path = make_checkpoint(tmp_path / "m.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(WeightsCorruptError, match="truncated"):
        load_checkpoint(path)


def test_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "m.pt"
    path.write_text("definitely not weights")
    with pytest.raises(WeightsCorruptError):
        load_checkpoint(path)


def test_tampered_file_detected_by_card(tmp_path: Path) -> None:
    path = make_checkpoint(tmp_path / "m.pt")
    card_path(path).write_text(f"# card\n\nsha256: `{file_sha256(path)}`\n")
    load_checkpoint(path)  # matches
    ckpt = load_checkpoint(path)
    with torch.no_grad():
        ckpt.model.backbone.fc.bias.add_(1.0)
    save_checkpoint(path, ckpt.model, ckpt.meta)
    with pytest.raises(WeightsCorruptError, match="does not match its model card"):
        load_checkpoint(path)


def test_other_architecture_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.pt"
    save_checkpoint(path, lively_scalpnet(), ModelMeta(architecture="resnet18"))
    with pytest.raises(WeightsMismatchError, match="googlenet"):
        load_checkpoint(path)


def test_wrong_tensor_shapes_refused(tmp_path: Path) -> None:
    path = make_checkpoint(tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["fc.weight"] = torch.zeros(5, 1024)
    torch.save(payload, path)
    with pytest.raises(WeightsMismatchError):
        load_checkpoint(path)


def test_pickled_code_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    torch.save({"format": "scalpscope-checkpoint/1", "meta": {}, "state_dict": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(WeightsCorruptError):
        load_checkpoint(tmp_path / "evil.pt")
    assert not marker.exists()
