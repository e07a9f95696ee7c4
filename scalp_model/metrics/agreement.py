"""Agreement beyond chance: Cohen's kappa (two raters, or truth vs decisions) and Fleiss' kappa (many raters)."""
from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np
from sklearn.metrics import cohen_kappa_score


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two label sequences; None when chance agreement is perfect (undefined)."""
    if len(a) != len(b):
        raise ValueError("Cohen's kappa needs two sequences of the same length")
    if not a or len(set(a) | set(b)) < 2:  # one single category throughout: sklearn would warn and give NaN
        return None
    value = float(cohen_kappa_score(list(a), list(b)))
    return value if math.isfinite(value) else None


def fleiss_kappa(table: Sequence[Sequence[float]] | np.ndarray) -> float:
    """Fleiss' (1971) kappa from an N subjects x k categories table of rating counts.

    Every subject must have the same number of ratings n >= 2. Returns NaN when agreement by chance
    is already perfect (every rating in one category), where kappa is undefined.
    """
    counts = np.asarray(table, dtype=float)
    if counts.ndim != 2 or counts.shape[0] == 0 or counts.shape[1] < 2:
        raise ValueError("Fleiss' kappa needs a table of subjects x (at least 2) categories")
    if (counts < 0).any():
        raise ValueError("rating counts cannot be negative")
    n = counts.sum(axis=1)
    if not np.allclose(n, n[0]) or n[0] < 2:
        raise ValueError("every subject needs the same number (at least 2) of ratings")
    raters, subjects = float(n[0]), counts.shape[0]
    p_j = counts.sum(axis=0) / (subjects * raters)
    p_i = ((counts**2).sum(axis=1) - raters) / (raters * (raters - 1))
    p_bar, p_e = float(p_i.mean()), float((p_j**2).sum())
    if math.isclose(p_e, 1.0):
        return math.nan
    return (p_bar - p_e) / (1.0 - p_e)


def fleiss_table(ratings: Sequence[Sequence[Hashable]], categories: Sequence[Hashable]) -> np.ndarray:
    """Raw ratings (one row per subject: each rater's category) as Fleiss' count table."""
    index = {category: j for j, category in enumerate(categories)}
    table = np.zeros((len(ratings), len(categories)), dtype=int)
    for i, row in enumerate(ratings):
        for category in row:
            table[i, index[category]] += 1
    return table
