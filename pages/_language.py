"""The browser session's language: chosen from the browser's preference on the first run, switchable in the
sidebar, kept in the session (``st.session_state``) for every later run and page.

Importing this module registers the session as ``i18n``'s language provider, so ``i18n._`` speaks the
session's language in every page and in what pages build (the PDF summary).
"""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from i18n import LANGUAGES, _, negotiate, set_language_provider
from i18n.languages import accept_language

LANGUAGE = "ui_language"  # the session's language (a Babel identifier: "en", "zh_CN")
PICKER = "ui_language_picker"  # the sidebar's select box (a widget key is forgotten when a run skips it)


def browser_preference() -> list[str]:
    """The browser's languages, most wanted first: ``navigator.language`` (``st.context.locale``), then the
    request's ``Accept-Language`` header; none outside a browser (AppTest, scripts)."""
    preferred: list[str] = []
    try:
        if st.context.locale:
            preferred.append(st.context.locale)
        headers = {key.lower(): value for key, value in dict(st.context.headers).items()}
    except Exception:  # noqa: BLE001 - no browser connection
        return preferred
    return preferred + accept_language(headers.get("accept-language"))


def session_language() -> str | None:
    """This session's language, chosen from the browser on first use; None outside a script run."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return None  # a command line, a test without Streamlit, a thread of its own
    try:
        state = st.session_state
        if LANGUAGE not in state:
            state[LANGUAGE] = negotiate(browser_preference())
        return state[LANGUAGE]
    except Exception:  # noqa: BLE001 - no session (a command line, a test without Streamlit)
        return None


def _chosen() -> None:
    st.session_state[LANGUAGE] = st.session_state[PICKER]


def language_picker() -> None:
    """The sidebar's language choice; the new language applies from the run the choice starts."""
    current = session_language() or next(iter(LANGUAGES))
    st.session_state[PICKER] = current  # follows the session's language (also one set from the browser)
    st.selectbox("🌐 " + _("Language"), list(LANGUAGES), format_func=LANGUAGES.get, key=PICKER, on_change=_chosen)


set_language_provider(session_language)
