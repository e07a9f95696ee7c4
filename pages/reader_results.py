"""Study results (admins): readers without and with the model, the model alone, agreement, ROC curves, CSV."""
import pandas as pd
import streamlit as st

from clinic.units import read, write
from db.reader_study import list_studies, load_study, readings_csv, record_export, record_results_view
from pages import _resources as res
from pages import _seen as seen
from pages import _study as study
from security.text import plain
from scalp_model.metrics.reader_study import EXACT_MAX_CASES, PASS_LABELS, analyse, roc_figure

PASS_TEXT = {1: "without the model", 2: "with the model"}


def number(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


NOT_ESTIMABLE = "not estimable"


def interval(auc: float | None, ci: tuple[float, float] | None) -> str:
    """The DeLong CI; "not estimable" where there is an AUC but its variance is zero or undefined."""
    if ci is None:
        return "—" if auc is None else NOT_ESTIMABLE
    return f"{ci[0]:.3f}–{ci[1]:.3f}"


def p_text(p: float | None) -> str:
    return "—" if p is None else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def delong_cells(c) -> tuple[str, str]:
    """(z, p) of DeLong's paired test: never a p without its z."""
    if c.difference is None:
        return "—", "—"
    if c.z is None or c.p_value is None:
        return NOT_ESTIMABLE, NOT_ESTIMABLE
    return number(c.z, 2), p_text(c.p_value)


def permutation_cell(c) -> str:
    if c.p_permutation is None:
        return "—"
    kind = "exact" if c.exact else "random"
    shown = "< 0.001" if c.p_permutation < 0.001 else f"{c.p_permutation:.4g}"  # exact p: k / 2^n, e.g. 0.0625
    return f"{shown} ({kind}, {c.permutations:,} relabellings)"


def performance_row(who: str, setting: str, read: int, total: int, perf) -> dict:
    return {"Reader": plain(who), "Setting": setting, "Cases read": f"{read} of {total}", "AUC": number(perf.auc),
            "AUC 95% CI": interval(perf.auc, perf.auc_ci), "Sensitivity": number(perf.sensitivity),
            "Specificity": number(perf.specificity), "Cohen's κ": number(perf.kappa)}


def exported(actor, study_id: int, rows: int) -> None:
    """The download button's callback: audit the export (runs before the page's next run)."""
    with res.friendly_errors(operator=True, stop=False):
        write(res.get_database(), record_export, study_id, actor, rows=rows)


admin = study.require_admin()
st.title("Study results")
with res.friendly_errors(operator=True):
    studies = {s.id: s for s in read(res.get_database(), list_studies, admin)}
if not studies:
    st.info("No reader study yet. Create one under **Study set-up**.", icon=":material/quiz:")
    st.page_link("pages/reader_admin.py", label="Study set-up", icon=":material/settings:")
    st.stop()
chosen = st.selectbox("Study", list(studies), format_func=lambda i: studies[i].name, key="rr_study")
with res.friendly_errors(operator=True):
    data = read(res.get_database(), load_study, chosen, admin)


def audit_results() -> None:
    with res.friendly_errors(operator=True):
        write(res.get_database(), record_results_view, admin, chosen, readings=len(data.readings))


seen.audit_once(("results", chosen), audit_results)  # once per view of the page, not on every rerun
results = analyse(data.cases, data.readings, data.threshold, readers=data.readers)

positives = sum(c.truth == "psoriasis" for c in data.cases)
st.caption(f"{len(data.cases)} cases ({positives} psoriasis, {len(data.cases) - positives} seborrheic dermatitis) · "
           f"{len(data.readers)} readers · {len(data.readings)} of {2 * len(data.cases) * len(data.readers)} readings · "
           f"model {data.model_version} (sha256 {data.model_sha256[:12]}) at threshold {data.threshold:.2f} · "
           f"wash-out {data.washout_days:g} days")
st.caption("Reader AUCs use a 1–10 rating of psoriasis likelihood: psoriasis with confidence c is 5 + c, "
           "seborrheic dermatitis with confidence c is 6 − c. Psoriasis is the positive class.")

st.subheader("Readers and the model")
rows = [performance_row(p.reader, PASS_TEXT[p.pass_number], p.cases, results.cases, p.performance)
        for p in results.passes]
rows.append(performance_row("Model alone", f"P ≥ {data.threshold:.2f}", results.cases, results.cases, results.model))
st.table(pd.DataFrame(rows), hide_index=True)

st.subheader("Without vs with the model")
st.table(pd.DataFrame([{
    "Reader": plain(c.reader), "Cases read twice": str(c.cases), "AUC without": number(c.auc_unaided),
    "AUC with": number(c.auc_aided), "Difference": number(c.difference), "z (paired DeLong)": delong_cells(c)[0],
    "p (paired DeLong)": delong_cells(c)[1], "p (paired permutation, statistic: the difference)": permutation_cell(c),
} for c in results.comparisons]), hide_index=True)
st.caption(f"DeLong's z and CIs are not estimable when a class has one case or the variance is zero (e.g. AUC "
           f"1.000). The permutation test exchanges each case's two ratings (Bandos et al. 2005): exact over all "
           f"2ⁿ exchanges up to {EXACT_MAX_CASES} cases, else random exchanges where DeLong is not estimable.")

st.subheader("Agreement between readers")
columns = st.columns(len(results.agreement))
for column, agreement in zip(columns, results.agreement):
    column.metric(f"Fleiss' κ, {PASS_TEXT[agreement.pass_number]}", number(agreement.kappa),
                  help=f"{agreement.readers} readers on the {agreement.cases} cases all of them have read "
                       f"({PASS_LABELS[agreement.pass_number]} pass).")

st.subheader("ROC curves")
drawn = [(reader, curves) for reader, curves in results.curves.items() if any(c.label != "model" for c in curves)]
if not drawn:
    st.caption("Curves appear once a reader has read cases of both kinds.")
for start in range(0, len(drawn), 2):
    for column, (reader, curves) in zip(st.columns(2), drawn[start:start + 2]):
        column.pyplot(roc_figure(reader, curves), width="stretch")

st.subheader("Readings")
csv_text = readings_csv(data)
st.download_button("Download every reading (CSV)", csv_text, file_name=f"reader-study-{data.id}-readings.csv",
                   mime="text/csv", key="rr_csv", icon=":material/download:", on_click=exported,
                   args=(admin, data.id, len(data.readings)), disabled=not data.readings)
