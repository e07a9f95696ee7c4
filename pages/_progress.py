"""Where a case stands (``db.consultations.progress_phrases``: the data layer's facts as English templates and
values) worded in the reader's language: the queue's "Why here" column and search results, the review's caption.

No Streamlit here; the language is the session's (``i18n``) unless given, so the unit test words the same phrases
in English and in Chinese.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from db.triage import UNIT_WORDS, Phrase, Target, span_amount, target_amount
from i18n import gettext
from i18n.formats import date_time_utc, number
from security.text import plain

SEPARATOR = " · "


def span(delta: timedelta, language: str | None = None) -> str:
    """A waiting time to one decimal, as ``db.triage.span_text`` words it in English: "14 min", "6.0 h",
    "11.2 days" / "14 分钟", "6.0 小时", "11.2 天"."""
    amount, unit = span_amount(delta)
    pattern = None if unit == "min" else "0.0"
    return gettext(UNIT_WORDS[unit], language).format(n=number(amount, pattern, language=language))


def whole(goal: timedelta, language: str | None = None) -> str:
    """A target turnaround, whole: "24 h", "3 days" / "24 小时", "3 天"."""
    amount, unit = target_amount(goal)
    return gettext(UNIT_WORDS[unit], language).format(n=number(amount, "0.##", language=language))


def value_text(value: Any, language: str | None = None, *, markdown: bool = False) -> str:
    """One value of a phrase in ``language``: durations and times in its own words and format, a name (the only
    text a phrase holds: a username) as written, escaped when the result is shown as Markdown."""
    if isinstance(value, Target):
        return whole(value, language)
    if isinstance(value, timedelta):
        return span(value, language)
    if isinstance(value, datetime):
        return date_time_utc(value, language)
    return plain(value) if markdown else str(value)


def progress_words(phrases: list[Phrase], language: str | None = None, *, markdown: bool = False) -> str:
    """The phrases in ``language`` (default: the session's), joined by " · ": each template translated, then
    filled with its values worded in that language. ``markdown``: names escaped for a Markdown caption or label."""
    return SEPARATOR.join(
        gettext(template, language).format(**{name: value_text(v, language, markdown=markdown)
                                              for name, v in values.items()})
        for template, values in phrases)
