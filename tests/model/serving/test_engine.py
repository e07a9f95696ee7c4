"""The fast ONNX Runtime path gives what torch gives, and is exported and cached automatically."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scalp_model.serving.engine import EXPORT_VERSION, OnnxEngine, TorchEngine, select_engine
from scalp_model.serving.network import ScalpNet
from scalp_model.serving.predictor import Predictor
from tests.conftest import REPO_ROOT
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


def test_export_cached_by_checkpoint_hash_and_served_without_the_network(tmp_path: Path) -> None:
    net = lively_scalpnet(5)
    OnnxEngine.for_checkpoint(net, "f" * 64, cache_dir=tmp_path)
    cached = tmp_path / f"{'f' * 64}-v{EXPORT_VERSION}.onnx"
    assert cached.is_file() and cached.stat().st_size > 1_000_000
    mtime = cached.stat().st_mtime_ns

    def never_built() -> ScalpNet:
        raise AssertionError("a verified cache must not need the network")

    engine = OnnxEngine.for_checkpoint(never_built, "f" * 64, cache_dir=tmp_path)
    assert cached.stat().st_mtime_ns == mtime
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    with torch.inference_mode():
        np.testing.assert_allclose(engine.run(x)[0], net(torch.from_numpy(x)).numpy(), atol=1e-4)


def test_cache_changed_after_verification_is_rebuilt(tmp_path: Path) -> None:
    """Bytes that differ from what was verified (a bad disk, a hand edit, another version's file without its
    mark) are never served: the export is rebuilt from the network and verified again."""
    net = lively_scalpnet(1)
    OnnxEngine.for_checkpoint(net, "a" * 64, cache_dir=tmp_path)
    cached = tmp_path / f"{'a' * 64}-v{EXPORT_VERSION}.onnx"
    other = tmp_path / "other"
    OnnxEngine.for_checkpoint(lively_scalpnet(2), "a" * 64, cache_dir=other)
    cached.write_bytes((other / cached.name).read_bytes())  # other weights under this checkpoint's name
    built = []
    engine = OnnxEngine.for_checkpoint(lambda: built.append(1) or net, "a" * 64, cache_dir=tmp_path)
    assert built  # rebuilt from the network
    x = np.random.default_rng(1).standard_normal((1, 3, 224, 224)).astype(np.float32)
    with torch.inference_mode():
        np.testing.assert_allclose(engine.run(x)[0], net(torch.from_numpy(x)).numpy(), atol=1e-4)
    assert OnnxEngine.for_checkpoint(lambda: pytest.fail("rebuilt twice"), "a" * 64, cache_dir=tmp_path)


def test_served_from_cache_without_torchvision(tmp_path: Path, tiny_checkpoint: Path) -> None:
    """The app's process: a second Predictor on the same checkpoint needs neither torchvision nor the network."""
    code = ("import sys; from scalp_model.serving.predictor import Predictor; from PIL import Image; "
            "p = Predictor.from_path(sys.argv[1], device='cpu', precision='fp32'); "
            "print(p.predict(Image.new('RGB', (300, 200), (180, 120, 100))).p_psoriasis, "
            "'torchvision' in sys.modules)")
    env = {**os.environ, "SCALPSCOPE_CACHE_DIR": str(tmp_path)}
    weights = str(tiny_checkpoint)
    first = subprocess.run([sys.executable, "-c", code, weights], capture_output=True, text=True, env=env,
                           cwd=REPO_ROOT, timeout=300, check=True).stdout.split()
    second = subprocess.run([sys.executable, "-c", code, weights], capture_output=True, text=True, env=env,
                            cwd=REPO_ROOT, timeout=300, check=True).stdout.split()
    assert first[1] == "True"  # the first process built, exported and verified the network
    assert second == [first[0], "False"]  # the second served the verified export: same answer, no torchvision


def test_backend_choice() -> None:
    net = lively_scalpnet()
    assert isinstance(select_engine(net, "b" * 64, torch.device("cpu"), "torch"), TorchEngine)
    with pytest.raises(ValueError, match="SCALPSCOPE_BACKEND"):
        select_engine(net, "b" * 64, torch.device("cpu"), "tensorrt")
