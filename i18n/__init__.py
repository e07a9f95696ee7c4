"""Translations of what people read: GNU gettext catalogs through Babel, chosen per browser session.

The English text in the source is the message id; ``i18n/locales/<language>/LC_MESSAGES/messages.po`` holds
each other language's text, read with Babel at run time (no compile step: a fresh clone works as it is).
No Streamlit here: the app registers where the session's language lives (:func:`set_language_provider`,
``pages/_language.py``); outside the app (command lines, the PDF in tests) the language is English unless
given.

    from i18n import _, N_
    STATUS = {"submitted": N_("Received")}      # marked for the catalog, translated where shown
    st.markdown(_(STATUS["submitted"]))          # in the session's language
    _("Photo {number}").format(number=2)         # placeholders by name, filled after translating

Extract new strings with ``pybabel extract -F i18n/babel.cfg -o i18n/locales/messages.pot .`` and merge
them with ``pybabel update -i i18n/locales/messages.pot -d i18n/locales`` (README, "Languages");
``tests/i18n/test_catalogs.py`` fails while a catalog lacks a string or keeps a stale one.
"""
from __future__ import annotations

from typing import Any, TypeVar

from i18n.catalogs import translation
from i18n.languages import DEFAULT, LANGUAGES, negotiate, normalise
from i18n.session import current_language, in_language, set_language_provider

__all__ = ["DEFAULT", "LANGUAGES", "N_", "_", "current_language", "gettext", "in_language", "negotiate", "ngettext", "normalise",
           "set_language_provider", "translation", "worded"]

E = TypeVar("E", bound=BaseException)


def gettext(message: str, language: str | None = None) -> str:
    """``message`` in ``language`` (default: the current session's); the English text when not translated."""
    return translation(language or current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int, language: str | None = None) -> str:
    """The singular or plural form for ``n`` in ``language`` (Chinese has one form)."""
    return translation(language or current_language()).ngettext(singular, plural, n)


def _(message: str) -> str:
    """``message`` in the current session's language (the name gettext's tools look for)."""
    return gettext(message)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it now (module-level tables); translate with
    :func:`_` where it is shown."""
    return message


def worded(kind: type[E], template: str, **values: Any) -> E:
    """An error of ``kind`` whose message is ``template`` (English, marked with :func:`N_`) filled with ``values``;
    both are kept on it (``template``, ``values``) so that a page shows it translated *before* it is filled
    (``pages/_messages.py``), while logs and command lines read the English message.

        raise worded(ValidationError, N_("Epochs must be between 1 and 200 (got {epochs})."), epochs=epochs)
    """
    error = kind(template.format(**values))
    error.template, error.values = template, values  # type: ignore[attr-defined]
    return error
