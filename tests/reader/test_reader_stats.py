"""Reader-study statistics against published and hand-computed values, and independent re-computations."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from db.errors import ValidationError
from db.reader_study import ordinal_score
from scalp_model.metrics.agreement import cohen_kappa, fleiss_kappa, fleiss_table
from scalp_model.metrics.classification import delong, delong_paired
from scalp_model.metrics.reader_study import RANDOM_PERMUTATIONS, analyse, performance, permutation_test, roc_figure
from tests.reader.builders import answer

# Fleiss (1971), Table 1: 30 patients, 6 psychiatrists each, 5 diagnoses (depression, personality
# disorder, schizophrenia, neurosis, other). Fleiss reports kappa = .430 (irr::kappam.fleiss: 0.43).
FLEISS_1971 = [
    [0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0], [2, 0, 4, 0, 0],
    [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6], [1, 0, 0, 5, 0], [1, 1, 0, 4, 0],
    [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1], [0, 0, 5, 0, 1], [3, 0, 0, 1, 2], [5, 1, 0, 0, 0],
    [0, 2, 0, 4, 0], [1, 0, 2, 0, 3], [0, 0, 0, 0, 6], [0, 1, 0, 5, 0], [0, 2, 0, 1, 3], [2, 0, 0, 4, 0],
    [1, 0, 0, 4, 1], [0, 5, 0, 1, 0], [4, 0, 0, 0, 2], [0, 2, 0, 4, 0], [1, 0, 5, 0, 0], [0, 0, 0, 0, 6],
]
# The worked example on Wikipedia's "Fleiss' kappa" page: 10 subjects, 14 raters, 5 categories; kappa 0.210.
WIKIPEDIA = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]


def test_fleiss_1971_table_1() -> None:
    assert fleiss_kappa(FLEISS_1971) == pytest.approx(0.430, abs=5e-4)


def test_fleiss_wikipedia_example() -> None:
    assert fleiss_kappa(WIKIPEDIA) == pytest.approx(0.20993070442195522, abs=1e-12)


def test_fleiss_two_categories_by_hand() -> None:
    # 4 cases, 3 readers. Rows: 3/0, 2/1, 0/3, 1/2 -> P_i = 1, 1/3, 1, 1/3 -> P-bar = 2/3;
    # p_j = 6/12, 6/12 -> P_e = 1/2; kappa = (2/3 - 1/2) / (1/2) = 1/3.
    table = fleiss_table([["p", "p", "p"], ["p", "p", "s"], ["s", "s", "s"], ["s", "p", "s"]], ["p", "s"])
    assert table.tolist() == [[3, 0], [2, 1], [0, 3], [1, 2]]
    assert fleiss_kappa(table) == pytest.approx(1 / 3)
    assert fleiss_kappa([[2, 0], [0, 2]]) == pytest.approx(1.0)
    assert math.isnan(fleiss_kappa([[2, 0], [2, 0]]))  # one category only: undefined


def test_fleiss_rejects_ragged_tables() -> None:
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa([[2, 0], [1, 0]])
    with pytest.raises(ValueError, match="at least 2"):
        fleiss_kappa([[1, 0], [0, 1]])


def test_cohen_kappa_textbook_example() -> None:
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> p_o = .7, p_e = .5, kappa = .4.
    a = ["y"] * 25 + ["n"] * 25
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(["y", "y"], ["y", "y"]) is None


def test_paired_delong_by_hand() -> None:
    """m = n = 2. A ranks one pair wrong (AUC 3/4; V10 = [1, 1/2], V01 = [1/2, 1]); B is perfect (AUC 1,
    constant components). var(diff) = S10_AA/m + S01_AA/n = 0.125/2 + 0.125/2 = 0.125, so
    z = 0.25 / sqrt(0.125) = 1/sqrt(2) and p = 2 (1 - Phi(0.7071)) = 0.4795."""
    labels = [1, 1, 0, 0]
    test = delong_paired(labels, [0.9, 0.4, 0.5, 0.1], [0.8, 0.7, 0.6, 0.2])
    assert test["auc_a"] == pytest.approx(0.75) and test["auc_b"] == pytest.approx(1.0)
    assert test["se"] == pytest.approx(math.sqrt(0.125))
    assert test["z"] == pytest.approx(1 / math.sqrt(2))
    assert test["p_value"] == pytest.approx(0.47950012, abs=1e-7)


def brute_force_paired_delong(labels, a, b) -> tuple[float, float]:
    """DeLong et al. (1988) straight from the definitions: psi kernels, O(m n) loops."""
    y = np.asarray(labels)
    components = []
    for s in (np.asarray(a, float), np.asarray(b, float)):
        pos, neg = s[y == 1], s[y == 0]
        psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        components.append((psi.mean(), psi.mean(axis=1), psi.mean(axis=0)))
    (auc_a, v10_a, v01_a), (auc_b, v10_b, v01_b) = components
    m, n = v10_a.size, v01_a.size

    def cov(u, v):
        return float(((u - u.mean()) * (v - v.mean())).sum() / (u.size - 1))

    var = (cov(v10_a, v10_a) + cov(v10_b, v10_b) - 2 * cov(v10_a, v10_b)) / m \
        + (cov(v01_a, v01_a) + cov(v01_b, v01_b) - 2 * cov(v01_a, v01_b)) / n
    z = (auc_b - auc_a) / math.sqrt(var)
    return z, 2 * norm.sf(abs(z))


@pytest.mark.parametrize("seed", range(8))
def test_paired_delong_matches_the_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 40)
    labels[:2] = [0, 1]
    unaided = np.clip(np.round(5.5 + 2.0 * (labels - 0.5) + rng.normal(0, 2.5, 40)), 1, 10)  # ties, like 1-10 ratings
    aided = np.clip(np.round(5.5 + 3.5 * (labels - 0.5) + rng.normal(0, 2.0, 40)), 1, 10)
    z, p = brute_force_paired_delong(labels, unaided, aided)
    test = delong_paired(labels, unaided, aided)
    assert test["z"] == pytest.approx(z, rel=1e-9) and test["p_value"] == pytest.approx(p, rel=1e-9)
    assert test["auc_a"] == pytest.approx(roc_auc_score(labels, unaided))
    assert test["auc_b"] == pytest.approx(roc_auc_score(labels, aided))
    # the single-curve variance is the paired formula's diagonal
    assert delong(labels, unaided)[1] == pytest.approx(brute_force_var(labels, unaided), rel=1e-9)


def brute_force_var(labels, scores) -> float:
    y, s = np.asarray(labels), np.asarray(scores, float)
    psi = (s[y == 1][:, None] > s[y == 0][None, :]) + 0.5 * (s[y == 1][:, None] == s[y == 0][None, :])
    return float(psi.mean(axis=1).var(ddof=1) / psi.shape[0] + psi.mean(axis=0).var(ddof=1) / psi.shape[1])


def test_paired_delong_identical_scores() -> None:
    test = delong_paired([1, 0, 1, 0], [3, 1, 2, 2], [3, 1, 2, 2])
    assert test["difference"] == 0 and test["z"] == 0 and test["p_value"] == 1.0


def test_ordinal_scale() -> None:
    assert [ordinal_score("psoriasis", c) for c in range(1, 6)] == [6, 7, 8, 9, 10]
    assert [ordinal_score("seborrheic_dermatitis", c) for c in range(1, 6)] == [5, 4, 3, 2, 1]
    assert all(answer(s) == (d, c) for d in ("psoriasis", "seborrheic_dermatitis") for c in range(1, 6)
               for s in [ordinal_score(d, c)])
    for bad in [("psoriasis", 0), ("psoriasis", 6), ("psoriasis", 2.5), ("other", 3), ("psoriasis", True)]:
        with pytest.raises(ValidationError):
            ordinal_score(*bad)


@dataclass(frozen=True)
class Case:
    case_id: int
    truth: str
    p_psoriasis: float


@dataclass(frozen=True)
class Answer:
    reader: str
    pass_number: int
    case_id: int
    score_: int

    @property
    def diagnosis(self) -> str:
        return answer(self.score_)[0]

    @property
    def score(self) -> int:
        return self.score_


def test_analyse_against_independent_figures() -> None:
    truth = [1, 1, 1, 1, 0, 0, 0, 0, 1, 0]
    p_model = [0.9, 0.7, 0.45, 0.8, 0.2, 0.6, 0.1, 0.3, 0.55, 0.52]
    cases = [Case(i + 1, "psoriasis" if t else "seborrheic_dermatitis", p) for i, (t, p) in enumerate(zip(truth, p_model))]
    scores = {
        ("ann", 1): [7, 4, 6, 8, 3, 7, 5, 2, 4, 6],
        ("ann", 2): [9, 7, 6, 9, 2, 4, 1, 3, 7, 5],
        ("bob", 1): [6, 6, 3, 9, 6, 2, 4, 7, 5, 3],
        ("bob", 2): [8, 7, 4, 10, 3, 2, 2, 5, 8, 4],
    }
    readings = [Answer(r, p, i + 1, s) for (r, p), ss in scores.items() for i, s in enumerate(ss)]
    results = analyse(cases, readings, threshold=0.5, readers=["ann", "bob"])

    for result in results.passes:
        s = np.array(scores[(result.reader, result.pass_number)])
        y, d = np.array(truth), (s >= 6).astype(int)
        perf = result.performance
        assert perf.auc == pytest.approx(roc_auc_score(y, s))
        assert perf.sensitivity == pytest.approx(((d == 1) & (y == 1)).sum() / y.sum())
        assert perf.specificity == pytest.approx(((d == 0) & (y == 0)).sum() / (1 - y).sum())
        p_o = (d == y).mean()
        p_e = d.mean() * y.mean() + (1 - d.mean()) * (1 - y.mean())
        assert perf.kappa == pytest.approx((p_o - p_e) / (1 - p_e))
        if perf.auc == 1.0:  # ann aided ranks every case right: DeLong's variance is 0, no interval
            assert (result.reader, result.pass_number) == ("ann", 2) and perf.auc_ci is None
        else:
            assert perf.auc_ci[0] <= perf.auc <= perf.auc_ci[1]
    model = results.model
    assert model.auc == pytest.approx(roc_auc_score(truth, p_model))
    assert model.sensitivity == pytest.approx(4 / 5) and model.specificity == pytest.approx(3 / 5)
    for comparison in results.comparisons:
        z, p = brute_force_paired_delong(truth, scores[(comparison.reader, 1)], scores[(comparison.reader, 2)])
        assert comparison.z == pytest.approx(z) and comparison.p_value == pytest.approx(p)
        assert comparison.difference == pytest.approx(comparison.auc_aided - comparison.auc_unaided)
    for agreement in results.agreement:
        ann = np.array(scores[("ann", agreement.pass_number)]) >= 6
        bob = np.array(scores[("bob", agreement.pass_number)]) >= 6
        # two raters, two categories: P_i is 1 when they agree, 0 otherwise
        p_bar = (ann == bob).mean()
        share = (ann.sum() + bob.sum()) / 20
        p_e = share**2 + (1 - share) ** 2
        assert agreement.kappa == pytest.approx((p_bar - p_e) / (1 - p_e)) and agreement.cases == 10
    assert [c.label for c in results.curves["ann"]] == ["unaided", "aided", "model"]
    figure = roc_figure("ann", results.curves["ann"])
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()][1].startswith("without the model (AUC")


def test_analyse_with_partial_and_one_sided_passes() -> None:
    cases = [Case(1, "psoriasis", 0.9), Case(2, "seborrheic_dermatitis", 0.1), Case(3, "psoriasis", 0.4)]
    readings = [Answer("ann", 1, 1, 8), Answer("ann", 1, 3, 7)]  # two psoriasis cases read so far
    results = analyse(cases, readings, threshold=0.5, readers=["ann"])
    unaided, aided = results.passes
    assert unaided.cases == 2 and unaided.performance.auc is None and unaided.performance.sensitivity == 1.0
    assert unaided.performance.specificity is None
    assert aided.cases == 0 and aided.performance.auc is None
    assert results.comparisons[0].p_value is None
    assert all(a.kappa is None for a in results.agreement)  # one reader: no agreement to measure
    assert performance([], [], []).n == 0


# --- the edges (issue 18, item 3) ---------------------------------------------------------------------
def study(truth: list[int], unaided: list[int], aided: list[int]):
    cases = [Case(i + 1, "psoriasis" if t else "seborrheic_dermatitis", 0.5) for i, t in enumerate(truth)]
    readings = [Answer("ann", p, i + 1, s) for p, ss in ((1, unaided), (2, aided)) for i, s in enumerate(ss)]
    return analyse(cases, readings, threshold=0.5, readers=["ann"])


def test_perfect_vs_chance_in_five_cases_is_an_exact_test_not_a_z() -> None:
    """AUC 1.000 unaided vs 0.500 aided (every aided score tied): DeLong's variance is 0, so z, its p and
    both CIs are not estimable; exchanging the 5 pairs gives |difference| 0.5 in 2 of 32 relabellings."""
    results = study([1, 1, 0, 0, 0], [9, 8, 2, 3, 1], [5, 5, 5, 5, 5])
    comparison = results.comparisons[0]
    assert comparison.auc_unaided == 1.0 and comparison.auc_aided == 0.5
    assert comparison.z is None and comparison.p_value is None  # was z inf (shown "—") with p 0
    assert comparison.p_permutation == pytest.approx(0.0625) and comparison.permutations == 32 and comparison.exact
    assert [p.performance.auc_ci for p in results.passes] == [None, None]  # was 1.000-1.000 and 0.500-0.500


def test_one_case_in_a_class_is_not_estimable() -> None:
    """One psoriasis case: DeLong's variance is 0/0 (pROC: NA); the exact test still runs (p = 1 here)."""
    results = study([1, 0, 0], [8, 3, 4], [9, 2, 6])
    comparison = results.comparisons[0]
    assert comparison.z is None and comparison.p_value is None
    assert comparison.p_permutation == 1.0 and comparison.permutations == 8
    assert all(p.performance.auc is not None and p.performance.auc_ci is None for p in results.passes)


