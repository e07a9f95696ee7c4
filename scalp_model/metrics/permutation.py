"""The paired permutation test of two AUCs on the same cases, for reader studies too small for DeLong.

Bandos, Rockette & Gur 2005 (Stat Med 24:2873-2893): under the null hypothesis the two ratings of each case
are exchangeable, the statistic is the AUC difference. Exact over all 2^n exchanges for up to
:data:`EXACT_MAX_CASES` cases, else :data:`RANDOM_PERMUTATIONS` seeded random exchanges with
p = (b + 1) / (R + 1) (Phipson & Smyth 2010, Stat Appl Genet Mol Biol 9:39).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

from .classification import delong

__all__ = ["EXACT_MAX_CASES", "RANDOM_PERMUTATIONS", "ZERO_VARIANCE", "permutation_test", "variance_estimable"]

EXACT_MAX_CASES = 14  # 2^14 = 16,384 exchanges: exact enumeration in ~0.1 s on a shared 2-core machine
RANDOM_PERMUTATIONS = 2_000  # larger studies whose DeLong variance is not estimable: random exchanges, seeded
ZERO_VARIANCE = 1e-24  # a DeLong variance at or below this (SE <= 1e-12) is treated as zero


def variance_estimable(truth: Sequence[int], scores: Sequence[float]) -> bool:
    """Whether DeLong's AUC variance is defined and positive: at least 2 cases in each class and some
    spread in the placements (a perfect or fully tied ranking has variance 0)."""
    positives = sum(truth)
    if positives < 2 or len(truth) - positives < 2:
        return False
    return delong(truth, scores)[1] > ZERO_VARIANCE


def permutation_test(truth: Sequence[int], scores_a: Sequence[float], scores_b: Sequence[float], *,
                     exact_max: int = EXACT_MAX_CASES, resamples: int = RANDOM_PERMUTATIONS,
                     seed: int = 0) -> tuple[float, int, bool]:
    """Two-sided paired permutation test of AUC(b) - AUC(a) on the same cases.

    Under the null hypothesis the two ratings of a case are exchangeable (Bandos, Rockette & Gur 2005),
    so each case's pair is swapped or not. With n <= ``exact_max`` cases all 2^n swaps are enumerated and
    p is the share whose |difference| reaches the observed one (including the observed assignment), so
    p lies in [2 / 2^n, 1] for a non-zero difference; otherwise ``resamples`` random swaps give
    p = (b + 1) / (R + 1). Returns (p in (0, 1], number of relabellings, exact). Needs both classes.
    """
    y = np.asarray(truth, dtype=int)
    a, b = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    n = y.size
    if not 0 < y.sum() < n or a.shape != y.shape or b.shape != y.shape:
        raise ValueError("the permutation test needs both classes and two scores per case")
    exact = n <= exact_max
    if exact:
        swaps = ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(bool)
    else:
        swaps = np.random.default_rng(seed).integers(0, 2, size=(resamples, n)).astype(bool)
    observed = _auc_rows(y, b[None, :]) - _auc_rows(y, a[None, :])
    first, second = np.where(swaps, b, a), np.where(swaps, a, b)
    differences = _auc_rows(y, second) - _auc_rows(y, first)
    extreme = int((np.abs(differences) >= abs(observed[0]) - 1e-12).sum())
    if exact:
        return extreme / swaps.shape[0], swaps.shape[0], True
    return (extreme + 1) / (resamples + 1), resamples, False


def _auc_rows(y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """AUC of each row of ``scores`` (ties count one half), by the Mann-Whitney rank sum."""
    m = int(y.sum())
    ranks = rankdata(scores, axis=1)
    return (ranks[:, y == 1].sum(axis=1) - m * (m + 1) / 2.0) / (m * (y.size - m))
