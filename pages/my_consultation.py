"""My consultation: a patient enters the access code and reads the status or the dermatologist's conclusion,
answers the dermatologist's request for more information (photos and text), and, once reviewed, starts a
follow-up linked to this consultation (issue 19: the code proves it is the same person). A follow-up's code
also shows the earlier consultations of its chain; an earlier code shows only its own consultation."""
import streamlit as st

from clinic.cases import follow_up
from clinic.requests import answer
from clinic.submit import Upload
from i18n import _
from i18n.formats import date_time_utc, long_date
from pages import _draft as draft
from pages import _report as report
from pages import _resources as res
from pages import _views as views
from pages._wording import NEED_PATIENT, NEXT_STEPS
from security.text import plain

ANSWER_TYPES = ["jpg", "jpeg", "png", "heic", "heif", "webp"]
MAX_ANSWER_PHOTOS = 3


def answer_form(code: str) -> None:
    """The patient's answer to the open request: photos (read, checked and analysed as the first ones) and text."""
    with st.form("answer", clear_on_submit=True):
        files = st.file_uploader(_("Your photos (up to {count})").format(count=MAX_ANSWER_PHOTOS), type=ANSWER_TYPES,
                                 accept_multiple_files=True, key="my_answer_files")
        reply = st.text_area(_("Your answer"), key="my_answer_text", max_chars=4000)
        sent = st.form_submit_button(_("Send my answer"), type="primary", icon=":material/send:")
    if not sent:
        return
    if len(files or []) > MAX_ANSWER_PHOTOS:
        st.error(_("Send at most {count} photos.").format(count=MAX_ANSWER_PHOTOS))
        st.stop()
    with res.friendly_errors(), st.spinner(_("Checking your photos…")):
        photos = answer(res.get_database(), code, reply, [Upload(f.getvalue()) for f in files or []],
                        predictor=res.get_predictor())
    st.session_state["my_notice"] = (
        _("Thank you: your answer and photos reached the dermatologist, who will look at your consultation again "
          "first.") if photos else
        _("Thank you: your answer reached the dermatologist, who will look at your consultation again first."))
    st.rerun()


def earlier_consultations(view) -> None:
    """A follow-up's chain: each earlier consultation's date and conclusion (with its course), oldest first."""
    st.markdown(_("**Earlier consultations in this series**"))
    lines = []
    for earlier in view.earlier:
        conclusion = (views.label(earlier.diagnosis) + (f": {plain(earlier.specified)}" if earlier.specified else "")
                      if earlier.diagnosis else views.status_text(earlier.status))
        course = views.course_patient(earlier.course)
        lines.append(f"- {long_date(earlier.submitted_at)}: {conclusion}"
                     + (" " + _("(compared with the one before: {course})").format(course=course) if course else ""))
    st.markdown("\n".join(lines))
    st.caption(_("This code shows this follow-up and the consultations before it; each earlier code keeps working "
                 "and shows its own consultation."))


def follow_up_offer(code: str, view) -> None:
    """The way back for a chronic condition: a new consultation linked to this one, with a new code."""
    with st.container(border=True, key="my_follow_up"):
        st.markdown(_("**Coming back about the same problem?** Start a follow-up: a new consultation linked to "
                      "this one, so the dermatologist sees your earlier photos and conclusion beside the new ones. "
                      "You get a new access code for it, and this code keeps working."))
        if st.button(_("Start a follow-up"), key="my_start_follow_up", icon=":material/history:"):
            draft.start_follow_up(code, view.submitted_at)
            st.switch_page("pages/new_consultation.py")


st.title(_("My consultation"))
notice = st.session_state.pop("my_notice", None)
if notice:
    st.success(notice, icon=":material/check_circle:")
st.markdown(_("Enter the access code you received when you sent your photos."))

with st.form("lookup", clear_on_submit=False):  # the code stays in the field: a typo is fixed, not retyped
    code = st.text_input(_("Access code"), placeholder="XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX", key="my_code",
                         autocomplete="off")
    looked_up = st.form_submit_button(_("Show my consultation"), type="primary")

