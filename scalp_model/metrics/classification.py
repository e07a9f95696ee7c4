"""Binary classification metrics with confidence intervals (numpy/scipy only; no statsmodels).

Labels are 1 for the positive class (psoriasis) and 0 otherwise; scores are P(psoriasis).

* AUC and its variance by DeLong et al. (1988), computed with the midrank algorithm of Sun & Xu (2014);
  the 95% CI is AUC ± z·SE clipped to [0, 1] (as pROC's ``ci.auc(method="delong")``), and DeLong's
  paired test of two correlated AUCs on the same cases (as pROC's ``roc.test(method="delong")``).
* Sensitivity/specificity with Wilson score intervals.
* Brier score, expected calibration error (equal-width bins of P(psoriasis)), Cohen's kappa.
* Temperature scaling (one scalar, LBFGS on the NLL) and the threshold for a target sensitivity.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
from scipy.stats import norm, rankdata

from .agreement import cohen_kappa


def _as_binary(labels: Sequence[int], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=int).ravel()
    s = np.asarray(scores, dtype=float).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length ({y.size} vs {s.size})")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    return y, s


def _placements(labels: Sequence[int], scores: Sequence[float]) -> tuple[float, np.ndarray, np.ndarray]:
    """(AUC, V10, V01): DeLong's structural components, by the midrank algorithm of Sun & Xu (2014).

    V10[i] is the share of negatives that positive i beats, V01[j] the share of positives that beat
    negative j (ties count one half); the AUC is the mean of either.
    """
    y, s = _as_binary(labels, scores)
    pos, neg = s[y == 1], s[y == 0]
    m, n = pos.size, neg.size
    if m == 0 or n == 0:
        raise ValueError("AUC needs at least one positive and one negative example")
    # Sun & Xu (2014): midranks within positives, within negatives and overall.
    tx, ty, tz = rankdata(pos), rankdata(neg), rankdata(np.concatenate([pos, neg]))
    auc = (tz[:m].sum() - m * (m + 1) / 2.0) / (m * n)
    v10 = (tz[:m] - tx) / n  # per positive: share of negatives it beats
    v01 = 1.0 - (tz[m:] - ty) / m  # per negative: share of positives that beat it
    return float(auc), v10, v01


def delong(labels: Sequence[int], scores: Sequence[float]) -> tuple[float, float]:
    """(AUC, variance of the AUC) by DeLong's method; ties count one half. Needs both classes."""
    auc, v10, v01 = _placements(labels, scores)
    m, n = v10.size, v01.size
    s10 = np.var(v10, ddof=1) if m > 1 else 0.0
    s01 = np.var(v01, ddof=1) if n > 1 else 0.0
    return float(auc), float(s10 / m + s01 / n)


def delong_paired(labels: Sequence[int], scores_a: Sequence[float],
                  scores_b: Sequence[float]) -> dict[str, float]:
    """DeLong's test for two correlated ROC curves (two scores of the same cases), as pROC's ``roc.test``.

    Returns ``auc_a``, ``auc_b``, ``difference`` (b - a), its standard error ``se``, ``z`` and the
    two-sided ``p_value``. With a zero standard error (e.g. identical rankings) z is 0 and p is 1 when
    the AUCs are equal, else z is infinite and p is 0.
    """
    auc_a, v10_a, v01_a = _placements(labels, scores_a)
    auc_b, v10_b, v01_b = _placements(labels, scores_b)
    m, n = v10_a.size, v01_a.size
    s10 = np.cov(np.vstack([v10_a, v10_b]), ddof=1) if m > 1 else np.zeros((2, 2))
    s01 = np.cov(np.vstack([v01_a, v01_b]), ddof=1) if n > 1 else np.zeros((2, 2))
    cov = s10 / m + s01 / n
    variance = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    difference = auc_b - auc_a
    se = math.sqrt(max(variance, 0.0))
    if se > 1e-12:
        z = difference / se
    else:
        z = 0.0 if abs(difference) < 1e-12 else math.copysign(math.inf, difference)
    return {"auc_a": auc_a, "auc_b": auc_b, "difference": difference, "se": se, "z": float(z),
            "p_value": float(2 * norm.sf(abs(z)))}


def auc_ci(labels: Sequence[int], scores: Sequence[float], level: float = 0.95) -> tuple[float, tuple[float, float]]:
    """AUC with its DeLong confidence interval."""
    auc, var = delong(labels, scores)
    half = norm.ppf(0.5 + level / 2) * math.sqrt(max(var, 0.0))
    return float(auc), (float(max(0.0, auc - half)), float(min(1.0, auc + half)))


