"""Two models on the same reviewed cases (issue 20): AUC with DeLong CIs, sensitivity and specificity at each
model's threshold, the paired DeLong test, calibration and agreement with the dermatologists and between the
models. Pure functions of arrays; every figure comes from :mod:`scalp_model.metrics.classification` and
:mod:`scalp_model.metrics.agreement`."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .agreement import cohen_kappa
from .classification import binary_report, delong_paired, reliability

MIN_EACH_CLASS = 2  # cases of each class below which the AUC figures are not computed


@dataclass(frozen=True)
class PairedComparison:
    """``models``: per model (in the order given) its ``binary_report`` at its own threshold (``own``) and at the
    other model's (``other``), its reliability bins and its Cohen's kappa with the dermatologists
    (``kappa_with_dermatologists``, ``agreed`` cases). ``delong``: :func:`delong_paired` (difference b - a, p value),
    None when either class has fewer than :data:`MIN_EACH_CLASS` cases. ``between``: the models' labels'
    agreement (``agreed`` cases, Cohen's kappa)."""

    n: int
    n_positive: int
    models: tuple[dict[str, Any], dict[str, Any]]
    delong: dict[str, float] | None
    between: dict[str, Any]


def compare_pair(truth: Sequence[int], scores_a: Sequence[float], scores_b: Sequence[float], threshold_a: float,
                 threshold_b: float) -> PairedComparison:
    """Compare two models' P(psoriasis) (0..1) on the same cases, ``truth`` 1 = psoriasis, 0 = seborrheic
    dermatitis. Raises ``ValueError`` when the three sequences differ in length or are empty."""
    y = np.asarray(truth, dtype=int)
    a, b = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    if not (y.size == a.size == b.size) or y.size == 0:
        raise ValueError(f"need as many cases as scores of each model, at least one (got {y.size}, {a.size}, {b.size})")
    enough = min(int(y.sum()), int(y.size - y.sum())) >= MIN_EACH_CLASS
    labels_a, labels_b = (a >= threshold_a).astype(int), (b >= threshold_b).astype(int)
    models = []
    for scores, own, other, labels in ((a, threshold_a, threshold_b, labels_a), (b, threshold_b, threshold_a, labels_b)):
        models.append({"own": binary_report(y, scores, own), "other": binary_report(y, scores, other),
                       "reliability": reliability(y, scores),
                       "kappa_with_dermatologists": cohen_kappa(y.tolist(), labels.tolist()),
                       "agreed": int((labels == y).sum())})
    return PairedComparison(n=int(y.size), n_positive=int(y.sum()), models=(models[0], models[1]),
                            delong=delong_paired(y, a, b) if enough else None,
                            between={"agreed": int((labels_a == labels_b).sum()),
                                     "kappa": cohen_kappa(labels_a.tolist(), labels_b.tolist())})
