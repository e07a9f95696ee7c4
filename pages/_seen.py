"""One audit row per view of a page, not one per rerun.

Every widget change reruns the whole page; a page that audited what it displays on every run wrote an
audit row (and, on SQLite, took the database's single write lock) each time a clinician moved a slider or
picked a row. A *view* here is what a page shows, named by the page with a key (a queue page with its filters
and rows, a study's results, a reader-study case): it is audited the first time it is shown during a visit
of the page, and again only when the page is opened anew. :func:`enter` (called by ``app.py`` on every run)
notices that the page changed since the previous run and starts a new visit.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable

import streamlit as st

_PAGE, _VIEWS = "_seen_page", "_seen_views"


def enter(page: str) -> None:
    """Note the page of this run; arriving from another page (or the first run) starts a new visit."""
    state = st.session_state
    if state.get(_PAGE) != page:
        state[_PAGE] = page
        state[_VIEWS] = set()


def audit_once(view: Hashable, write: Callable[[], None]) -> bool:
    """Call ``write`` (which audits ``view`` in its own short transaction) unless this visit of the page
    already audited that view; True when it wrote. A failed write is not remembered: it is tried again."""
    state = st.session_state
    seen: set = state.get(_VIEWS) if isinstance(state.get(_VIEWS), set) else set()
    key = (state.get(_PAGE), view)
    if key in seen:
        return False
    write()
    seen.add(key)
    state[_VIEWS] = seen
    return True
