"""The app as the server runs it: ``streamlit run serve.py`` (``./scalpscope app``, ``deploy/run_cluster.sh``).

``app.py`` stays the Streamlit script (AppTest runs it directly); this module wraps it in Streamlit's ASGI
``st.App`` so that every HTTP response carries the browser security headers and the HttpOnly client cookie
(``security.headers.SecurityMiddleware``; see the README's "Security" section). Streamlit finds ``app``
here by itself.
"""
import streamlit as st
from starlette.middleware import Middleware

from security.headers import SecurityMiddleware
from security.logs import install_session_id_filter

install_session_id_filter()

app = st.App("app.py", middleware=[Middleware(SecurityMiddleware)])
