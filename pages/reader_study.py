"""Reader study: one case per screen, unaided (pass 1) then aided by the model (pass 2); resumable.

Keyboard: pick the diagnosis (arrow keys in the radio group), Tab to the confidence, type 1-5, Enter.
"""
import time

import streamlit as st

from clinic.units import read, write
from db.models import StudyLabel
from i18n import N_, _
from db.reader_study import (AIDED, ReadingOrderError, next_step, record_case_view, record_reading,
                             studies_for_reader)
from pages import _auth as auth
from pages import _resources as res
from pages import _seen as seen
from pages import _views as views
from security.text import plain

CONFIDENCE_HELP = N_("1 = a guess, 3 = fairly sure, 5 = certain.")


def describe(progress) -> str:
    state = (_("finished") if progress.finished else
             _("pass {number} · {done} of {total} readings").format(
                 number=progress.current_pass, done=progress.unaided_done + progress.aided_done,
                 total=2 * progress.cases))
    return f"{progress.study_name} ({state})"


clinician = auth.require_clinician()
st.title(_("Reader study"))
notice = st.session_state.pop("rs_notice", None)
if notice:
    st.toast(notice, icon=":material/check:")
with res.friendly_errors(operator=True):
    studies = read(res.get_database(), studies_for_reader, clinician)
if not studies:
    st.info(_("You have not been invited to a reader study. An administrator invites readers under "
              "**Study set-up**."), icon=":material/quiz:")
    st.stop()
by_id = {p.study_id: p for p in studies}
if len(studies) == 1:
    chosen = studies[0]
    st.caption(_("Study: **{name}**").format(name=plain(chosen.study_name)))
else:
    # The browser keeps a select box's choice as its label text, so labels must not change as the reader
    # progresses (a label with the reading count made the choice lag one reading behind); progress is shown
    # in the caption and the bars. The default is set through Session State, not index=, so Streamlit does
    # not warn about a widget with both a default and a Session State value.
    names = [p.study_name for p in studies]
    if st.session_state.get("rs_study") not in by_id:
        st.session_state["rs_study"] = next((p.study_id for p in studies if not p.finished), studies[0].study_id)
    chosen = by_id[st.selectbox(_("Study"), list(by_id), key="rs_study", format_func=lambda i: (
        by_id[i].study_name if names.count(by_id[i].study_name) == 1 else f"{by_id[i].study_name} (no. {i})"))]
    st.caption(plain(describe(chosen)))

with res.friendly_errors(operator=True):  # audited once per view, below
    step = read(res.get_database(), next_step, chosen.study_id, clinician, record_view=False)
progress, case = step.progress, step.case
bars = st.columns(2)
bars[0].progress(progress.unaided_done / progress.cases,
                 text=_("Pass 1, without the model: {done} of {total}").format(done=progress.unaided_done,
                                                                                total=progress.cases))
bars[1].progress(progress.aided_done / progress.cases,
                 text=_("Pass 2, with the model: {done} of {total}").format(done=progress.aided_done,
                                                                             total=progress.cases))

if progress.finished:
    st.success(_("You have read every case in both passes. Thank you!"), icon=":material/task_alt:")
    st.stop()
if case is None:
    st.info(_("Pass 1 is complete. Pass 2 (with the model) opens on {time}, after a wash-out of {days} days, so "
              "that you read the cases afresh.").format(time=f"{progress.aided_opens_at:%Y-%m-%d %H:%M} UTC",
                                                        days=f"{progress.washout_days:g}"),
            icon=":material/hourglass_top:")
    st.stop()



def audit_case() -> None:
    with res.friendly_errors(operator=True):
        write(res.get_database(), record_case_view, clinician, chosen.study_id, case.case_id, case.pass_number)


seen.audit_once(("case", chosen.study_id, case.case_id, case.pass_number), audit_case)
aided = case.pass_number == AIDED
if case.sequence == 1:
    st.info(_("**Pass 2, with the model.** The cases come again in a new order, now with the model's estimate "
              "and its attention map. Give your own diagnosis.") if aided else
            _("**Pass 1, without the model.** For each case give your diagnosis and how confident you are. "
              "The model's output is shown only in pass 2."), icon=":material/info:")
shown = st.session_state.setdefault("rs_shown", {})
token = (progress.reader_id, case.pass_number, case.case_id)
shown.setdefault(token, time.monotonic())

st.subheader((_("Case {number} of {total} · with the model") if aided else
              _("Case {number} of {total} · without the model")).format(number=case.sequence, total=case.total))
if aided:
    picture, model_column = st.columns([1, 1], gap="medium")
    picture.image(case.data, caption=_("Photo"), width="stretch")
    if case.overlay_png is not None:
        model_column.image(case.overlay_png, caption=_("The model's attention map (Grad-CAM)"), width="stretch")
    with model_column:
        views.probability_bar(case.p_psoriasis, case.threshold)
        st.caption(_("The model reads psoriasis at P ≥ {threshold}.").format(threshold=f"{case.threshold:.2f}")
                   + " " + _(views.MAP_CAPTION))
else:
    st.image(case.data, caption=_("Photo"), width=min(case.width, 720))

form_key = f"rs_form_{progress.reader_id}_{case.pass_number}_{case.case_id}"
with st.form(form_key, clear_on_submit=True):
    answer = st.columns([2, 1, 1], vertical_alignment="bottom")
    diagnosis = answer[0].radio(_("Diagnosis"), list(StudyLabel), index=None, horizontal=True,
                                format_func=views.words_for(StudyLabel, views.label),
                                key=f"rs_dx_{case.pass_number}_{case.case_id}")
    confidence = answer[1].number_input(_("Confidence (1–5)"), min_value=1, max_value=5, value=3, step=1,
                                        help=_(CONFIDENCE_HELP), key=f"rs_conf_{case.pass_number}_{case.case_id}")
    submitted = answer[2].form_submit_button(_("Save and next"), type="primary", width="stretch",
                                             icon=":material/keyboard_return:")
if submitted:
    if diagnosis is None:
        st.error(_("Choose a diagnosis before saving."))
        st.stop()
    seconds = time.monotonic() - shown.get(token, time.monotonic())
    try:
        write(res.get_database(), record_reading, chosen.study_id, clinician, case.case_id, case.pass_number,
              str(diagnosis), int(confidence), seconds=seconds)
    except ReadingOrderError as exc:
        st.session_state["rs_notice"] = str(exc)
    except res.USER_ERRORS as exc:
        res.show_error(exc, operator=True)
        st.stop()
    else:
        shown.pop(token, None)
        st.session_state["rs_notice"] = _("Case {number} saved.").format(number=case.sequence)
    st.rerun()
