"""Group k-fold cross-validation of linear probes: the figures the model card is chosen and judged by.

The 15-photo test split is too small to choose or claim anything, so models are compared by repeated,
stratified group k-fold cross-validation over the whole scalp set (scikit-learn's ``StratifiedGroupKFold``:
near-duplicate groups never straddle folds). Out-of-fold scores are pooled per repeat; the AUC is given with
its DeLong 95 % CI (DeLong et al., Biometrics 1988) for each repeat, and averaged over repeats. The fairest
sub-comparison, ``dermnet_thumb`` against ``dermnet_thumb`` (same source for both classes), is reported too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..metrics import auc_ci

SAME_SOURCE = "dermnet_thumb"


def probe(c: float = 0.1):
    """Standardise, then an L2 logistic regression with balanced class weights (fixed ``c``, no tuning)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000, class_weight="balanced"))


def out_of_fold_scores(features: np.ndarray, labels: np.ndarray, groups: Sequence[str], *, folds: int = 5,
                       seed: int = 0, c: float = 0.1) -> np.ndarray:
    """Decision scores (N,) of a probe trained on the other folds, for every image. ``features``: N×D."""
    from sklearn.model_selection import StratifiedGroupKFold

    scores = np.zeros(len(labels), dtype=np.float64)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, held in splitter.split(features, labels, groups):
        scores[held] = probe(c).fit(features[train], labels[train]).decision_function(features[held])
    return scores


@dataclass(frozen=True)
class CvResult:
    """AUC per repeat (with DeLong CI), mean over repeats; the same for the same-source subset."""

    auc_mean: float
    auc_per_seed: list[tuple[float, tuple[float, float]]]
    same_source_mean: float | None
    same_source_per_seed: list[tuple[float, tuple[float, float]]]
    n: int
    n_same_source: int

    def to_dict(self) -> dict[str, Any]:
        return {"auc_mean": round(self.auc_mean, 4),
                "auc_ci_first_seed": [round(v, 4) for v in self.auc_per_seed[0][1]],
                "auc_per_seed": [round(a, 4) for a, _ in self.auc_per_seed],
                "same_source_auc_mean": None if self.same_source_mean is None else round(self.same_source_mean, 4),
                "same_source_ci_first_seed": ([round(v, 4) for v in self.same_source_per_seed[0][1]]
                                              if self.same_source_per_seed else None),
                "n": self.n, "n_same_source": self.n_same_source}


def summarise(labels: np.ndarray, sources: Sequence[str], scores_per_seed: Sequence[np.ndarray]) -> CvResult:
    """Pooled out-of-fold AUCs (overall and ``dermnet_thumb`` vs ``dermnet_thumb``) from one score array per seed."""
    same = np.asarray([s == SAME_SOURCE for s in sources])
    has_same = same.any() and len(set(labels[same].tolist())) == 2
    overall = [auc_ci(labels, s) for s in scores_per_seed]
    subset = [auc_ci(labels[same], s[same]) for s in scores_per_seed] if has_same else []
    return CvResult(float(np.mean([a for a, _ in overall])), overall,
                    float(np.mean([a for a, _ in subset])) if subset else None, subset,
                    int(len(labels)), int(same.sum()))


def cross_validate(features: np.ndarray, labels: np.ndarray, groups: Sequence[str], sources: Sequence[str], *,
                   seeds: Sequence[int] = (0, 1, 2), folds: int = 5, c: float = 0.1) -> CvResult:
    """Repeated group k-fold CV of a linear probe on fixed features (N×D). See the module docstring."""
    labels = np.asarray(labels)
    return summarise(labels, sources, [out_of_fold_scores(features, labels, groups, folds=folds, seed=s, c=c)
                                       for s in seeds])
