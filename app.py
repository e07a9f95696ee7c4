"""ScalpScope: the entry point only routes. Run with ``streamlit run app.py``.

Pages live in ``pages/``; what they share (model, database, settings, error display) is in
``pages/_resources.py``.
"""
import streamlit as st

from pages import _auth as auth
from i18n import _
from pages import _draft as draft
from pages import _language as language
from pages import _nav as nav
from pages import _resources as res
from pages import _seen as seen
from pages import _views as views
from security.text import plain

# An emoji icon is drawn by the browser; a :material/…: icon would be fetched from fonts.gstatic.com (a
# third-party request from every patient's browser, and refused by the Content-Security-Policy anyway).
st.set_page_config(page_title="ScalpScope", page_icon="🩺", layout="wide")
res.secrets()  # copies top-level secrets (DATABASE_URL, SCALPSCOPE_*) into the environment
if not res.check_configuration():  # a bad setting: a plain message instead of a traceback
    st.stop()
auth.guard_session()  # only the browser a session started in may use it (a session id alone opens nothing)

# Patients see patients' pages and one "For clinicians" entry; clinicians' pages appear once signed in
# (pages/_nav.py). Hidden pages stay reachable by address and ask for a sign-in themselves.
navigation = st.navigation({
    _(section): [st.Page(e.path, title=_(e.title), icon=e.icon, default=e.default,
                      visibility="visible" if e.visible else "hidden") for e in entries]
    for section, entries in nav.menu(auth.current_clinician()).items()
})

with st.sidebar:
    language.language_picker()  # each person's own: a patient's and a clinician's sessions choose apart
    st.caption(_("ScalpScope tells scalp psoriasis from seborrheic dermatitis on photos, for review by a "
                 "dermatologist. **Not a diagnosis. Not for emergencies.**"))
    clinician = auth.current_clinician()
    if clinician is not None:
        st.caption(_("Signed in as **{name}** ({role})").format(
            name=plain(clinician.username), role=views.role(clinician.role, clinician.is_demo)))
        st.button(_("Sign out"), key="sign_out", on_click=auth.sign_out, icon=":material/logout:")
    if res.demo_mode():
        st.caption(":material/science: " + _("Demo mode: data entered here is marked as demo data."))

seen.enter(navigation.url_path)  # audits of what a page shows: one per view of the page, not per rerun
draft.wait_while_saving()  # a click during a save started this run: let that save finish first
if navigation.url_path != "new_consultation":
    views.remind_unseen_access_code(draft.unseen_access_code())  # stored while the patient left the page

navigation.run()
