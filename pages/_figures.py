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
from i18n import N_, _
from pages import _resources as res
from pages import _seen as seen

PERIODS = {"last 30 days": 30, "last 90 days": 90, "all time": None}
PERIOD_WORDS = {"last 30 days": N_("last 30 days"), "last 90 days": N_("last 90 days"), "all time": N_("all time")}
NOT_ENOUGH = N_("not enough cases")
STATISTICS = (N_("median"), N_("90th percentile"))  # the turnaround chart's two bars per group


def _hours(value: timedelta | None) -> str:
    return _("{n} h").format(n=f"{value.total_seconds() / 3600:.1f}") if value is not None else _(NOT_ENOUGH)


def _duration_text(d: Durations) -> str:
    return _hours(d.median) if figures.enough(d) else _(NOT_ENOUGH)


def _turnaround_chart(result: ClinicFigures) -> None:
    groups = {N_("decided from the first photos"): result.turnaround_first_photos,
              N_("after a request for more"): result.turnaround_after_request}
    # The chart's values are the words it shows (its bars' names, the legend, the tooltips), in the session's language.
    chart = pd.DataFrame([{"cases": _(name), "statistic": _(statistic), "hours": value.total_seconds() / 3600,
                           "n": d.count}
                          for name, d in groups.items() if figures.enough(d)
                          for statistic, value in zip(STATISTICS, (d.median, d.p90))
                          if value is not None])
    st.caption(" · ".join(_("{cases}: median {median} (n = {n})").format(cases=_(name), median=_duration_text(d),
                                                                         n=d.count) for name, d in groups.items()))
    if not chart.empty:
        order = [_(statistic) for statistic in STATISTICS]
        st.altair_chart(alt.Chart(chart).mark_bar().encode(
            y=alt.Y("cases:N", sort=[_(name) for name in groups], title=None),
            yOffset=alt.YOffset("statistic:N", sort=order),
            x=alt.X("hours:Q", title=_("hours from submission to review")),
            color=alt.Color("statistic:N", sort=order, title=None, legend=alt.Legend(orient="bottom")),
            tooltip=[alt.Tooltip("cases:N", title=_("cases")), alt.Tooltip("statistic:N", title=_("statistic")),
                     alt.Tooltip("hours:Q", format=".1f", title=_("hours")), "n"],
        ).properties(height=180), width="stretch")


def _agreement(result: ClinicFigures) -> None:
    a = result.agreement
    kappa = f"{a.kappa:.2f}" if a.kappa is not None else _(NOT_ENOUGH)
    st.metric(_("Dermatologist–model agreement (Cohen's κ)"), kappa, help=_(
        "The model's label (its one decision rule on the first photos) against the dermatologist's diagnosis, "
        "psoriasis / seborrheic dermatitis only."))
    st.caption(_("n = {cases} cases, {agreed} agree; {outside} outside the model's two classes.").format(
        cases=a.cases, agreed=a.agreed, outside=a.outside))
    if a.cases or a.outside:
        st.bar_chart(pd.DataFrame({_("cases"): [a.agreed, a.cases - a.agreed, a.outside]},
                                  index=[_("agree"), _("disagree"), _("outside the model's two classes")]),
                     horizontal=True)


def show(clinician: Clinician) -> None:
    """The collapsed "Figures for the clinic" section, shown to ``clinician``."""
    with st.expander(_("Figures for the clinic"), icon=":material/monitoring:"):
        period = st.selectbox(_("Period (by submission)"), list(PERIODS), key="q_fig_period",
                              format_func={p: _(words) for p, words in PERIOD_WORDS.items()}.get)
        days = PERIODS[period]
        with res.friendly_errors(operator=True):
            result = figures.clinic_figures(res.get_database(), days=days)
            seen.audit_once(("figures", period),
                            lambda: figures.record_view(res.get_database(), clinician, days=days))
        share, answer = st.columns(2)
        share.metric(_("Needed more information"),
                     f"{result.request_share:.0%}" if result.request_share is not None else _(NOT_ENOUGH))
        share.caption(_("{count} of n = {total} consultations").format(count=result.with_request,
                                                                       total=result.consultations))
        answer.metric(_("Patients' answer time (median)"), _duration_text(result.answer_time))
        answer.caption(_("n = {count} answers; 90th percentile {p90}").format(
            count=result.answer_time.count,
            p90=_hours(result.answer_time.p90) if figures.enough(result.answer_time) else _(NOT_ENOUGH)))
        st.markdown(_("**Turnaround**"))
        _turnaround_chart(result)
        _agreement(result)
