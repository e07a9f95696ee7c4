"""Checks on text handed to the data layer, whatever client sent it.

The app's select boxes offer fixed answers, but a modified client can send anything, and SQLite does not
enforce column lengths (PostgreSQL refuses NUL bytes with a driver error). Every text a data function
stores goes through :func:`check_text` or :func:`check_choice` first, so bad input becomes a
:class:`~db.errors.ValidationError` whose message names the field and never repeats the value (it may
be long or hold markup).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from db.errors import ValidationError

# NUL and the other C0 control characters, and DEL; tab, line feed and carriage return are text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n]")


def check_text(label: str, value: str | None, max_length: int, *, multiline: bool = False,
               required: bool = False) -> str | None:
    """``value`` unchanged when it is storable text of at most ``max_length`` characters.

    Raises ValidationError for a non-string, NUL or other control characters, a line break in a
    one-line field, text longer than ``max_length``, or (with ``required``) an empty value.
    """
    if value is None or value == "":
        if required:
            raise ValidationError(f"{label} is required.")
        return value
    if not isinstance(value, str):
        raise ValidationError(f"{label} must be text.")
    if _CONTROL.search(value):
        raise ValidationError(f"{label} contains characters that cannot be stored (such as NUL). "
                              "Remove them and try again.")
    if not multiline and _LINE_BREAK.search(value):
        raise ValidationError(f"{label} must be a single line.")
    if len(value) > max_length:
        raise ValidationError(f"{label} is longer than {max_length} characters ({len(value)}). "
                              "Shorten it and try again.")
    return value


def check_choice(label: str, value: str | None, choices: Collection[str]) -> str | None:
    """``value`` when it is None or exactly one of ``choices``; ValidationError otherwise."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in choices:
        raise ValidationError(f"{label}: choose one of the listed answers ({', '.join(choices)}).")
    return value


def check_choices(label: str, value: str | None, choices: Collection[str], separator: str = ", ") -> str | None:
    """``value`` when it is None or ``separator``-joined distinct members of ``choices``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{label}: choose from the listed answers ({', '.join(choices)}).")
    parts = value.split(separator)
    if len(set(parts)) != len(parts) or any(part not in choices for part in parts):
        raise ValidationError(f"{label}: choose from the listed answers ({', '.join(choices)}).")
    return value