def wilson(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion; (0, 1) when n is 0."""
    if n == 0:
        return 0.0, 1.0
    z = norm.ppf(0.5 + level / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def brier(labels: Sequence[int], probs: Sequence[float]) -> float:
    y, p = _as_binary(labels, probs)
    return float(np.mean((p - y) ** 2))


def ece(labels: Sequence[int], probs: Sequence[float], bins: int = 10) -> float:
    """Expected calibration error of P(positive) over equal-width bins (the last bin includes 1.0)."""
    y, p = _as_binary(labels, probs)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return float(total)


def reliability(labels: Sequence[int], probs: Sequence[float], bins: int = 10) -> list[tuple[float, float, int]]:
    """(mean predicted, observed frequency, count) per non-empty bin, for a reliability diagram."""
    y, p = _as_binary(labels, probs)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return [(float(p[idx == b].mean()), float(y[idx == b].mean()), int((idx == b).sum()))
            for b in range(bins) if (idx == b).any()]


def threshold_for_sensitivity(labels: Sequence[int], probs: Sequence[float], target: float = 0.95) -> float:
    """The highest threshold whose sensitivity (p >= threshold) reaches ``target``.

    Among thresholds reaching the target this one keeps specificity highest. It is placed halfway
    between the deciding positive score and the next lower score so that small shifts do not flip it.
    """
    y, p = _as_binary(labels, probs)
    pos = np.sort(p[y == 1])[::-1]
    if pos.size == 0:
        return 0.5
    k = min(pos.size, max(1, math.ceil(target * pos.size - 1e-9)))
    t = pos[k - 1]
    lower = p[p < t]
    return float((t + lower.max()) / 2) if lower.size else float(t)


def decision_figures(truth: Sequence[int], scores: Sequence[float], decisions: Sequence[int]) -> dict[str, Any]:
    """Unrounded figures of binary ``decisions`` (1 = positive) against ``truth`` (0/1); AUC ranks ``scores``.

    Returns n, n_positive, n_negative, auc and its DeLong 95 % CI (None unless both classes are present),
    sensitivity, specificity, accuracy (None when undefined), Cohen's kappa of truth vs decisions and the
    confusion counts. The one place these are computed: :func:`binary_report` (the model at a threshold)
    and :func:`scalp_model.metrics.reader_study.performance` (readers' answers) present them.
    """
    y, d = np.asarray(truth, dtype=int).ravel(), np.asarray(decisions, dtype=int).ravel()
    n, positives = int(y.size), int(y.sum())
    auc = ci = None
    if 0 < positives < n:
        auc, ci = auc_ci(y, scores)
    tp, fn = int(((d == 1) & (y == 1)).sum()), int(((d == 0) & (y == 1)).sum())
    tn, fp = int(((d == 0) & (y == 0)).sum()), int(((d == 1) & (y == 0)).sum())
    return {"n": n, "n_positive": positives, "n_negative": n - positives, "auc": auc, "auc_ci": ci,
            "sensitivity": tp / (tp + fn) if tp + fn else None, "specificity": tn / (tn + fp) if tn + fp else None,
            "accuracy": (tp + tn) / n if n else None, "kappa": cohen_kappa(y.tolist(), d.tolist()),
            "confusion": {"tp": tp, "fn": fn, "tn": tn, "fp": fp}}


def _round4(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def binary_report(labels: Sequence[int], probs: Sequence[float], threshold: float, *,
                  ece_bins: int = 10) -> dict[str, Any]:
    """Every figure the evaluate command prints (rounded to 4 decimals, Wilson CIs for sensitivity and
    specificity, Brier, ECE); AUC fields are None when one class is absent. Computed by :func:`decision_figures`
    with decisions ``p >= threshold``."""
    y, p = _as_binary(labels, probs)
    f = decision_figures(y, p, (p >= threshold).astype(int))
    tp, fn, tn, fp = (f["confusion"][k] for k in ("tp", "fn", "tn", "fp"))
    out: dict[str, Any] = {"n": f["n"], "n_positive": f["n_positive"], "n_negative": f["n_negative"]}
    out["auc"] = _round4(f["auc"])
    out["auc_ci"] = None if f["auc_ci"] is None else [round(f["auc_ci"][0], 4), round(f["auc_ci"][1], 4)]
    out["sensitivity"] = _round4(f["sensitivity"])
    out["sensitivity_ci"] = [round(v, 4) for v in wilson(tp, tp + fn)] if tp + fn else None
    out["specificity"] = _round4(f["specificity"])
    out["specificity_ci"] = [round(v, 4) for v in wilson(tn, tn + fp)] if tn + fp else None
    out["accuracy"] = _round4(f["accuracy"])
    out["kappa"] = _round4(f["kappa"])  # None when labels and predictions are one single class
    out["brier"] = round(brier(y, p), 4)
    out["ece"] = round(ece(y, p, ece_bins), 4)
    out["threshold"] = float(threshold)
    out["confusion"] = f["confusion"]
    return out


def nll(logits: np.ndarray, labels: Sequence[int], temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of class indices under softmax(logits / T)."""
    z = torch.as_tensor(np.asarray(logits), dtype=torch.float64) / temperature
    return float(torch.nn.functional.cross_entropy(z, torch.as_tensor(np.asarray(labels), dtype=torch.long)))


def fit_temperature(logits: np.ndarray, labels: Sequence[int], max_iter: int = 200) -> float:
    """The temperature T > 0 minimising the NLL of softmax(logits / T) (LBFGS on log T)."""
    z = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    opt.step(closure)
    t = float(log_t.detach().exp().clamp(0.05, 20.0))
    return t if nll(logits, labels, t) <= nll(logits, labels, 1.0) else 1.0
