"""What the model says about a photo: the one decision rule and the immutable records the predictor returns.

:class:`Prediction` is the one record type of a prediction: it flows from :mod:`scalp_model.serving.predictor`
into ``db`` (``db.consultations`` stores it) and the pages; :func:`label_for` is the only place a label is
derived from a probability.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from .cam import overlay_png
from .preprocess import DecodedImage
from .quality import QualityReport

__all__ = ["Analysis", "Prediction", "label_for"]


def label_for(p_psoriasis: float, threshold: float) -> str:
    """The service's one decision rule: "psoriasis" when P(psoriasis) (0..1) is at or above the operating
    threshold (0..1, the checkpoint's), else "seborrheic_dermatitis". Every label and verdict comes from here."""
    return "psoriasis" if p_psoriasis >= threshold else "seborrheic_dermatitis"



@dataclass(frozen=True, eq=False)
class Prediction:
    """What the model says about one image; immutable so it can be cached and shared.

    - ``label``: ``"psoriasis"`` when ``p_psoriasis >= threshold``, else ``"seborrheic_dermatitis"``.
    - ``p_psoriasis``: calibrated probability of psoriasis, 0..1 (softmax of the logits divided by
      ``temperature``, the checkpoint's temperature scaling; Guo et al. 2017).
    - ``threshold``, ``uncertain_band``: the checkpoint's operating point and band, 0..1; ``uncertain`` is
      ``|p_psoriasis - threshold| < uncertain_band``.
    - ``ood_score``: how far the photo's pooled features (1024 for GoogLeNet, 1280 for EfficientNet-Lite0) lie from the training scalp photos, as the
      mean squared standardised distance over a 32-component PCA subspace (:func:`scalp_model.serving.ood.gate_scores`):
      unitless, ≥ 0, about 1 for the training photos; ``out_of_scope`` is ``ood_score`` above the checkpoint's
      ``ood_threshold`` (a validation quantile; 2.05 for the shipped model). ``None`` (and never out of scope)
      for a checkpoint without a gate.
    - ``cam``: the Grad-CAM map of ``label`` (Selvaraju et al. 2017) at the last block (``inception5b`` for
      GoogLeNet, ``head_activation`` for EfficientNet-Lite0), float32, shape
      (``input_size``, ``input_size``) = (224, 224) for the shipped model, values in [0, 1] (min-max scaled,
      1 = most attention), laid over the whole picture squeezed to a square (no crop): stretch it to the
      photo's aspect ratio to overlay it (:func:`scalp_model.serving.cam.overlay_png`).
    - ``timings_ms``: milliseconds per image, by step (``preprocess``, ``model``, ``postprocess``, ``decode``).
    - ``model_version``, ``model_sha256``: the checkpoint that made it.
    """

    label: str
    p_psoriasis: float
    threshold: float
    uncertain: bool
    out_of_scope: bool
    ood_score: float | None
    temperature: float
    model_version: str
    model_sha256: str
    cam: np.ndarray = field(repr=False)
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    uncertain_band: float | None = None  # |p - threshold| below this is uncertain (the checkpoint's, 0..1)

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "p_psoriasis": round(self.p_psoriasis, 6),
            "threshold": self.threshold,
            "uncertain": self.uncertain,
            "out_of_scope": self.out_of_scope,
            "ood_score": None if self.ood_score is None else round(self.ood_score, 4),
            "model": {"version": self.model_version, "sha256": self.model_sha256},
        }


@dataclass(frozen=True, eq=False)
class Analysis:
    """An upload end to end: the decoded picture, its quality and the prediction."""

    decoded: DecodedImage
    quality: QualityReport
    prediction: Prediction

    def overlay_png(self, image_weight: float = 0.55) -> bytes:
        return overlay_png(self.decoded.image, self.prediction.cam, image_weight=image_weight)
