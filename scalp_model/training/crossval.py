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

from ..metrics.classification import auc_ci

SAME_SOURCE = "dermnet_thumb"


def probe(c: float = 0.1):
    """Standardise, then an L2 logistic regression with balanced class weights (fixed ``c``, no tuning)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000, class_weight="balanced"))


def probe_weights(features: np.ndarray, labels: np.ndarray, c: float = 0.1) -> tuple[np.ndarray, float]:
    """Fit :func:`probe` and fold its scaler into one linear map on the raw features: ``score = x @ w + b``
    equals the probe's decision function (the log-odds of class 1). ``features``: N×D; returns (w (D,), b)."""
    clf = probe(c).fit(features, labels)
    scaler, logreg = clf[0], clf[1]
    w = logreg.coef_[0] / scaler.scale_
    return w, float(logreg.intercept_[0] - (scaler.mean_ * w).sum())


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


@dataclass(frozen=True)
class Calibration:
    """P(psoriasis) = sigmoid((score + shift) / temperature), and the operating threshold on it (0..1).

    ``temperature`` > 0 and ``shift`` (log-odds) are Platt scaling's slope and intercept, a = 1 / temperature and
    b = shift / temperature; a served checkpoint carries ``shift`` in its head's bias and ``temperature`` as its
    temperature scaling, so the app's softmax(logits / T) gives exactly this probability.
    """

    temperature: float
    shift: float
    threshold: float

    def probability(self, scores: np.ndarray) -> np.ndarray:
        return sigmoid((np.asarray(scores, dtype=np.float64) + self.shift) / self.temperature)


def calibration_from_scores(scores: np.ndarray, labels: np.ndarray, target_sensitivity: float) -> Calibration:
    """Platt scaling (Platt 1999) fitted on out-of-fold decision scores (N,) with labels (N,) in {0, 1}: an
    unpenalised logistic regression of the label on the score, P = sigmoid(a * score + b). Unlike temperature
    scaling alone (Guo et al. 2017) it also corrects the probe's offset, which its balanced class weights move
    away from the photos' own class mix. The threshold is the highest one on P whose sensitivity reaches
    ``target_sensitivity`` (:func:`scalp_model.metrics.classification.threshold_for_sensitivity`). Scores that
    do not rank the positives higher (a <= 0) fall back to temperature scaling with no shift
    (:func:`scalp_model.metrics.classification.fit_temperature`)."""
    from sklearn.linear_model import LogisticRegression

    from ..metrics.classification import fit_temperature, threshold_for_sensitivity

    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(scores[:, None], labels)
    a, b = float(fit.coef_[0, 0]), float(fit.intercept_[0])
    if a > 1e-6:
        temperature, shift = 1.0 / a, b / a
    else:
        temperature, shift = fit_temperature(np.stack([np.zeros_like(scores), scores], axis=1), labels), 0.0
    p = sigmoid((scores + shift) / temperature)
    return Calibration(temperature, shift, threshold_for_sensitivity(labels, p, target_sensitivity))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def recipe_out_of_fold(features: np.ndarray, labels: np.ndarray, groups: Sequence[str], *, folds: int = 5,
                       seed: int = 0, c: float = 0.1, target_sensitivity: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated probabilities (N,) and decisions (N,) of the *whole* shipped recipe, out of fold.

    In each outer training fold an inner group CV gives out-of-fold scores that fix the Platt scaling and the
    threshold (as ``train --calibrate cv`` does on the training split); the probe refitted on the whole outer
    training fold then scores the held-out fold. Nothing of a held-out fold takes part in any choice for it.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    labels = np.asarray(labels)
    groups = np.asarray(groups)
    probs, decisions = np.zeros(len(labels)), np.zeros(len(labels), dtype=int)
    for train, held in StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(features, labels, groups):
        inner = out_of_fold_scores(features[train], labels[train], groups[train], folds=folds, seed=seed, c=c)
        calibration = calibration_from_scores(inner, labels[train], target_sensitivity)
        p = calibration.probability(probe(c).fit(features[train], labels[train]).decision_function(features[held]))
        probs[held], decisions[held] = p, (p >= calibration.threshold).astype(int)
    return probs, decisions


def recipe_report(features: np.ndarray, labels: np.ndarray, groups: Sequence[str], sources: Sequence[str], *,
                  seeds: Sequence[int] = (0, 1, 2), folds: int = 5, c: float = 0.1,
                  target_sensitivity: float = 0.95, unseen: np.ndarray | None = None) -> dict[str, Any]:
    """AUC, sensitivity, specificity (at each fold's own threshold) and ECE of the recipe, pooled out of fold,
    per seed and averaged; the first seed's figures with CIs, overall, ``dermnet_thumb`` vs ``dermnet_thumb``
    and, when ``unseen`` (a boolean mask) is given, on the photos that the features' own training never saw
    (a distilled student matched a teacher probe fitted with the training split's labels, so its out-of-fold
    figures on training-split photos can be optimistic; the ``unseen`` subset is free of that)."""
    from ..metrics.classification import ece, wilson

    labels = np.asarray(labels)
    same = np.asarray([s == SAME_SOURCE for s in sources])
    subsets = [("overall", np.ones(len(labels), bool)), ("same_source", same)]
    if unseen is not None:
        subsets.append(("unseen", np.asarray(unseen, bool)))
    per_seed = []
    for seed in seeds:
        probs, dec = recipe_out_of_fold(features, labels, groups, folds=folds, seed=seed, c=c,
                                        target_sensitivity=target_sensitivity)
        row: dict[str, Any] = {"seed": seed}
        for name, mask in subsets:
            y, p, d = labels[mask], probs[mask], dec[mask]
            if len(set(y.tolist())) < 2:
                continue
            tp, fn = int(((d == 1) & (y == 1)).sum()), int(((d == 0) & (y == 1)).sum())
            tn, fp = int(((d == 0) & (y == 0)).sum()), int(((d == 1) & (y == 0)).sum())
            auc, ci = auc_ci(y, p)
            row[name] = {"n": int(len(y)), "auc": round(auc, 4), "auc_ci": [round(v, 4) for v in ci],
                         "sensitivity": round(tp / (tp + fn), 4), "sensitivity_ci": [round(v, 4) for v in wilson(tp, tp + fn)],
                         "specificity": round(tn / (tn + fp), 4), "specificity_ci": [round(v, 4) for v in wilson(tn, tn + fp)],
                         "ece": round(ece(y, p), 4)}
        per_seed.append(row)
    mean = {name: {k: round(float(np.mean([r[name][k] for r in per_seed])), 4)
                   for k in ("auc", "sensitivity", "specificity", "ece")}
            for name, _ in subsets if all(name in r for r in per_seed)}
    return {"folds": folds, "seeds": list(seeds), "probe_c": c, "target_sensitivity": target_sensitivity,
            "mean": mean, "per_seed": per_seed}
