"""One predictor per process: loads the checkpoint once and serves every user, thread-safely.

``predict`` runs a single forward pass that yields the probability, the Grad-CAM map of the
predicted class (closed form, see :class:`ScalpNetWithMaps`) and the out-of-scope score. Nothing is
stored on the instance per call, so concurrent calls cannot mix their results.
"""
from __future__ import annotations

import copy
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
import time
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np
import torch
from PIL import Image

from .. import settings
from .cam import library_cam, scale_map
from .checkpoint import Checkpoint, ModelMeta, load_checkpoint
from .engine import Engine, select_engine
from ..errors import ScalpScopeError, WeightsMismatchError
from .architectures import get_architecture
from .network import ScalpNet
from .ood import gate_scores
from .prediction import Analysis, Prediction, label_for
from .preprocess import DecodedImage, decode_image, model_input
from .quality import QualityReport, assess_quality

__all__ = ["Analysis", "Prediction", "Predictor", "label_for", "resolve_device"]


def resolve_device(requested: str | None = None) -> torch.device:
    """CUDA, then Apple MPS, then CPU; ``SCALPSCOPE_DEVICE`` (or ``requested``) overrides."""
    choice = (requested or settings.DEVICE.get() or "auto").lower()
    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if choice not in ("cpu", "cuda", "mps") and not choice.startswith("cuda:"):
        raise ValueError(f"SCALPSCOPE_DEVICE={choice!r}: use auto, cpu, cuda or mps")
    return torch.device(choice)


