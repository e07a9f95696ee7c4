"""What the reader-study pages share: the admin gate. Building a study's cases (labelled folder or
reviewed consultations → decoded once → the model's output) is :mod:`clinic.study`."""
from __future__ import annotations

import streamlit as st

from db.users import Clinician
from i18n import _
from pages import _auth as auth


def require_admin() -> Clinician:
    """The signed-in admin; otherwise the sign-in form (or a notice) and stop."""
    clinician = auth.require_clinician()
    if not clinician.is_admin:
        st.title(_("Reader studies"))
        st.warning(_("Only administrators set up reader studies and see their results. Invited readers find "
                     "their cases under **Reader study**."), icon=":material/lock:")
        st.page_link("pages/reader_study.py", label=_("Open the reader study"), icon=":material/quiz:")
        st.stop()
    return clinician
