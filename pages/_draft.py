"""The unfinished New consultation, kept for the browser session while the patient opens other pages.

Streamlit forgets a widget's value at the end of any run that does not draw it, so opening *My consultation*
and coming back would empty the form. At the start of every run of the page (before anything is drawn, so
an interrupted run cannot skip it) :func:`keep_or_restore` copies the answers and the photos into session
keys that are not widgets; when it finds the widgets forgotten, it puts the answers back before they are
drawn and lists the photos as *kept* (a file uploader cannot be refilled), each of which can be removed.
Photos are kept as Streamlit's own file objects: nothing is copied or decoded.

It also holds the form's :class:`db.consultations.Submission` (idempotency key and access code), the
*outbox* the stored result is put in, and tells other pages when a stored consultation's access code has not
been on screen yet. A follow-up (issue 19) is started from *My consultation* (:func:`start_follow_up`): the
earlier consultation's access code waits in the session (server side, never in a widget) until the form is
stored as its follow-up, or the patient makes it a plain consultation (:func:`drop_follow_up`).

Why an outbox: a click during a run (a second Submit, a sidebar link) makes Streamlit start the next run at
once, in a new thread, and stop the old one at its next Streamlit call (drawing, or any use of
``st.session_state``). The old run may be waiting for the database meanwhile. So between the commit and the
moment the result is kept there must be no Streamlit call, or the code is lost with a consultation stored:
the outbox is a plain dict taken from the session before the commit and filled right after it. While a
save is under way it says so, and a run started meanwhile waits for it (:func:`wait_while_saving`) so that
the result, and the access code, are there for the page the patient is now on.

The outbox also survives a page reload (issue 18, item 4): it is kept on the server for this browser
(``security.remembered.RESULTS``, keyed by the HttpOnly client cookie, for 30 minutes) and a new session of
the same browser takes it back on the New consultation page; another browser finds nothing.
"""
from __future__ import annotations

import time
from typing import Any

import streamlit as st

from db.consultations import Submission
from pages import _browser as browser
from security import remembered

ANSWERS = ("nc_consent", "nc_age", "nc_sex", "nc_duration", "nc_itch", "nc_sites", "nc_treatment", "nc_source",
           "nc_text", "nc_use_camera", "nc_course")
PHOTO_WIDGETS = ("nc_files", "nc_camera")
DRAFT, KEPT, SUBMISSION, RESULT, OUTBOX = "nc_draft", "nc_kept", "nc_submission", "nc_result", "nc_outbox"
FOLLOW_UP = "nc_follow_up"  # {"code": the earlier consultation's access code, "since": when it was sent}


def _widget_photos() -> list[tuple[str, Any]]:
    """(origin, file) of the uploader's files and the camera shot, as the widgets hold them now."""
    state = st.session_state
    photos = [("upload", f) for f in state.get("nc_files") or []]
    shot = state.get("nc_camera") if state.get("nc_use_camera") else None
    return photos + ([("camera", shot)] if shot is not None else [])


def keep_or_restore() -> bool:
    """Remember the form as its widgets hold it, or put it back if Streamlit forgot it; True when restored."""
    state = st.session_state
    if any(key in state for key in (*ANSWERS, *PHOTO_WIDGETS)):  # the widgets are alive: a rerun on this page
        state[DRAFT] = {"answers": {k: state[k] for k in ANSWERS if k in state}, "photos": _widget_photos()}
        return False
    draft = state.get(DRAFT)
    if not draft:
        return False
    for key, value in draft["answers"].items():
        state[key] = value
    state[KEPT] = [*state.get(KEPT, []), *draft["photos"]]
    state[DRAFT] = {"answers": dict(draft["answers"]), "photos": []}  # the photos are kept now
    return True


def kept() -> list[tuple[str, Any]]:
    """(origin, file) of the photos added before the patient left the page, in the order they were added."""
    return list(st.session_state.get(KEPT, []))


def remove_kept(index: int) -> None:
    """Drop one kept photo (a button's callback)."""
    photos = kept()
    if 0 <= index < len(photos):
        del photos[index]
        st.session_state[KEPT] = photos


