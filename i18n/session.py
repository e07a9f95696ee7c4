"""Whose language ``_()`` speaks: a provider the app registers (the browser session's choice), else English."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from i18n.languages import DEFAULT, LANGUAGES

_provider: Callable[[], str | None] | None = None
_pinned = threading.local()  # .language: set by in_language() for the code it wraps, in this thread only


def set_language_provider(provider: Callable[[], str | None] | None) -> None:
    """Register the function that names the current session's language (None: always the default)."""
    global _provider
    _provider = provider


def current_language() -> str:
    """The current session's language, :data:`i18n.languages.DEFAULT` outside a session or when unknown.

    Inside :func:`in_language` it is that block's language, and the provider is not asked."""
    language = getattr(_pinned, "language", None)
    if language is None:
        language = _provider() if _provider is not None else None
    return language if language in LANGUAGES else DEFAULT


@contextmanager
def in_language(language: str) -> Iterator[None]:
    """Speak ``language`` in this thread for the block, without asking the provider.

    The app reads a session's language from Streamlit's session state, and every read of it is a point where
    Streamlit may end a run that a click has replaced. Code that must run to its end once it has started (the
    lines right after a consultation's commit) takes the language beforehand and runs inside this block.
    Nested blocks restore the outer language on exit.
    """
    outer = getattr(_pinned, "language", None)
    _pinned.language = language
    try:
        yield
    finally:
        _pinned.language = outer
