"""Metrics against hand-computed values."""
from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from scalp_model.metrics.classification import (auc_ci, binary_report, brier, delong, ece, fit_temperature, nll,
                                                threshold_for_sensitivity, wilson)

# Positives 0.9, 0.8, 0.4; negatives 0.5, 0.1. Pairs won: 5 of 6, so AUC = 5/6.
# Per-positive components V10 = (1, 1, 1/2): sample variance 1/12. Per-negative V01 = (2/3, 1): variance 1/18.
# DeLong variance = (1/12)/3 + (1/18)/2 = 1/18.
Y = [1, 1, 1, 0, 0]
S = [0.9, 0.8, 0.4, 0.5, 0.1]


def test_delong_hand_computed() -> None:
    auc, var = delong(Y, S)
    assert auc == pytest.approx(5 / 6)
    assert var == pytest.approx(1 / 18)


def test_delong_ties_count_half() -> None:
    # Positives (0.5, 0.7), negatives (0.5, 0.2): pairs 0.5, 1, 1, 1 -> AUC 3.5/4.
    # V10 = (0.75, 1) var 1/32; V01 = (0.75, 1) var 1/32; variance = 1/64 + 1/64 = 1/32.
    auc, var = delong([1, 1, 0, 0], [0.5, 0.7, 0.5, 0.2])
    assert auc == pytest.approx(0.875)
    assert var == pytest.approx(1 / 32)


def test_delong_auc_matches_sklearn_and_bootstrap() -> None:
    rng = np.random.default_rng(3)
    y = np.r_[np.ones(60, int), np.zeros(40, int)]
    s = np.r_[rng.normal(1.0, 1, 60), rng.normal(0, 1, 40)]
    auc, var = delong(y, s)
    assert auc == pytest.approx(roc_auc_score(y, s))
    # Stratified bootstrap estimate of the same variance (fixed seed): within 20%.
    pos, neg = s[y == 1], s[y == 0]
    boots = [roc_auc_score(y, np.r_[rng.choice(pos, 60), rng.choice(neg, 40)]) for _ in range(2000)]
    assert var == pytest.approx(np.var(boots), rel=0.2)


def test_auc_ci_is_symmetric_and_clipped() -> None:
    auc, (lo, hi) = auc_ci(Y, S)
    half = 1.959964 * math.sqrt(1 / 18)
    assert lo == pytest.approx(5 / 6 - half, abs=1e-5)
    assert hi == 1.0  # 5/6 + 0.46 clipped
    with pytest.raises(ValueError, match="positive and one negative"):
        delong([1, 1], [0.2, 0.3])


def test_wilson_hand_computed() -> None:
    # 8 of 10, z = 1.959964: centre (0.8 + z²/20)/(1 + z²/10), half z*sqrt(0.016 + z²/400)/(1 + z²/10).
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.4901625, abs=1e-6)
    assert hi == pytest.approx(0.9433178, abs=1e-6)
    assert wilson(0, 0) == (0.0, 1.0)
    lo, hi = wilson(10, 10)
    assert hi == pytest.approx(1.0) and lo == pytest.approx(0.7224672, abs=1e-6)


def test_brier_and_ece_hand_computed() -> None:
    y = [1, 0, 1, 0]
    p = [0.9, 0.2, 0.6, 0.65]
    assert brier(y, p) == pytest.approx((0.01 + 0.04 + 0.16 + 0.4225) / 4)
    # Bins of width 0.1: [0.9] -> |0.9-1|, [0.2] -> |0.2-0|, [0.6, 0.65] -> |0.625-0.5|.
    assert ece(y, p) == pytest.approx(0.25 * 0.1 + 0.25 * 0.2 + 0.5 * 0.125)
    assert ece([1], [1.0]) == pytest.approx(0.0)


def test_report_kappa_and_confusion() -> None:
    y = [1, 1, 1, 0, 0]
    p = [0.9, 0.8, 0.4, 0.5, 0.1]
    rep = binary_report(y, p, threshold=0.45)
    assert rep["confusion"] == {"tp": 2, "fn": 1, "tn": 1, "fp": 1}
    assert rep["sensitivity"] == pytest.approx(2 / 3, abs=1e-4)
    assert rep["specificity"] == pytest.approx(0.5)
    assert rep["accuracy"] == pytest.approx(0.6)
    # po = 0.6, pe = 0.6*0.6 + 0.4*0.4 = 0.52, kappa = 0.08/0.48.
    assert rep["kappa"] == pytest.approx(1 / 6, abs=1e-4)
    assert rep["kappa"] == pytest.approx(cohen_kappa_score(y, [1, 1, 0, 1, 0]), abs=1e-4)
    assert rep["auc"] == pytest.approx(0.8333, abs=1e-4)


def test_threshold_reaches_target_sensitivity() -> None:
    y = [1, 1, 1, 1, 0, 0, 0]
    p = [0.9, 0.7, 0.6, 0.3, 0.65, 0.2, 0.1]
    t = threshold_for_sensitivity(y, p, 0.75)  # 3 of 4 positives: cut between 0.6 and 0.3
    assert t == pytest.approx(0.45)
    t = threshold_for_sensitivity(y, p, 1.0)  # all four: cut between 0.3 and 0.2
    assert t == pytest.approx(0.25)
    assert binary_report(y, p, t)["sensitivity"] == 1.0


def test_temperature_scaling_lowers_nll_of_overconfident_logits() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    correct = rng.random(200) < 0.75  # 75% accurate, but logits say ~99.99%
    pred = np.where(correct, labels, 1 - labels)
    logits = np.zeros((200, 2))
    logits[np.arange(200), pred] = 10.0
    t = fit_temperature(logits, labels)
    assert t > 3
    assert nll(logits, labels, t) < nll(logits, labels, 1.0) - 1.0
    # The fitted T sends the confidence to about the accuracy.
    conf = 1 / (1 + math.exp(-10 / t))
    assert conf == pytest.approx(correct.mean(), abs=0.03)


def test_temperature_never_worsens_calibrated_logits() -> None:
    labels = np.array([0, 1, 0, 1])
    logits = np.array([[1.0, -1.0], [-1.0, 1.0], [0.2, -0.2], [-0.2, 0.2]])
    t = fit_temperature(logits, labels)
    assert nll(logits, labels, t) <= nll(logits, labels, 1.0) + 1e-9
