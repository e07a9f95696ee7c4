"""Reader-study statistics, as in Yu et al. 2022 (readers without, then with, the model).

Input: the study's cases (truth, the model's P(psoriasis)) and the readers' answers, each with a 1-10
ordinal ``score`` of psoriasis likelihood (``db.reader_study.ordinal_score``: a score of 6 or more is a
psoriasis diagnosis). Output, per reader and pass: AUC with its DeLong 95% CI (on the ordinal score),
sensitivity and specificity (psoriasis positive), Cohen's kappa against the truth; per pass, Fleiss'
kappa across readers; the model on the same cases at the checkpoint's threshold; and per reader the
unaided-vs-aided AUC difference with DeLong's paired test and a paired permutation test. AUC, CI and the
DeLong test come from :mod:`scalp_model.metrics.classification`. No Streamlit, no database.

At the edges: DeLong's variance is undefined (0/0) with one case in a class and zero when every placement
is equal (e.g. AUC 1.000, or every score tied); pROC returns NA or a degenerate 1.000–1.000 there. Such
CIs and z statistics are reported here as None ("not estimable"), and a p-value is never reported without
its statistic. The permutation test (Bandos, Rockette & Gur 2005, Stat Med 24:2873-2893: exchange the two
ratings of each case, statistic = the AUC difference) is run for small studies, exactly over all 2^n
exchanges for up to :data:`EXACT_MAX_CASES` cases, and for larger studies only where DeLong's variance is
not estimable, with :data:`RANDOM_PERMUTATIONS` random exchanges and p = (b + 1) / (R + 1) (Phipson &
Smyth 2010, Stat Appl Genet Mol Biol 9:39).
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sklearn.metrics import roc_curve

from .agreement import fleiss_kappa, fleiss_table
from .classification import auc_ci, decision_figures, delong_paired
from .permutation import EXACT_MAX_CASES, RANDOM_PERMUTATIONS, ZERO_VARIANCE, permutation_test, variance_estimable

POSITIVE = "psoriasis"
PASS_LABELS = {1: "unaided", 2: "aided"}
__all__ = ["EXACT_MAX_CASES", "PASS_LABELS", "POSITIVE", "RANDOM_PERMUTATIONS", "Performance", "StudyResults",
           "analyse", "performance", "permutation_test", "roc_figure", "variance_estimable"]


class CaseLike(Protocol):
    case_id: int
    truth: str
    p_psoriasis: float


class ReadingLike(Protocol):
    reader: str
    pass_number: int
    case_id: int
    diagnosis: str

    @property
    def score(self) -> int: ...


# --- performance -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Performance:
    """One set of answers against the truth; AUC fields are None unless both classes are present.

    ``auc_ci`` is also None when DeLong's variance is undefined (one case in a class) or zero (e.g. a
    perfect AUC): "not estimable" rather than a degenerate interval such as 1.000-1.000.
    """

    n: int
    n_positive: int
    auc: float | None
    auc_ci: tuple[float, float] | None
    sensitivity: float | None
    specificity: float | None
    kappa: float | None
    accuracy: float | None


def performance(truth: Sequence[int], scores: Sequence[float], decisions: Sequence[int]) -> Performance:
    """``truth`` and ``decisions`` are 1 for psoriasis; ``scores`` rank psoriasis likelihood.

    The figures are :func:`scalp_model.metrics.classification.decision_figures`'; the AUC's CI is dropped
    where DeLong's variance is not estimable (:func:`variance_estimable`).
    """
    f = decision_figures(truth, scores, decisions)
    ci = f["auc_ci"] if f["auc"] is not None and variance_estimable([int(v) for v in truth], scores) else None
    return Performance(n=f["n"], n_positive=f["n_positive"], auc=f["auc"], auc_ci=ci, sensitivity=f["sensitivity"],
                       specificity=f["specificity"], kappa=f["kappa"], accuracy=f["accuracy"])


@dataclass(frozen=True)
class PassResult:
    reader: str
    pass_number: int
    cases: int  # cases this reader has read in this pass
    performance: Performance


@dataclass(frozen=True)
class AidComparison:
    """Aided minus unaided AUC of one reader on the cases read in both passes.

    ``z`` and ``p_value`` are DeLong's paired test; both are None ("not estimable") when its variance is
    undefined or zero. ``p_permutation`` is the paired permutation test of the same difference (its
    statistic), exact over ``permutations`` = 2^n relabellings when ``exact``; it is None for a study of
    more than :data:`EXACT_MAX_CASES` cases whose DeLong test is estimable (DeLong's normal approximation
    is then the test).
    """

    reader: str
    cases: int
    auc_unaided: float | None
    auc_aided: float | None
    difference: float | None
    z: float | None
    p_value: float | None
    p_permutation: float | None = None
    permutations: int = 0
    exact: bool = False


@dataclass(frozen=True)
class Agreement:
    """Fleiss' kappa across readers in one pass, on the cases every one of them has read in it."""

    pass_number: int
    kappa: float | None
    cases: int
    readers: int


@dataclass(frozen=True)
class RocCurve:
    label: str
    auc: float
    fpr: tuple[float, ...]
    tpr: tuple[float, ...]


