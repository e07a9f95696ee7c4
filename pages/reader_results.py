"""Study results (admins): readers without and with the model, the model alone, agreement, ROC curves, CSV."""
import pandas as pd
import streamlit as st

from clinic.units import read, write
from db.reader_study import list_studies, load_study, readings_csv, record_export, record_results_view
from i18n import N_, _
from pages import _resources as res
from pages import _seen as seen
from pages import _study as study
from security.text import plain
from scalp_model.metrics.reader_study import EXACT_MAX_CASES, PASS_LABELS, analyse, roc_figure

PASS_TEXT = {1: N_("without the model"), 2: N_("with the model")}


def number(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


NOT_ESTIMABLE = N_("not estimable")


def interval(auc: float | None, ci: tuple[float, float] | None) -> str:
    """The DeLong CI; "not estimable" where there is an AUC but its variance is zero or undefined."""
    if ci is None:
        return "—" if auc is None else _(NOT_ESTIMABLE)
    return f"{ci[0]:.3f}–{ci[1]:.3f}"


def p_text(p: float | None) -> str:
    return "—" if p is None else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def delong_cells(c) -> tuple[str, str]:
    """(z, p) of DeLong's paired test: never a p without its z."""
    if c.difference is None:
        return "—", "—"
    if c.z is None or c.p_value is None:
        return _(NOT_ESTIMABLE), _(NOT_ESTIMABLE)
    return number(c.z, 2), p_text(c.p_value)


def permutation_cell(c) -> str:
    if c.p_permutation is None:
        return "—"
    shown = "< 0.001" if c.p_permutation < 0.001 else f"{c.p_permutation:.4g}"  # exact p: k / 2^n, e.g. 0.0625
    return (_("{p} (exact, {n} relabellings)") if c.exact else _("{p} (random, {n} relabellings)")).format(
        p=shown, n=f"{c.permutations:,}")


def performance_row(who: str, setting: str, read: int, total: int, perf) -> dict:
    return {_("Reader"): plain(who), _("Setting"): setting, _("Cases read"): _("{done} of {total}").format(
                done=read, total=total), "AUC": number(perf.auc),
            _("AUC 95% CI"): interval(perf.auc, perf.auc_ci), _("Sensitivity"): number(perf.sensitivity),
            _("Specificity"): number(perf.specificity), "Cohen's κ": number(perf.kappa)}


def exported(actor, study_id: int, rows: int) -> None:
    """The download button's callback: audit the export (runs before the page's next run)."""
    with res.friendly_errors(operator=True, stop=False):
        write(res.get_database(), record_export, study_id, actor, rows=rows)


admin = study.require_admin()
st.title(_("Study results"))
with res.friendly_errors(operator=True):
    studies = {s.id: s for s in read(res.get_database(), list_studies, admin)}
if not studies:
    st.info(_("No reader study yet. Create one under **Study set-up**."), icon=":material/quiz:")
    st.page_link("pages/reader_admin.py", label=_("Study set-up"), icon=":material/settings:")
    st.stop()
chosen = st.selectbox(_("Study"), list(studies), format_func=lambda i: studies[i].name, key="rr_study")
with res.friendly_errors(operator=True):
    data = read(res.get_database(), load_study, chosen, admin)


def audit_results() -> None:
    with res.friendly_errors(operator=True):
        write(res.get_database(), record_results_view, admin, chosen, readings=len(data.readings))


seen.audit_once(("results", chosen), audit_results)  # once per view of the page, not on every rerun
results = analyse(data.cases, data.readings, data.threshold, readers=data.readers)

positives = sum(c.truth == "psoriasis" for c in data.cases)
st.caption(_("{cases} cases ({positives} psoriasis, {negatives} seborrheic dermatitis) · {readers} readers · "
             "{readings} of {possible} readings · model {model} (sha256 {sha}) at threshold {threshold} · "
             "wash-out {days} days").format(
    cases=len(data.cases), positives=positives, negatives=len(data.cases) - positives, readers=len(data.readers),
    readings=len(data.readings), possible=2 * len(data.cases) * len(data.readers), model=data.model_version,
    sha=data.model_sha256[:12], threshold=f"{data.threshold:.2f}", days=f"{data.washout_days:g}"))
st.caption(_("Reader AUCs use a 1–10 rating of psoriasis likelihood: psoriasis with confidence c is 5 + c, "
             "seborrheic dermatitis with confidence c is 6 − c. Psoriasis is the positive class."))

st.subheader(_("Readers and the model"))
rows = [performance_row(p.reader, _(PASS_TEXT[p.pass_number]), p.cases, results.cases, p.performance)
        for p in results.passes]
rows.append(performance_row(_("Model alone"), f"P ≥ {data.threshold:.2f}", results.cases, results.cases,
                            results.model))
st.table(pd.DataFrame(rows), hide_index=True)

st.subheader(_("Without vs with the model"))
st.table(pd.DataFrame([{
    _("Reader"): plain(c.reader), _("Cases read twice"): str(c.cases), _("AUC without"): number(c.auc_unaided),
    _("AUC with"): number(c.auc_aided), _("Difference"): number(c.difference),
    _("z (paired DeLong)"): delong_cells(c)[0], _("p (paired DeLong)"): delong_cells(c)[1],
    _("p (paired permutation, statistic: the difference)"): permutation_cell(c),
} for c in results.comparisons]), hide_index=True)
st.caption(_("DeLong's z and CIs are not estimable when a class has one case or the variance is zero (e.g. AUC "
             "1.000). The permutation test exchanges each case's two ratings (Bandos et al. 2005): exact over all "
             "2ⁿ exchanges up to {count} cases, else random exchanges where DeLong is not estimable.").format(
    count=EXACT_MAX_CASES))

st.subheader(_("Agreement between readers"))
columns = st.columns(len(results.agreement))
for column, agreement in zip(columns, results.agreement):
    column.metric(f"Fleiss' κ, {_(PASS_TEXT[agreement.pass_number])}", number(agreement.kappa),
                  help=_("{readers} readers on the {cases} cases all of them have read ({label} pass).").format(
                      readers=agreement.readers, cases=agreement.cases, label=PASS_LABELS[agreement.pass_number]))

st.subheader(_("ROC curves"))
drawn = [(reader, curves) for reader, curves in results.curves.items() if any(c.label != "model" for c in curves)]
if not drawn:
    st.caption(_("Curves appear once a reader has read cases of both kinds."))
for start in range(0, len(drawn), 2):
    for column, (reader, curves) in zip(st.columns(2), drawn[start:start + 2]):
        column.pyplot(roc_figure(reader, curves), width="stretch")

st.subheader(_("Readings"))
csv_text = readings_csv(data)
st.download_button(_("Download every reading (CSV)"), csv_text, file_name=f"reader-study-{data.id}-readings.csv",
                   mime="text/csv", key="rr_csv", icon=":material/download:", on_click=exported,
                   args=(admin, data.id, len(data.readings)), disabled=not data.readings)
