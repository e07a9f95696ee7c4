"""The browser a session belongs to: the client cookie's binding, the audit trail's origin, no resuming.

A Streamlit session id (in upload URLs, logs, a shared screen) lets any client reconnect to the session, so
every run checks that it comes from the browser that started it (:func:`bind_session_to_browser`).
Pages use ``from pages import _browser as browser``; tests replace :func:`browser_binding` here.
"""
from __future__ import annotations

import hmac
import logging

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from db import audit
from i18n import N_, _
from security.client import CLIENT_COOKIE, binding_of, client_address, fingerprint, session_reference

log = logging.getLogger("scalpscope.app")

# What a run without any browser connection (AppTest, a bare script run) is bound to. A browser always
# connects with request headers, so no browser can be taken for one of these.
NO_BROWSER = "no-browser-connection"
_BINDING_KEY = "_scalpscope_browser"
COOKIE_MISSING = N_("This browser did not send ScalpScope's session cookie, which keeps your session to this "
                  "browser alone. Allow cookies for this site and reload the page.")


def _has_browser_connection() -> bool:
    try:
        return bool(dict(st.context.headers))
    except Exception:  # noqa: BLE001 - no script run context
        return False


def browser_binding() -> str | None:
    """What this run's browser is recognised by: a hash of its HttpOnly ``scalpscope_client`` cookie,
    :data:`NO_BROWSER` outside a browser connection, or None for a browser that sent no cookie."""
    if not _has_browser_connection():
        return NO_BROWSER
    return binding_of(st.context.cookies.get(CLIENT_COOKIE))


def remembered_binding() -> str | None:
    """This browser's binding when it is a real browser with the cookie (what ``security.remembered`` keeps
    a sign-in or a result under across a reload), else None (no cookie, or no browser: AppTest, a script)."""
    binding = browser_binding()
    return None if binding in (None, NO_BROWSER) else binding


def browser_fingerprint() -> str:
    """:func:`security.client.fingerprint` of this run's browser: its user agent and client address."""
    try:
        headers = dict(st.context.headers)
        peer = st.context.ip_address
    except Exception:  # noqa: BLE001 - no client context
        headers, peer = {}, None
    agent = next((value for key, value in headers.items() if key.lower() == "user-agent"), "")
    return fingerprint(agent, client_address(peer, headers) if headers else None)


def bind_session_to_browser() -> bool:
    """Check, on every run, that the session is used by the browser it started in.

    A Streamlit session id (in upload URLs, logs, a shared screen) lets any client reconnect to the session;
    only the browser that holds the session's cookie is let in. For any other client the whole session
    state is dropped (a signed-in clinician is signed out, a patient's result and access code are gone)
    and False is returned. The first run records the cookie.
    """
    current = browser_binding()
    if _BINDING_KEY not in st.session_state:
        st.session_state[_BINDING_KEY] = current
        return True
    stored = st.session_state[_BINDING_KEY]
    if stored is not None and current is not None and hmac.compare_digest(stored, current):
        return True
    if stored is None and current is None:
        return True  # no cookie either time: nothing worth taking is kept (sign-in and results need it)
    st.session_state.clear()
    st.session_state[_BINDING_KEY] = current
    log.warning("a session was reached from a different browser; its state was dropped")
    return False


def require_browser_cookie() -> None:
    """Stop the page with :data:`COOKIE_MISSING` when a browser connected without the client cookie."""
    if browser_binding() is None:
        st.error(_(COOKIE_MISSING), icon=":material/cookie:")
        st.stop()


def request_origin() -> audit.Origin | None:
    """Where the running request comes from, for the audit trail; None outside a browser connection.

    A browser always connects with request headers; AppTest and bare script runs have none.
    """
    ctx = get_script_run_ctx()
    if ctx is None:
        return None
    try:
        headers = dict(st.context.headers)
        peer = st.context.ip_address
    except Exception:  # noqa: BLE001 - no client context: not a browser request
        return None
    if not headers:
        return None
    return audit.Origin(client=client_address(peer, headers), session=session_reference(ctx.session_id))


audit.set_origin_provider(request_origin)


def forbid_resume() -> None:
    """Make this browser session's id useless for reconnecting (Streamlit's own mechanism for st.logout).

    The open tab keeps working; a later connection that names this id gets a fresh, empty session.
    """
    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return
    runtime.get_instance().mark_session_nonresumable(ctx.session_id)