@dataclass(frozen=True)
class StudyResults:
    cases: int
    threshold: float
    readers: tuple[str, ...]
    passes: tuple[PassResult, ...]
    comparisons: tuple[AidComparison, ...]
    agreement: tuple[Agreement, ...]
    model: Performance
    curves: Mapping[str, tuple[RocCurve, ...]]  # per reader: unaided, aided and the model (where defined)


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def analyse(cases: Iterable[CaseLike], readings: Iterable[ReadingLike], threshold: float,
            readers: Sequence[str] | None = None) -> StudyResults:
    """Every figure of the results page. Incomplete passes count the cases read so far."""
    cases = list(cases)
    truth = {c.case_id: int(c.truth == POSITIVE) for c in cases}
    p_model = {c.case_id: float(c.p_psoriasis) for c in cases}
    answers: dict[tuple[str, int], dict[int, ReadingLike]] = defaultdict(dict)
    for reading in readings:
        answers[(reading.reader, reading.pass_number)][reading.case_id] = reading
    names = tuple(readers) if readers is not None else tuple(dict.fromkeys(r for r, _ in answers))

    ids = [c.case_id for c in cases]
    model = performance([truth[i] for i in ids], [p_model[i] for i in ids],
                        [int(p_model[i] >= threshold) for i in ids])
    model_curve = _curve("model", [truth[i] for i in ids], [p_model[i] for i in ids])

    passes, comparisons, curves = [], [], {}
    for name in names:
        reader_curves = []
        for pass_number in PASS_LABELS:
            read = answers.get((name, pass_number), {})
            order = [i for i in ids if i in read]
            y = [truth[i] for i in order]
            scores = [read[i].score for i in order]
            passes.append(PassResult(name, pass_number, len(order), performance(
                y, scores, [int(read[i].diagnosis == POSITIVE) for i in order])))
            curve = _curve(PASS_LABELS[pass_number], y, scores)
            if curve is not None:
                reader_curves.append(curve)
        if model_curve is not None:
            reader_curves.append(model_curve)
        curves[name] = tuple(reader_curves)
        comparisons.append(_compare(name, ids, truth, answers.get((name, 1), {}), answers.get((name, 2), {})))

    agreement = tuple(_agreement(pass_number, ids, [answers.get((name, pass_number), {}) for name in names])
                      for pass_number in PASS_LABELS)
    return StudyResults(len(ids), float(threshold), names, tuple(passes), tuple(comparisons), agreement, model, curves)


def _curve(label: str, y: Sequence[int], scores: Sequence[float]) -> RocCurve | None:
    if not 0 < sum(y) < len(y):
        return None
    fpr, tpr, _ = roc_curve(y, scores, drop_intermediate=False)
    auc, _ = auc_ci(y, scores)
    return RocCurve(label, auc, tuple(float(v) for v in fpr), tuple(float(v) for v in tpr))


def _compare(name: str, ids: Sequence[int], truth: Mapping[int, int], unaided: Mapping[int, Any],
             aided: Mapping[int, Any]) -> AidComparison:
    both = [i for i in ids if i in unaided and i in aided]
    y = [truth[i] for i in both]
    if not 0 < sum(y) < len(y):
        return AidComparison(name, len(both), None, None, None, None, None)
    a, b = [unaided[i].score for i in both], [aided[i].score for i in both]
    test = delong_paired(y, a, b)
    z = p = None
    if min(sum(y), len(y) - sum(y)) >= 2 and test["se"] ** 2 > ZERO_VARIANCE:
        z, p = _finite(test["z"]), test["p_value"]
        if z is None:
            p = None
    p_perm, count, exact = None, 0, False
    if len(both) <= EXACT_MAX_CASES or z is None:
        p_perm, count, exact = permutation_test(y, a, b)
    return AidComparison(name, len(both), test["auc_a"], test["auc_b"], test["difference"], z, p,
                         p_perm, count, exact)


def _agreement(pass_number: int, ids: Sequence[int], per_reader: Sequence[Mapping[int, Any]]) -> Agreement:
    if len(per_reader) < 2:
        return Agreement(pass_number, None, 0, len(per_reader))
    common = [i for i in ids if all(i in read for read in per_reader)]
    if not common:
        return Agreement(pass_number, None, 0, len(per_reader))
    table = fleiss_table([[read[i].diagnosis for read in per_reader] for i in common],
                         [POSITIVE, "seborrheic_dermatitis"])
    return Agreement(pass_number, _finite(fleiss_kappa(table)), len(common), len(per_reader))


# --- figure ------------------------------------------------------------------------------------------
CURVE_STYLE = {
    "unaided": {"color": "#3f7fa6", "linestyle": "--", "marker": "o"},
    "aided": {"color": "#b5475b", "linestyle": "-", "marker": "s"},
    "model": {"color": "#333333", "linestyle": ":", "marker": None},
}
CURVE_NAMES = {"unaided": "without the model", "aided": "with the model", "model": "model alone"}


def roc_figure(reader: str, curves: Sequence[RocCurve], *, size: float = 4.2) -> Any:
    """One reader's ROC curves (unaided, aided, the model) on one square plot, as the paper's Figs 5-7.

    Returns a matplotlib Figure (Agg; no pyplot state is kept). AUCs are in the legend.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(size, size), dpi=100, layout="constrained")
    ax = figure.add_subplot()
    ax.plot([0, 1], [0, 1], color="#bbbbbb", linewidth=1, label="chance")
    for curve in curves:
        style = CURVE_STYLE.get(curve.label, {})
        ax.plot(curve.fpr, curve.tpr, linewidth=2, markersize=4, drawstyle="default", **style,
                label=f"{CURVE_NAMES.get(curve.label, curve.label)} (AUC {curve.auc:.3f})")
    ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), xlabel="1 − specificity", ylabel="sensitivity",
           title=f"Reader {reader}", aspect="equal")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    return figure