class Predictor:
    """Wraps a loaded checkpoint for inference on the best device."""

    def __init__(self, checkpoint: Checkpoint, device: torch.device | str | None = None,
                 backend: str | None = None, precision: str | None = None) -> None:
        _check_map_layer(checkpoint)  # before an engine is chosen, exported or verified
        self.checkpoint = checkpoint
        self.meta: ModelMeta = checkpoint.meta
        self.sha256 = checkpoint.sha256
        self.device = resolve_device(str(device) if device is not None else None)
        self._model: ScalpNet | None = None
        self._model_lock = threading.Lock()
        self._explain_model: ScalpNet | None = None
        self._copy_lock = threading.Lock()
        # A function, not the network: served from a verified ONNX cache, the network is never built.
        self.engine: Engine = select_engine(lambda: self.model, self.sha256, self.device,
                                            backend or settings.BACKEND.get(), precision or settings.PRECISION.get(),
                                            self.meta.quantization)

    @classmethod
    def from_path(cls, path: Path | str | None = None, device: str | None = None,
                  backend: str | None = None, precision: str | None = None) -> "Predictor":
        return cls(load_checkpoint(path or settings.weights_path(), lazy=True), device=device, backend=backend,
                   precision=precision)

    @property
    def model(self) -> ScalpNet:
        """The torch network on this predictor's device, built on first use (maps of other layers, CUDA)."""
        with self._model_lock:
            if self._model is None:
                self._model = self.checkpoint.model.to(self.device).eval()
            return self._model

    @property
    def version(self) -> str:
        return self.meta.version

    # -- inference -------------------------------------------------------------------------------
    def _inputs(self, images: Sequence[Image.Image]) -> np.ndarray:
        m = self.meta
        return np.stack([model_input(img, m.input_size, m.mean, m.std) for img in images])

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probability of psoriasis (temperature-scaled softmax)."""
        return self.meta.positive_probabilities(logits)

    def predict_batch(self, images: Sequence[Image.Image]) -> list[Prediction]:
        """Predictions for decoded RGB pictures (any size; each squeezed to ``input_size`` squared), in order.

        One engine call for the whole batch, each image giving the same result as :meth:`predict` (within
        1e-5). An empty sequence gives ``[]``. Thread-safe; raises nothing on purpose for a valid ``PIL`` image.
        """
        if not images:
            return []
        t0 = time.perf_counter()
        batch = self._inputs(images)
        return self._predict_inputs(batch, (time.perf_counter() - t0) * 1000 / len(images))

    def _predict_inputs(self, batch: np.ndarray, preprocess_ms: float) -> list[Prediction]:
        """Predictions for a stacked batch of model inputs (one engine call)."""
        t1 = time.perf_counter()
        logits, pooled, maps = self.engine.run(batch)
        t2 = time.perf_counter()
        probs = self.probabilities(logits)
        ood = gate_scores(pooled, self.checkpoint.ood_state) if self.checkpoint.ood_state else None
        results = []
        for i, p in enumerate(probs):
            results.append(self._result(float(p), maps[i], None if ood is None else float(ood[i])))
        t3 = time.perf_counter()
        per = len(batch)
        timings = MappingProxyType({
            "preprocess": preprocess_ms,
            "model": (t2 - t1) * 1000 / per,
            "postprocess": (t3 - t2) * 1000 / per,
        })
        return [_with_timings(r, timings) for r in results]

    def analyze_many(self, blobs: Iterable[bytes | Exception], batch_size: int = 16,
                     workers: int = 2) -> Iterator[Analysis | Exception]:
        """Analyses of many files, in order; an item that fails yields its exception instead.

        Files are decoded and prepared on a small thread pool while the engine runs the batch before
        (Pillow's decoder and ONNX Runtime both release the GIL), so a folder costs less than one
        ``analyze_bytes`` call per file. ``blobs`` may carry exceptions (e.g. unreadable files) through.
        """
        def prepare(data: bytes | Exception) -> tuple[DecodedImage, QualityReport, np.ndarray, float] | Exception:
            if isinstance(data, Exception):
                return data
            try:
                t0 = time.perf_counter()
                decoded = decode_image(data)
                x = self._inputs([decoded.image])[0]
                ms = (time.perf_counter() - t0) * 1000
                return decoded, assess_quality(decoded.image, decoded.original_size), x, ms
            except ScalpScopeError as exc:
                return exc

        def chunks() -> Iterator[list[bytes | Exception]]:
            items = iter(blobs)
            while chunk := list(itertools.islice(items, batch_size)):
                yield chunk

        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="scalpscope-decode") as pool:
            pending = None
            for chunk in chunks():
                submitted = [pool.submit(prepare, d) for d in chunk]
                if pending is not None:
                    yield from self._finish(pending)
                pending = submitted
            if pending is not None:
                yield from self._finish(pending)

    def _finish(self, futures: list) -> Iterator[Analysis | Exception]:
        prepared = [f.result() for f in futures]
        good = [p for p in prepared if not isinstance(p, Exception)]
        predictions = iter(self._predict_inputs(np.stack([p[2] for p in good]), 0.0) if good else [])
        for item in prepared:
            if isinstance(item, Exception):
                yield item
                continue
            decoded, quality, _, prep_ms = item
            prediction = next(predictions)
            yield Analysis(decoded=decoded, quality=quality,
                           prediction=_with_timings(prediction, dict(prediction.timings_ms, preprocess=prep_ms)))

    def predict(self, image: Image.Image) -> Prediction:
        """The :class:`Prediction` for one decoded RGB picture (from :func:`~scalp_model.serving.preprocess.decode_image`).

        One forward pass gives the probability, the map of the predicted class (the closed-form Grad-CAM of
        :class:`~scalp_model.serving.network.ScalpNetWithMaps`, equal to pytorch-grad-cam's within 1e-4) and the
        out-of-scope score. ``timings_ms`` has no ``decode`` here (see :meth:`analyze_bytes`).
        """
        return self.predict_batch([image])[0]

    def _result(self, p: float, maps: np.ndarray, ood_score: float | None) -> Prediction:
        m = self.meta
        label = label_for(p, m.threshold)
        cam = scale_map(maps[m.class_names.index(label)], m.input_size)
        out_of_scope = bool(ood_score is not None and m.ood_threshold is not None and ood_score > m.ood_threshold)
        return Prediction(
            label=label, p_psoriasis=p, threshold=float(m.threshold),
            uncertain=abs(p - m.threshold) < m.uncertain_band, out_of_scope=out_of_scope,
            ood_score=ood_score, temperature=float(m.temperature), model_version=m.version,
            model_sha256=self.sha256, cam=cam, uncertain_band=float(m.uncertain_band),
        )

    def analyze_bytes(self, data: bytes) -> Analysis:
        """Decode untrusted bytes, assess quality and predict; raises InvalidImageError on bad input."""
        t0 = time.perf_counter()
        decoded = decode_image(data)
        decode_ms = (time.perf_counter() - t0) * 1000
        quality = assess_quality(decoded.image, decoded.original_size)
        prediction = self.predict(decoded.image)
        timings = dict(prediction.timings_ms, decode=decode_ms)
        return Analysis(decoded=decoded, quality=quality, prediction=_with_timings(prediction, timings))

    def explain(self, image: Image.Image, method: str = "gradcam", class_name: str | None = None) -> np.ndarray:
        """A map from pytorch-grad-cam (Gildenblat et al., ``jacobgil/pytorch-grad-cam``) for research and checks.

        ``method``: one of :data:`scalp_model.serving.cam.METHODS` (``gradcam``, ``gradcam++``, ``hirescam``, ``xgradcam``,
        ``layercam``, ``eigencam``, ``scorecam``); ``class_name``: one of the checkpoint's ``class_names``, by
        default the predicted label. Returns a float32 (``input_size``, ``input_size``) map in [0, 1] at the
        checkpoint's ``cam_target_layer``. Runs torch with gradients on a private copy of the network, so it
        costs ~100 ms on a CPU against ~0.1 ms for ``predict``'s map. Raises ``ValueError`` for an unknown
        method or class.
        """
        label = class_name or self.predict(image).label
        if label not in self.meta.class_names:
            raise ValueError(f"unknown class {label!r}: this model's classes are {list(self.meta.class_names)}")
        batch = torch.from_numpy(self._inputs([image])).to(self.device).requires_grad_(True)
        return library_cam(self._hookable_model(), batch, self.meta.cam_target_layer,
                           [self.meta.class_names.index(label)], method)[0]

    def _hookable_model(self) -> ScalpNet:
        """A private copy for pytorch-grad-cam: its hooks would otherwise capture the activations of
        concurrent ``predict`` calls running through the shared model, mixing two users' maps."""
        with self._copy_lock:
            if self._explain_model is None:
                self._explain_model = copy.deepcopy(self.model).eval()
            return self._explain_model


def _check_map_layer(checkpoint: Checkpoint) -> None:
    """The served map is computed in the forward pass at the architecture's last block only (``inception5b`` for
    GoogLeNet, :data:`~scalp_model.serving.network.MAP_LAYER`; see :mod:`scalp_model.serving.architectures`)."""
    layer = checkpoint.meta.cam_target_layer
    arch = get_architecture(checkpoint.meta.architecture)
    if layer != arch.map_layer:
        raise WeightsMismatchError(
            f"{checkpoint.path or 'This checkpoint'} asks for attention maps at {layer!r}, but the app computes "
            f"them in the same forward pass only at {arch.label}'s last block, {arch.map_layer!r}. Use a checkpoint "
            f"made by 'python -m scalp_model train' (it records {arch.map_layer!r}), or set its cam_target_layer to it."
        )


def _with_timings(pred: Prediction, timings: Mapping[str, float]) -> Prediction:
    return replace(pred, timings_ms=MappingProxyType({k: round(v, 3) for k, v in timings.items()}))