def submission() -> Submission:
    """This form's idempotency key and access code, made once per filled form."""
    if SUBMISSION not in st.session_state:
        st.session_state[SUBMISSION] = Submission.new()
    return st.session_state[SUBMISSION]


def outbox() -> dict[str, Any]:
    """A plain dict kept in the session, to be taken *before* the commit and filled right after it with
    ``outbox["result"] = ...`` (no Streamlit call, so no point where a click could end the run)."""
    if OUTBOX not in st.session_state:
        box: dict[str, Any] = {}
        binding = browser.remembered_binding()
        if binding is not None:  # a real browser: a reload finds the result (see the module docstring)
            remembered.RESULTS.put(binding, box)
        st.session_state[OUTBOX] = box
    return st.session_state[OUTBOX]


SAVING = "saving"  # in the outbox while a run analyses and stores a consultation
SAVING_WAIT_S = 120.0


def wait_while_saving(limit_s: float = SAVING_WAIT_S) -> None:
    """If another run of this session is still saving a consultation (this run was started by a click
    during it), wait until it has stored the result or given up (at most ``limit_s``). After a reload
    during a save, the run of the old session saving it is found through the server's copy of the outbox."""
    box = st.session_state.get(OUTBOX)
    if box is None:
        box = remembered.RESULTS.get(browser.remembered_binding())
    if not box or not box.get(SAVING):
        return
    with st.spinner("Saving your consultation…"):
        deadline = time.monotonic() + limit_s
        while box.get(SAVING) and time.monotonic() < deadline:
            time.sleep(0.05)


def has_result() -> bool:
    """A consultation of this form was stored (its result is kept or still in the outbox)."""
    return RESULT in st.session_state or "result" in st.session_state.get(OUTBOX, {})


def collect_result() -> dict[str, Any] | None:
    """The stored consultation's result, moved from the outbox to the session on first use (the form is
    then finished); None while nothing was stored. Each step may be cut by a click and done again.

    A new session of a browser that stored one (a reload) takes the outbox back from the server first. The
    result stays in the outbox, so the next reload finds it too, until :func:`start_over`."""
    state = st.session_state
    if OUTBOX not in state:
        kept = remembered.RESULTS.get(browser.remembered_binding())
        if kept is not None and "result" in kept:
            state[OUTBOX] = kept
    box = state.get(OUTBOX, {})
    if "result" in box and state.get(RESULT) is not box["result"]:
        state[RESULT] = box["result"]
        finished()
    return state.get(RESULT)


def start_over() -> None:
    """The patient starts a new consultation: the shown result is dropped here and on the server."""
    remembered.RESULTS.pop(browser.remembered_binding())
    st.session_state.pop(OUTBOX, None)
    st.session_state.pop(RESULT, None)


def finished() -> None:
    """The form was stored: the next consultation starts empty, with a new submission key (answers put back
    by :func:`keep_or_restore` are values set through the session, which Streamlit would otherwise keep)."""
    for key in (DRAFT, KEPT, SUBMISSION, "nc_checked", *ANSWERS, *PHOTO_WIDGETS):
        st.session_state.pop(key, None)


def start_follow_up(code: str, since: Any) -> None:
    """The next consultation of this session follows up the one with ``code`` (sent at ``since``). A result
    already on screen in full is put away (its code was shown), so the form opens; an unseen one stays."""
    if has_result() and unseen_access_code() is None:
        start_over()
    st.session_state[FOLLOW_UP] = {"code": code, "since": since}


def follow_up() -> dict[str, Any] | None:
    """The follow-up this form will be stored as ({"code", "since"}), or None for a plain consultation."""
    return st.session_state.get(FOLLOW_UP)


def drop_follow_up() -> None:
    """The form is a plain consultation again (a button's callback; also once stored as a follow-up)."""
    st.session_state.pop(FOLLOW_UP, None)
    st.session_state.pop("nc_course", None)


def unseen_access_code() -> str | None:
    """The access code of a consultation stored in this session whose results page has not been shown in
    full yet (the patient left while it was being saved), else None."""
    result = st.session_state.get(RESULT) or st.session_state.get(OUTBOX, {}).get("result")
    return None if not result or result.get("seen") else result["code"]