def brute_force_permutation(truth, a, b) -> float:
    """Every one of the 2^n exchanges, AUCs by scikit-learn."""
    observed = roc_auc_score(truth, b) - roc_auc_score(truth, a)
    hits = 0
    for mask in range(2 ** len(truth)):
        swap = [(mask >> i) & 1 for i in range(len(truth))]
        first = [y if s else x for x, y, s in zip(a, b, swap)]
        second = [x if s else y for x, y, s in zip(a, b, swap)]
        hits += abs(roc_auc_score(truth, second) - roc_auc_score(truth, first)) >= abs(observed) - 1e-12
    return hits / 2 ** len(truth)


@pytest.mark.parametrize("seed", range(4))
def test_exact_permutation_test_matches_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, 9)
    truth[:2] = [0, 1]
    a, b = rng.integers(1, 11, 9), rng.integers(1, 11, 9)
    p, count, exact = permutation_test(truth, a, b)
    assert exact and count == 512 and p == pytest.approx(brute_force_permutation(truth, a, b), abs=1e-12)


def test_large_studies_use_delong_unless_not_estimable() -> None:
    rng = np.random.default_rng(3)
    truth = [1, 0] * 15
    unaided = [int(v) for v in rng.integers(1, 11, 30)]
    aided = [int(v) for v in rng.integers(1, 11, 30)]
    comparison = study(truth, unaided, aided).comparisons[0]
    assert comparison.z is not None and comparison.p_value is not None and comparison.p_permutation is None
    # one seborrheic case only: DeLong undefined, so random exchanges (seeded, reproducible) instead
    truth = [1] * 29 + [0]
    comparison = study(truth, unaided, aided).comparisons[0]
    assert comparison.z is None and comparison.p_value is None
    assert not comparison.exact and comparison.permutations == RANDOM_PERMUTATIONS
    assert 1 / (RANDOM_PERMUTATIONS + 1) <= comparison.p_permutation <= 1
    assert study(truth, unaided, aided).comparisons[0].p_permutation == comparison.p_permutation
