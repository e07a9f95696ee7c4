"""ScalpScope: the entry point only routes. Run with ``streamlit run app.py``.

Pages live in ``pages/``; what they share (model, database, settings, error display) is in
``pages/_resources.py``.
"""
import streamlit as st

from pages import _auth as auth
from pages import _draft as draft
from pages import _resources as res
from pages import _seen as seen
from pages import _views as views
from security.text import plain

# An emoji icon is drawn by the browser; a :material/…: icon would be fetched from fonts.gstatic.com (a
# third-party request from every patient's browser, and refused by the Content-Security-Policy anyway).
st.set_page_config(page_title="ScalpScope", page_icon="🩺", layout="wide")
res.secrets()  # copies top-level secrets (DATABASE_URL, SCALPSCOPE_*) into the environment
auth.guard_session()  # only the browser a session started in may use it (a session id alone opens nothing)

navigation = st.navigation({
    "Patients": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/new_consultation.py", title="New consultation", icon=":material/add_a_photo:"),
        st.Page("pages/my_consultation.py", title="My consultation", icon=":material/key:"),
    ],
    "Clinicians": [
        st.Page("pages/queue.py", title="Queue", icon=":material/inbox:"),
        st.Page("pages/review.py", title="Review", icon=":material/stethoscope:"),
        st.Page("pages/reader_study.py", title="Reader study", icon=":material/quiz:"),
        st.Page("pages/reader_admin.py", title="Study set-up", icon=":material/settings:"),
        st.Page("pages/reader_results.py", title="Study results", icon=":material/monitoring:"),
        st.Page("pages/accounts.py", title="Accounts", icon=":material/manage_accounts:"),
    ],
    "About": [
        st.Page("pages/model.py", title="Model", icon=":material/model_training:"),
    ],
})

with st.sidebar:
    st.caption("ScalpScope tells scalp psoriasis from seborrheic dermatitis on photos, for review by a "
               "dermatologist. **Not a diagnosis. Not for emergencies.**")
    clinician = auth.current_clinician()
    if clinician is not None:
        st.caption(f"Signed in as **{plain(clinician.username)}** ({clinician.role}"
                   f"{', demo' if clinician.is_demo else ''})")
        st.button("Sign out", key="sign_out", on_click=auth.sign_out, icon=":material/logout:")
    if res.demo_mode():
        st.caption(":material/science: Demo mode: data entered here is marked as demo data.")

seen.enter(navigation.url_path)  # audits of what a page shows: one per view of the page, not per rerun
draft.wait_while_saving()  # a click during a save started this run: let that save finish first
if navigation.url_path != "new_consultation":
    views.remind_unseen_access_code(draft.unseen_access_code())  # stored while the patient left the page

navigation.run()
