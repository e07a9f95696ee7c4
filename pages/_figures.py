"""The queue page's "Figures for the clinic" (issue 19 item 5): widgets only, the figures come from
``clinic.figures`` (one read) and their showing is audited once per period chosen in a visit."""
from __future__ import annotations

from datetime import timedelta

import altair as alt
import pandas as pd
import streamlit as st

from clinic import figures
from clinic.figures import ClinicFigures
from db.figures import Durations
from db.users import Clinician
from pages import _resources as res
from pages import _seen as seen

PERIODS = {"last 30 days": 30, "last 90 days": 90, "all time": None}
NOT_ENOUGH = "not enough cases"


def _hours(value: timedelta | None) -> str:
    return f"{value.total_seconds() / 3600:.1f} h" if value is not None else NOT_ENOUGH


def _duration_text(d: Durations) -> str:
    return _hours(d.median) if figures.enough(d) else NOT_ENOUGH


def _turnaround_chart(result: ClinicFigures) -> None:
    groups = {"decided from the first photos": result.turnaround_first_photos,
              "after a request for more": result.turnaround_after_request}
    chart = pd.DataFrame([{"cases": name, "statistic": statistic, "hours": value.total_seconds() / 3600, "n": d.count}
                          for name, d in groups.items() if figures.enough(d)
                          for statistic, value in (("median", d.median), ("90th percentile", d.p90))
                          if value is not None])
    st.caption(" · ".join(f"{name}: median {_duration_text(d)} (n = {d.count})" for name, d in groups.items()))
    if not chart.empty:
        order = ["median", "90th percentile"]
        st.altair_chart(alt.Chart(chart).mark_bar().encode(
            y=alt.Y("cases:N", sort=list(groups), title=None), yOffset=alt.YOffset("statistic:N", sort=order),
            x=alt.X("hours:Q", title="hours from submission to review"),
            color=alt.Color("statistic:N", sort=order, title=None, legend=alt.Legend(orient="bottom")),
            tooltip=["cases", "statistic", alt.Tooltip("hours:Q", format=".1f"), "n"],
        ).properties(height=180), width="stretch")


def _agreement(result: ClinicFigures) -> None:
    a = result.agreement
    kappa = f"{a.kappa:.2f}" if a.kappa is not None else NOT_ENOUGH
    st.metric("Dermatologist–model agreement (Cohen's κ)", kappa, help="The model's label (its one decision rule "
              "on the first photos) against the dermatologist's diagnosis, psoriasis / seborrheic dermatitis only.")
    st.caption(f"n = {a.cases} cases, {a.agreed} agree; {a.outside} outside the model's two classes.")
    if a.cases or a.outside:
        st.bar_chart(pd.DataFrame({"cases": [a.agreed, a.cases - a.agreed, a.outside]},
                                  index=["agree", "disagree", "outside the model's two classes"]), horizontal=True)


def show(clinician: Clinician) -> None:
    """The collapsed "Figures for the clinic" section, shown to ``clinician``."""
    with st.expander("Figures for the clinic", icon=":material/monitoring:"):
        period = st.selectbox("Period (by submission)", list(PERIODS), key="q_fig_period")
        days = PERIODS[period]
        with res.friendly_errors(operator=True):
            result = figures.clinic_figures(res.get_database(), days=days)
            seen.audit_once(("figures", period),
                            lambda: figures.record_view(res.get_database(), clinician, days=days))
        share, answer = st.columns(2)
        share.metric("Needed more information",
                     f"{result.request_share:.0%}" if result.request_share is not None else NOT_ENOUGH)
        share.caption(f"{result.with_request} of n = {result.consultations} consultations")
        answer.metric("Patients' answer time (median)", _duration_text(result.answer_time))
        answer.caption(f"n = {result.answer_time.count} answers; 90th percentile "
                       f"{_hours(result.answer_time.p90) if figures.enough(result.answer_time) else NOT_ENOUGH}")
        st.markdown("**Turnaround**")
        _turnaround_chart(result)
        _agreement(result)
