"""Inference engines: the same (logits, pooled features, class maps) from torch or ONNX Runtime.

On CPU, ONNX Runtime runs GoogLeNet several times faster than eager torch. The ONNX model is
exported from the loaded checkpoint on first use, verified against torch on a fixed input, and
cached by the checkpoint's sha256 — so there is never a second artefact to keep in sync by hand.
Torch stays the engine for CUDA/MPS, training and pytorch-grad-cam.

A cached export is written only after it passed verification, next to the sha256 of its own bytes
(``*.onnx.sha256``). A later process that finds both matching serves it without building the torch
network at all, so it never imports torchvision (which pulls in torch._dynamo: ~160 MB and ~2 s); a file
changed since, or one without its mark, is rebuilt and verified again. ``EXPORT_VERSION`` is part of the
name: bump it whenever the exported graph or the int8 recipe changes.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, Union

import numpy as np
import torch

from .. import settings
from .architectures import architecture_of
from .network import ScalpNet, ScalpNetWithMaps

log = logging.getLogger(__name__)
Outputs = tuple[np.ndarray, np.ndarray, np.ndarray]
VERIFY_TOLERANCE = 1e-4  # on softmax probabilities
EXPORT_VERSION = 2
# The network, or a function that builds it: engines served from a verified cache never call it.
ModelSource = Union[ScalpNet, Callable[[], ScalpNet]]


def _network(model: ModelSource) -> ScalpNet:
    return model if isinstance(model, torch.nn.Module) else model()


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
    """``onnx/`` in ``SCALPSCOPE_CACHE_DIR`` (see :mod:`scalp_model.settings`)."""
    return settings.cache_dir() / "onnx"


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

    def __init__(self, model_bytes: bytes, threads: int | None = None, name: str = "onnxruntime-cpu") -> None:
        import onnxruntime as ort

        self.name = name
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        # Idle workers sleep instead of spinning: costs ~0.4 ms a call here, but a spinning pool starves
        # the decoding, the web server and any second session sharing a 2-core machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])

    def run(self, batch: np.ndarray) -> Outputs:
        logits, pooled, maps = self.session.run(None, {"input": np.ascontiguousarray(batch, dtype=np.float32)})
        return logits, pooled, maps

    @classmethod
    def for_checkpoint(cls, model: ModelSource, sha256: str, cache_dir: Path | None = None) -> "OnnxEngine":
        """The fp32 export of this checkpoint from the verified cache, or exported, verified and cached."""
        cache = (cache_dir or default_cache_dir()) / f"{sha256}-v{EXPORT_VERSION}.onnx"
        data = _verified_cache(cache)
        if data is not None:
            return cls(data)
        net = _network(model)
        data = export_onnx(net)
        engine = cls(data)
        verify_against_torch(engine, net)
        _store(cache, data)
        return engine

    @classmethod
    def int8_for_checkpoint(cls, model: ModelSource, sha256: str, ranges: dict[str, list[float]],
                            cache_dir: Path | None = None) -> "OnnxEngine":
        """The int8 model rebuilt from the checkpoint's recorded activation ranges (cached, verified)."""
        from .int8 import prepared_fp32, quantized_model

        cache = (cache_dir or default_cache_dir()) / f"{sha256}-v{EXPORT_VERSION}-int8.onnx"
        data = _verified_cache(cache)
        if data is not None:
            return cls(data, name="onnxruntime-cpu-int8")
        net = _network(model)
        data = quantized_model(prepared_fp32(export_onnx(net)), ranges, architecture_of(net).head_nodes)
        engine = cls(data, name="onnxruntime-cpu-int8")
        verify_int8(engine, net)
        _store(cache, data)
        return engine


def _mark(cache: Path) -> Path:
    return cache.with_name(cache.name + ".sha256")


def _verified_cache(cache: Path) -> bytes | None:
    """The cached bytes if they are exactly what was verified and stored, else None."""
    try:
        data, mark = cache.read_bytes(), _mark(cache).read_text().strip()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != mark:
        log.warning("%s changed since it was verified; rebuilding it", cache.name)
        return None
    return data


def _store(cache: Path, data: bytes) -> None:
    """Write a verified export and then its mark, each atomically; a read-only home must not stop inference.

    A reader between the two writes finds bytes and mark disagreeing and rebuilds: never a wrong model.
    """
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        for path, content in ((cache, data), (_mark(cache), hashlib.sha256(data).hexdigest().encode())):
            tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(content)
            tmp.replace(path)
    except OSError as exc:
        log.warning("could not cache the ONNX export in %s: %s", cache.parent, exc)


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


