"""ScalpScope's Streamlit pages. ``app.py`` routes to them with ``st.navigation``.

Modules whose names start with ``_`` are helpers, not pages: ``_resources`` (shared model and database,
settings, error display), ``_auth`` (clinician sign-in), ``_views`` (shared widgets), ``_report``
(the patient's PDF summary) and ``_study`` (reader-study admin gate and case building).

Streamlit treats a folder named ``pages/`` beside the entry point as a legacy multipage app until
``st.navigation`` has run once in the process. Until then a deep link such as ``/queue`` runs that page
alone: no ``app.py`` frame, and every module here (helpers included) listed as a page. Importing this
package, which every page and ``app.py`` do first, ends that mode and reruns the request through ``app.py``.
"""
from streamlit.runtime.pages_manager import PagesManager

if PagesManager.uses_pages_directory:
    import streamlit as st

    PagesManager.uses_pages_directory = False
    st.rerun()
