"""Clinician sign-in for the Queue and Review pages.

Passwords are checked by :func:`db.users.authenticate` (argon2 hashes, lock-out after repeated failures).
When ``[auth]`` is configured in secrets.toml, ``st.login`` (OIDC) is offered too; the identity
provider's ``SCALPSCOPE_OIDC_USERNAME_CLAIM`` must name an existing clinician account. A session that
has been idle for ``SCALPSCOPE_SESSION_TIMEOUT_MIN`` minutes is signed out.

A page reload opens a new Streamlit session; the sign-in survives it because the server also keeps it for
this browser (``security.remembered.SIGN_INS``, keyed by the HttpOnly client cookie and bound to the user
agent and address). The idle timeout counts activity in any tab of the browser; signing out (or a timeout)
deletes the server's copy, so every tab and every reload of that browser is signed out.

Only the frozen :class:`db.users.Clinician` (id, username, role) is kept in ``st.session_state``.
"""
from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

import streamlit as st

from clinic.accounts import single_sign_on
from clinic.units import read, write
from db.users import Clinician, authenticate, list_clinicians, record_sign_out
from i18n import N_, _
from pages import _browser as browser
from pages import _resources as res
from security import remembered
from security.text import plain

_KEY = "auth_session"
_NOTICE_KEY = "auth_notice"
_FAILED_KEY = "auth_failed"  # why the last password sign-in failed (set in the button's callback)


@dataclass
class _SignedIn:
    clinician: Clinician
    via: str  # "password" or "oidc"
    last_seen: float
    binding: str | None = None  # the browser it is remembered for across reloads (None: not remembered)


def guard_session() -> None:
    """Run first on every run (app.py): a session reached from another browser than the one it started in
    (a copied session id) loses all its state; a signed-in clinician's is audited as ``client_mismatch``."""
    entry: _SignedIn | None = st.session_state.get(_KEY)
    if not browser.bind_session_to_browser() and entry is not None:
        remembered.SIGN_INS.pop(entry.binding)  # the owner's browser is signed out too: its session id leaked
        with res.friendly_errors(operator=True, stop=False):
            write(res.get_database(), record_sign_out, entry.clinician, "client_mismatch")


def _remembered() -> tuple[str | None, remembered.SignIn | None]:
    """This browser's binding (None when not a real browser) and the sign-in the server keeps for it."""
    binding = browser.remembered_binding()
    return binding, remembered.SIGN_INS.get(binding)


def current_clinician() -> Clinician | None:
    """The signed-in clinician, or None; signs out a session idle for longer than the timeout."""
    entry: _SignedIn | None = st.session_state.get(_KEY)
    binding, kept = _remembered()
    if entry is None:  # a reload (or another tab) of a browser that signed in: the server's copy, if bound
        if kept is None:
            return None
        if not hmac.compare_digest(kept.fingerprint, browser.browser_fingerprint()):
            remembered.SIGN_INS.pop(binding)  # the cookie was copied to another client: revoked
            res.log.warning("a remembered sign-in was presented by another client; it was revoked")
            with res.friendly_errors(operator=True, stop=False):
                write(res.get_database(), record_sign_out, kept.clinician, "client_mismatch")
            return None
        entry = _SignedIn(kept.clinician, kept.via, kept.last_seen, binding)
        st.session_state[_KEY] = entry
    elif entry.binding is not None and kept is None:  # signed out in another tab, or the server forgot it
        st.session_state.pop(_KEY, None)
        st.session_state[_NOTICE_KEY] = "You were signed out. Please sign in again."
        return None
    elif kept is not None:
        entry.last_seen = max(entry.last_seen, kept.last_seen)  # activity in another tab counts too
    now = time.monotonic()
    if now - entry.last_seen > res.session_timeout_s():
        minutes = round(res.session_timeout_s() / 60)
        sign_out(f"You were signed out after {minutes} minutes without activity. Please sign in again.",
                 reason="timeout")
        return None
    entry.last_seen = now
    if kept is not None:
        kept.last_seen = now
    return entry.clinician