def verify_int8(engine: Engine, model: ScalpNet) -> float:
    """Max probability difference from fp32 torch on generated skin-like photos.

    Quantisation ranges only fit photo-like inputs, so random noise would be the wrong probe. This
    catches a broken build; the accuracy figures are the held-out ones recorded by ``quantize``.
    """
    from .int8 import VERIFY_TOLERANCE
    from .probe_images import skin_photo

    arch = architecture_of(model)
    x = np.stack([_photo_input(skin_photo(320, 240, seed), arch.mean, arch.std) for seed in range(4)])
    with torch.inference_mode():
        ref = model.cpu()(torch.from_numpy(x)).numpy()
    diff = float(np.abs(_softmax(engine.run(x)[0]) - _softmax(ref)).max())
    if not np.isfinite(diff) or diff > VERIFY_TOLERANCE:
        raise RuntimeError(f"{engine.name} disagrees with fp32 torch by {diff:.3f} (> {VERIFY_TOLERANCE}) "
                           "on generated photos")
    return diff


def _photo_input(image, mean: tuple[float, float, float], std: tuple[float, float, float]) -> np.ndarray:  # noqa: ANN001 - PIL image
    from .preprocess import model_input

    return model_input(image, 224, mean, std)


def select_engine(model: ModelSource, sha256: str, device: torch.device, backend: str = "auto",
                  precision: str = "auto", quantization: dict | None = None) -> Engine:
    """The engine that serves this checkpoint: ONNX Runtime on CPU when installed (int8 where the checkpoint
    allows), torch on CUDA/MPS or when asked.

    ``model``: the network, or a function that builds it (not called when a verified cached export exists);
    ``sha256``: the checkpoint file's, naming the cache entries; ``backend``: ``auto``, ``torch`` or ``onnx``;
    ``precision``: ``fp32``; ``int8`` (needs the checkpoint's calibration, CPU and ONNX Runtime); or
    ``auto``: int8 when ``quantization`` (the checkpoint's ``ModelMeta.quantization``) records a held-out AUC
    change within tolerance, else fp32. Every engine's ``run`` takes an (n, 3, 224, 224) float32 batch and
    returns logits (n, classes), pooled features (n, d) and class maps (n, classes, 7, 7), all float32, where d
    is the architecture's feature width (1024 for GoogLeNet, 1280 for EfficientNet-Lite0).

    The first call for a checkpoint exports, verifies against torch (probabilities within 1e-4 for fp32) and
    caches the ONNX model (seconds); later processes load the cache (ONNX Runtime static quantisation for
    int8: QDQ, uint8 activations, int8 weights). Raises ``ValueError`` for an unknown or impossible
    combination (``onnx`` or ``int8`` off the CPU; ``int8`` without calibration), ``ImportError`` when
    ``onnx``/``int8`` is required without ONNX Runtime, ``RuntimeError`` when a required export fails its
    verification.
    """
    backend, precision = backend.lower(), precision.lower()
    if backend not in ("auto", "torch", "onnx"):
        raise ValueError(f"SCALPSCOPE_BACKEND={backend!r}: use auto, torch or onnx")
    if precision not in ("auto", "fp32", "int8"):
        raise ValueError(f"SCALPSCOPE_PRECISION={precision!r}: use auto, fp32 or int8")
    if backend == "torch" or device.type != "cpu":
        if backend == "onnx":
            raise ValueError("SCALPSCOPE_BACKEND=onnx runs on the CPU only; set SCALPSCOPE_DEVICE=cpu")
        if precision == "int8":
            raise ValueError("SCALPSCOPE_PRECISION=int8 runs in ONNX Runtime on the CPU only")
        return TorchEngine(_network(model), device)
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        if backend == "onnx" or precision == "int8":
            raise
        log.info("onnxruntime not installed; using torch on CPU")
        return TorchEngine(_network(model), device)
    if precision != "fp32":
        engine = _int8_engine(model, sha256, quantization or {}, required=precision == "int8")
        if engine is not None:
            return engine
    return OnnxEngine.for_checkpoint(model, sha256)


def _int8_engine(model: ModelSource, sha256: str, quantization: dict, required: bool) -> Engine | None:
    from .int8 import QuantizationUnavailable, accepted

    ok, why = accepted(quantization)
    if not ok and (not required or not quantization.get("ranges")):
        if required:
            raise ValueError(f"SCALPSCOPE_PRECISION=int8: {why}")
        log.info("fp32 inference: %s", why)
        return None
    if not ok:
        log.warning("SCALPSCOPE_PRECISION=int8 although %s", why)
    try:
        return OnnxEngine.int8_for_checkpoint(model, sha256, quantization["ranges"])
    except (QuantizationUnavailable, RuntimeError) as exc:
        if required:
            raise
        log.warning("int8 inference unavailable, using fp32: %s", exc)
        return None
