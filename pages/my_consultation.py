"""My consultation: a patient enters the access code and reads the status or the dermatologist's conclusion."""
import streamlit as st

from clinic.cases import follow_up
from db.errors import UnknownAccessCodeError
from pages import _report as report
from pages import _resources as res
from pages import _views as views
from pages._wording import NEXT_STEPS
from security.text import plain

st.title("My consultation")
st.markdown("Enter the access code you received when you sent your photos.")

with st.form("lookup", clear_on_submit=False):  # the code stays in the field: a typo is fixed, not retyped
    code = st.text_input("Access code", placeholder="XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX", key="my_code",
                         autocomplete="off")
    looked_up = st.form_submit_button("Show my consultation", type="primary")

if looked_up:
    with res.friendly_errors():
        view = follow_up(res.get_database(), code)
    if view is None:
        st.error(UnknownAccessCodeError.default_message, icon=":material/search_off:")
        st.stop()
    st.subheader(views.STATUS_TEXT.get(view.status, view.status))
    if view.submitted_at is not None:
        st.caption(f"Photos sent {view.submitted_at:%d %B %Y}"
                   + (f" · reviewed on {view.reviewed_at:%d %B %Y, %H:%M} UTC" if view.reviewed_at else ""))
    if view.diagnosis is None:
        st.info("The dermatologist has not written a conclusion yet. Please check again later.",
                icon=":material/hourglass_top:")
    else:
        conclusion = views.label(view.diagnosis) + (f": {view.specified}" if view.specified else "")
        with st.container(border=True):
            st.markdown(f"**Dermatologist's conclusion:** {views.label(view.diagnosis)}"
                        + (f": {plain(view.specified)}" if view.specified else ""))
            if view.notes:
                st.markdown("**Notes from the dermatologist**")
                st.text(view.notes)
            if view.diagnosis in NEXT_STEPS and view.diagnosis != "needs_in_person_visit":  # warned below
                st.markdown("**Next steps**")
                st.markdown(NEXT_STEPS[view.diagnosis])
        if view.diagnosis == "needs_in_person_visit":
            st.warning("The dermatologist would like to see you in person. Please book an appointment with a "
                       "dermatologist or your doctor.", icon=":material/event:")
        st.download_button(
            "Download the conclusion (PDF)", key="my_pdf", on_click="ignore", icon=":material/download:",
            file_name=report.conclusion_filename(view.reviewed_at or view.submitted_at),
            mime="application/pdf",
            data=report.conclusion_pdf(diagnosis_label=conclusion, diagnosis=view.diagnosis,
                                       notes=view.notes, reviewed_at=view.reviewed_at,
                                       submitted_at=view.submitted_at, free_text=view.free_text,
                                       photos=view.photos))
        st.caption("If anything is unclear or your scalp gets worse, see your doctor.")
    if view.free_text:
        st.markdown("**What you wrote**")
        st.text(view.free_text)  # the patient's own words, never Markdown
    if view.photos:
        st.markdown("**Your photos**")
        for column, photo in zip(st.columns(min(len(view.photos), 3)), view.photos):
            column.image(photo, width="stretch")
