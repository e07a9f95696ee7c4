"""My consultation: a patient enters the access code and reads the status or the dermatologist's conclusion."""
import streamlit as st

from db.consultations import lookup_by_code
from db.errors import UnknownAccessCodeError
from pages import _resources as res
from pages import _views as views

st.title("My consultation")
st.markdown("Enter the access code you received when you sent your photos.")

with st.form("lookup", clear_on_submit=True):
    code = st.text_input("Access code", placeholder="XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX", key="my_code",
                         autocomplete="off")
    looked_up = st.form_submit_button("Show my consultation", type="primary")

if looked_up:
    with res.friendly_errors():
        with res.get_database().begin() as session:
            view = lookup_by_code(session, code)
    if view is None:
        st.error(UnknownAccessCodeError.default_message, icon=":material/search_off:")
        st.stop()
    st.subheader(views.STATUS_TEXT.get(view.status, view.status))
    if view.diagnosis is None:
        st.info("The dermatologist has not written a conclusion yet. Please check again later.",
                icon=":material/hourglass_top:")
    else:
        with st.container(border=True):
            st.markdown(f"**Dermatologist's conclusion:** {views.label(view.diagnosis)}")
            if view.notes:
                st.markdown("**Notes from the dermatologist**")
                st.text(view.notes)
        if view.diagnosis == "needs_in_person_visit":
            st.warning("The dermatologist would like to see you in person. Please book an appointment with a "
                       "dermatologist or your doctor.", icon=":material/event:")
        st.caption("If anything is unclear or your scalp gets worse, see your doctor.")