if looked_up:
    st.session_state["my_shown"] = True  # the consultation stays on screen while the patient answers
if looked_up or st.session_state.get("my_shown"):
    with res.friendly_errors():
        view = follow_up(res.get_database(), code)
    if view is None:
        st.error(_(res.UNKNOWN_CODE), icon=":material/search_off:")
        st.stop()
    st.subheader(views.status_text(view.status))
    with res.friendly_errors(stop=False):  # the figures are a courtesy: the status shows without them
        st.markdown(views.what_next(view.status, res.cached_turnaround(30)))
    if view.submitted_at is not None:
        st.caption(_("Photos sent {date}").format(date=long_date(view.submitted_at))
                   + (" · " + _("reviewed on {time}").format(time=date_time_utc(view.reviewed_at))
                      if view.reviewed_at else "")
                   + (" · " + _("a follow-up of your consultation of {date}").format(
                       date=long_date(view.earlier[-1].submitted_at)) if view.earlier else ""))
    if view.request is not None:
        with st.container(border=True, key="my_request"):
            st.markdown(_("**The dermatologist asks you for:**") + "\n"
                        + "\n".join(f"- {_(NEED_PATIENT[n]) if n in NEED_PATIENT else n}" for n in view.request.needs))
            st.markdown(_("**Message from the dermatologist**"))
            st.text(view.request.message)  # the clinician's words, never Markdown (and never translated)
            st.caption(_("Asked on {date}. Add what is asked below and send it; your consultation then goes back "
                         "to the dermatologist, ahead of new ones.").format(date=long_date(view.request.asked_at)))
        answer_form(code)
    elif view.diagnosis is None:
        st.info(_("The dermatologist has not written a conclusion yet. Please check again later."),
                icon=":material/hourglass_top:")
    else:
        course = views.course_patient(view.course)
        conclusion = (views.label(view.diagnosis) + (f": {view.specified}" if view.specified else "")
                      + ("; " + _("since the earlier consultation: {course}").format(course=course) if course else ""))
        with st.container(border=True):
            st.markdown(_("**Dermatologist's conclusion:** {conclusion}").format(
                conclusion=views.label(view.diagnosis) + (f": {plain(view.specified)}" if view.specified else "")))
            if course:
                st.markdown(_("**Since your earlier consultation**, the dermatologist finds your scalp "
                              "**{course}**.").format(course=course))
            if view.notes:
                st.markdown(_("**Notes from the dermatologist**"))
                st.text(view.notes)  # as the dermatologist wrote them, in their language
            if view.diagnosis in NEXT_STEPS and view.diagnosis != "needs_in_person_visit":  # warned below
                st.markdown(_("**Next steps**"))
                st.markdown(_(NEXT_STEPS[view.diagnosis]))
        if view.diagnosis == "needs_in_person_visit":
            st.warning(_(NEXT_STEPS["needs_in_person_visit"]), icon=":material/event:")
        st.download_button(
            _("Download the conclusion (PDF)"), key="my_pdf", on_click="ignore", icon=":material/download:",
            file_name=report.conclusion_filename(view.reviewed_at or view.submitted_at),
            mime="application/pdf",
            data=report.conclusion_pdf(diagnosis_label=conclusion, diagnosis=view.diagnosis,
                                       notes=view.notes, reviewed_at=view.reviewed_at,
                                       submitted_at=view.submitted_at, free_text=view.free_text,
                                       photos=view.photos))
        st.caption(_("If anything is unclear or your scalp gets worse, see your doctor."))
        if view.can_follow_up:
            follow_up_offer(code, view)
    if view.earlier:
        earlier_consultations(view)
    if view.free_text:
        st.markdown(_("**What you wrote**"))
        st.text(view.free_text)  # the patient's own words, never Markdown
    if view.photos:
        st.markdown(_("**Your photos**"))
        for column, photo in zip(st.columns(min(len(view.photos), 3)), view.photos):
            column.image(photo, width="stretch")
