"""The fast ONNX Runtime path gives what torch gives, and is exported and cached automatically."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scalp_model.engine import OnnxEngine, TorchEngine, select_engine
from scalp_model.predictor import Predictor
from tests.factories import lively_scalpnet, photo_array

import torch


def test_onnx_equals_torch_on_probabilities_and_maps(tiny_checkpoint: Path) -> None:
    onnx = Predictor.from_path(tiny_checkpoint, device="cpu", backend="onnx")
    eager = Predictor.from_path(tiny_checkpoint, device="cpu", backend="torch")
    assert onnx.engine.name == "onnxruntime-cpu" and eager.engine.name == "torch-cpu"
    images = [Image.fromarray(photo_array(seed=s)) for s in range(3)]
    for a, b in zip(onnx.predict_batch(images), eager.predict_batch(images)):
        assert abs(a.p_psoriasis - b.p_psoriasis) <= 1e-4
        np.testing.assert_allclose(a.cam, b.cam, atol=1e-3)
        assert a.label == b.label


def test_export_cached_by_checkpoint_hash(tmp_path: Path) -> None:
    net = lively_scalpnet(5)
    OnnxEngine.for_checkpoint(net, "f" * 64, cache_dir=tmp_path)
    cached = tmp_path / ("f" * 64 + ".onnx")
    assert cached.is_file() and cached.stat().st_size > 1_000_000
    mtime = cached.stat().st_mtime_ns
    OnnxEngine.for_checkpoint(net, "f" * 64, cache_dir=tmp_path)
    assert cached.stat().st_mtime_ns == mtime


def test_stale_cache_refused(tmp_path: Path) -> None:
    """A cached export from other weights under this hash must not be served silently."""
    OnnxEngine.for_checkpoint(lively_scalpnet(1), "a" * 64, cache_dir=tmp_path)
    with pytest.raises(RuntimeError, match="disagrees with torch"):
        OnnxEngine.for_checkpoint(lively_scalpnet(2), "a" * 64, cache_dir=tmp_path)


def test_backend_choice() -> None:
    net = lively_scalpnet()
    assert isinstance(select_engine(net, "b" * 64, torch.device("cpu"), "torch"), TorchEngine)
    with pytest.raises(ValueError, match="SCALPSCOPE_BACKEND"):
        select_engine(net, "b" * 64, torch.device("cpu"), "tensorrt")
