"""Dates and numbers in a language's own format (Babel's CLDR data)."""
from __future__ import annotations

from datetime import date, datetime, timezone

from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.lists import format_list
from babel.numbers import format_decimal

from i18n.session import current_language


# A language's own pattern where CLDR's "long" is not what its readers expect here (English: "05 December 2026",
# as the app wrote dates before it had translations; CLDR's "en" would be the American "December 5, 2026").
DATE_PATTERNS = {"en": "dd MMMM y"}


def long_date(value: date | datetime, language: str | None = None) -> str:
    """``05 December 2026`` / ``2026年12月5日``."""
    language = language or current_language()
    return _format_date(value, format=DATE_PATTERNS.get(language, "long"), locale=language)


def date_time_utc(value: datetime, language: str | None = None) -> str:
    """A stored time (naive values are UTC) as a long date and a time, with "UTC" named: ``5 December 2026,
    14:05 UTC`` / ``2026年12月5日 14:05 UTC``."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    language = language or current_language()
    day = long_date(aware, language)
    clock = _format_datetime(aware, format="HH:mm", tzinfo=timezone.utc, locale=language)
    return f"{day}{'' if language.startswith('zh') else ','} {clock} UTC"


def number(value: float | int, pattern: str | None = None, language: str | None = None) -> str:
    """A number with the language's grouping and decimal signs (``pattern``: a CLDR pattern such as "0.0")."""
    return format_decimal(value, format=pattern, locale=language or current_language())


def joined(items: list[str], language: str | None = None) -> str:
    """Items of a list as one phrase: ``hairline, top`` in English (as stored), ``发际线和头顶`` in Chinese."""
    language = language or current_language()
    if language == "en":
        return ", ".join(items)
    return format_list(items, style="standard", locale=language)
