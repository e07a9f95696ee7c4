"""Inference engines: the same (logits, pooled features, class maps) from torch or ONNX Runtime.

On CPU, ONNX Runtime runs GoogLeNet several times faster than eager torch. The ONNX model is
exported from the loaded checkpoint on first use, verified against torch on a fixed input, and
cached by the checkpoint's sha256 — so there is never a second artefact to keep in sync by hand.
Torch stays the engine for CUDA/MPS, training and pytorch-grad-cam.
"""
from __future__ import annotations

import io
import logging
import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from .network import ScalpNet, ScalpNetWithMaps

log = logging.getLogger(__name__)
Outputs = tuple[np.ndarray, np.ndarray, np.ndarray]
VERIFY_TOLERANCE = 1e-4  # on softmax probabilities


class Engine(Protocol):
    name: str

    def run(self, batch: np.ndarray) -> Outputs: ...


class TorchEngine:
    """Eager torch; channels-last memory on CPU is ~2x faster for GoogLeNet's convolutions."""

    def __init__(self, model: ScalpNet, device: torch.device) -> None:
        self.device = device
        self.name = f"torch-{device.type}"
        self.module = ScalpNetWithMaps(model).eval()
        self.memory_format = torch.channels_last if device.type == "cpu" else torch.contiguous_format
        self.module.to(memory_format=self.memory_format)

    def run(self, batch: np.ndarray) -> Outputs:
        x = torch.from_numpy(batch).to(self.device).contiguous(memory_format=self.memory_format)
        with torch.inference_mode():
            logits, pooled, maps = self.module(x)
        return logits.float().cpu().numpy(), pooled.float().cpu().numpy(), maps.float().cpu().numpy()


def default_cache_dir() -> Path:
    base = os.environ.get("SCALPSCOPE_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "scalpscope")
    return Path(base) / "onnx"


def export_onnx(model: ScalpNet, *, with_maps: bool = True) -> bytes:
    """Export the one-pass module (logits, pooled, maps) with a dynamic batch axis.

    ``with_maps=False`` exports the plain classifier (logits only): the benchmark's map-free baseline.
    """
    module = (ScalpNetWithMaps(model) if with_maps else model).eval().cpu()
    example = torch.zeros(1, 3, 224, 224)
    buf = io.BytesIO()
    names = ["logits", "pooled", "maps"] if with_maps else ["logits"]
    with torch.no_grad():
        torch.onnx.export(
            module, (example,), buf, dynamo=False, opset_version=17, input_names=["input"], output_names=names,
            dynamic_axes={"input": {0: "batch"}, **{n: {0: "batch"} for n in names}},
        )
    return buf.getvalue()


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class OnnxEngine:
    """ONNX Runtime on CPU, one session shared by all threads (``InferenceSession.run`` is thread-safe)."""

    name = "onnxruntime-cpu"

    def __init__(self, model_bytes: bytes, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])

    def run(self, batch: np.ndarray) -> Outputs:
        logits, pooled, maps = self.session.run(None, {"input": np.ascontiguousarray(batch, dtype=np.float32)})
        return logits, pooled, maps

    @classmethod
    def for_checkpoint(cls, model: ScalpNet, sha256: str, cache_dir: Path | None = None) -> "OnnxEngine":
        """Load the cached export for this checkpoint, or export, verify and cache it."""
        cache = (cache_dir or default_cache_dir()) / f"{sha256}.onnx"
        data = None
        if cache.is_file():
            data = cache.read_bytes()
        else:
            data = export_onnx(model)
        engine = cls(data)
        verify_against_torch(engine, model)
        if not cache.is_file():
            try:
                cache.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
                tmp.write_bytes(data)
                tmp.replace(cache)
            except OSError as exc:  # a read-only home must not stop inference
                log.warning("could not cache the ONNX export in %s: %s", cache.parent, exc)
        return engine


def verify_against_torch(engine: Engine, model: ScalpNet, batch: int = 2) -> float:
    """Max difference of probabilities between the engine and torch on a fixed random input."""
    rng = np.random.default_rng(1234)
    x = rng.standard_normal((batch, 3, 224, 224)).astype(np.float32)
    with torch.inference_mode():
        ref = model.cpu()(torch.from_numpy(x)).numpy()
    got = engine.run(x)[0]
    diff = float(np.abs(_softmax(got) - _softmax(ref)).max())
    if not np.isfinite(diff) or diff > VERIFY_TOLERANCE:
        raise RuntimeError(f"{engine.name} disagrees with torch by {diff:.2e} (> {VERIFY_TOLERANCE}); "
                           "delete the ONNX cache or set SCALPSCOPE_BACKEND=torch")
    return diff


def select_engine(model: ScalpNet, sha256: str, device: torch.device, backend: str = "auto") -> Engine:
    """ONNX Runtime for CPU inference when available; torch otherwise or when asked."""
    backend = backend.lower()
    if backend not in ("auto", "torch", "onnx"):
        raise ValueError(f"SCALPSCOPE_BACKEND={backend!r}: use auto, torch or onnx")
    if backend == "torch" or device.type != "cpu":
        if backend == "onnx":
            raise ValueError("SCALPSCOPE_BACKEND=onnx runs on the CPU only; set SCALPSCOPE_DEVICE=cpu")
        return TorchEngine(model, device)
    try:
        return OnnxEngine.for_checkpoint(model, sha256)
    except ImportError:
        if backend == "onnx":
            raise
        log.info("onnxruntime not installed; using torch on CPU")
        return TorchEngine(model, device)