def sign_out(notice: str | None = None, reason: str = "sign_out") -> None:
    """End the clinician's session: audited, every value of this browser session dropped on the server,
    and the session id no longer usable to reconnect (a copy of it in a log or a URL opens nothing)."""
    entry: _SignedIn | None = st.session_state.get(_KEY)
    remembered.SIGN_INS.pop(entry.binding if entry is not None else None)  # revoked for every tab and reload
    if entry is not None:
        with res.friendly_errors(operator=True, stop=False):
            write(res.get_database(), record_sign_out, entry.clinician, reason)
    st.session_state.clear()
    browser.forbid_resume()
    if notice:
        st.session_state[_NOTICE_KEY] = notice
    if entry is not None and entry.via == "oidc" and st.user.get("is_logged_in"):
        st.logout()


def _start(clinician: Clinician, via: str) -> None:
    now, binding = time.monotonic(), browser.remembered_binding()
    st.session_state[_KEY] = _SignedIn(clinician, via, now, binding)
    if binding is not None:
        remembered.SIGN_INS.put(binding, remembered.SignIn(clinician, via, browser.browser_fingerprint(), now))


def require_clinician() -> Clinician:
    """The signed-in clinician; otherwise draw the sign-in form and stop the page."""
    clinician = current_clinician()
    if clinician is None:
        with st.columns([3, 2])[0]:
            _sign_in_form()
        st.stop()
    return clinician


def _sign_in_form() -> None:
    notice = st.session_state.pop(_NOTICE_KEY, None)
    if notice:
        st.info(notice, icon=":material/schedule:")
    st.subheader(_("Clinician sign-in"))
    browser.require_browser_cookie()  # a signed-in session is bound to this browser's cookie
    st.caption(_("For dermatologists of the service. Patients: use **My consultation** with your access code."))
    with res.friendly_errors(operator=True):
        has_accounts = bool(read(res.get_database(), list_clinicians))
    if not has_accounts:
        st.info(_("No clinician account exists yet. An operator creates one on the server with "
                  "`python -m db create-user NAME` (the password is asked without echo)."),
                icon=":material/person_add:")
    elif res.demo_mode():
        st.info(_("Demo mode: sign in as **{username}** with password **{password}**.").format(
            username=res.DEMO_USERNAME, password=res.DEMO_PASSWORD),
                icon=":material/science:")
    if res.oidc_configured():
        _oidc_sign_in()
    with st.form("sign_in", clear_on_submit=False):  # the user name stays after a failed try
        st.text_input(_("Username"), key="sign_in_username", autocomplete="username")
        st.text_input(_("Password"), type="password", key="sign_in_password", autocomplete="current-password")
        st.form_submit_button(_("Sign in"), type="primary", on_click=_try_password)
    failure = st.session_state.pop(_FAILED_KEY, None)
    if isinstance(failure, str):
        st.error(_(failure))
    elif failure is not None:
        res.show_error(failure, operator=True)


def _try_password() -> None:
    """The Sign-in button's callback. It runs before the page, so it may empty the password field (the
    user name stays for the next try); a failure is kept for the page to show."""
    username = str(st.session_state.get("sign_in_username") or "")
    password = str(st.session_state.get("sign_in_password") or "")
    st.session_state["sign_in_password"] = ""
    if not username or not password:
        st.session_state[_FAILED_KEY] = N_("Enter your username and password.")  # translated where shown
        return
    try:
        clinician = write(res.get_database(), authenticate, username, password)
    except res.USER_ERRORS as exc:
        st.session_state[_FAILED_KEY] = exc
        return
    _start(clinician, "password")


def _oidc_sign_in() -> None:
    """Single sign-on through ``st.login``; only drawn when ``[auth]`` is configured."""
    if not st.user.get("is_logged_in"):
        st.button(_("Sign in with your organisation account"), key="sign_in_oidc", on_click=st.login,
                  icon=":material/badge:")
        st.caption(_("Or use a ScalpScope password:"))
        return
    claim = res.OIDC_USERNAME_CLAIM.get()
    name = str(st.user.get(claim) or "")
    with res.friendly_errors(operator=True):
        clinician = single_sign_on(res.get_database(), name)
    if clinician is not None:
        _start(clinician, "oidc")
        st.rerun()
    st.error(_("Your organisation account ({account}) is not linked to a ScalpScope clinician account. Ask an "
               "operator to create the account '{name}'.").format(
                   account=plain(st.user.get("email") or name or "unknown"), name=plain(name)))
    st.button(_("Sign out of the organisation account"), key="sign_out_oidc", on_click=st.logout)
