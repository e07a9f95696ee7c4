"""Whose language ``_()`` speaks: a provider the app registers (the browser session's choice), else English."""
from __future__ import annotations

from collections.abc import Callable

from i18n.languages import DEFAULT, LANGUAGES

_provider: Callable[[], str | None] | None = None


def set_language_provider(provider: Callable[[], str | None] | None) -> None:
    """Register the function that names the current session's language (None: always the default)."""
    global _provider
    _provider = provider


def current_language() -> str:
    """The current session's language, :data:`i18n.languages.DEFAULT` outside a session or when unknown."""
    language = _provider() if _provider is not None else None
    return language if language in LANGUAGES else DEFAULT
