"""Errors raised by the core (``scalp_model``, ``db``, ``clinic``) as a person reads them, in the session's
language. The core writes English for logs, operators and command lines; what a page shows is translated
here, where it is shown: an exact message the catalog knows, else the sentence for the error's kind.
"""
from __future__ import annotations

from db.errors import (
    AccountLockedError,
    ClientThrottledError,
    DatabaseBusyError,
    DatabaseError,
    InvalidCredentialsError,
    NotFoundError,
    UnknownAccessCodeError,
    ValidationError,
)
from i18n import DEFAULT, N_, _, current_language, translation
from scalp_model.errors import ImageTooLargeError, InvalidImageError, ScalpScopeError, TruncatedImageError

UNKNOWN_CODE = N_("No consultation matches this access code. Check the code and try again.")
SETUP_PROBLEM = N_("ScalpScope cannot do this right now because of a problem on our side. Please try again later; "
                   "nothing you sent has been stored.")
OPERATOR_DETAILS = N_("Details for the site operator")
# db.errors' sign-in messages (tests/i18n checks they are the same English).
SIGN_IN_FAILED = N_("Wrong username or password, or the account is locked after 5 failed attempts in a row "
                    "(for 15 minutes). Try again later or ask an administrator.")
THROTTLED = N_("Too many failed sign-ins from this network address. Wait 15 minutes and try again, or ask an "
               "administrator.")
# The sentence for each kind of error, most specific first (the exact English message is kept in the details).
BY_KIND: tuple[tuple[type[BaseException], str], ...] = (
    (UnknownAccessCodeError, UNKNOWN_CODE),
    (InvalidCredentialsError, SIGN_IN_FAILED),
    (AccountLockedError, SIGN_IN_FAILED),
    (ClientThrottledError, THROTTLED),
    (ImageTooLargeError, N_("This photo is too large to be processed. Send a smaller photo (a phone's normal "
                            "photo is fine).")),
    (TruncatedImageError, N_("This file ends before the picture does: it was cut short when it was saved or "
                             "copied. Take or choose the photo again.")),
    (InvalidImageError, N_("This file could not be read as a photo. Send a JPEG, PNG, HEIC or WebP photo.")),
    (DatabaseBusyError, N_("The service is busy with another request. Please try again in a moment.")),
    (ValidationError, N_("Some of the answers could not be accepted. Please check the form and try again.")),
    (NotFoundError, N_("Not found.")),
    (ScalpScopeError, N_("This could not be done. Please try again.")),
    (DatabaseError, N_("The service could not complete the request. Please try again later.")),
)


def shown(exc: BaseException) -> str:
    """``exc``'s message in the session's language, else as it is (English)."""
    words = translated(exc)
    return str(exc) if words is None else words


def translated(exc: BaseException) -> str | None:
    """``exc``'s message in the session's language; None in English (the message is shown as it is) or for an
    error of no known kind."""
    language = current_language()
    if language == DEFAULT:
        return None
    template, values = getattr(exc, "template", None), getattr(exc, "values", None)
    if isinstance(template, str) and isinstance(values, dict):  # i18n.worded: translated, then filled
        return _(template).format(**values)
    message = str(exc)
    exact = translation(language).gettext(message)
    if exact != message:
        return exact
    return next((_(text) for kind, text in BY_KIND if isinstance(exc, kind)), None)
