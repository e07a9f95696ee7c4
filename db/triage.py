"""The queue's triage rule: each consultation is due a target turnaround after it was submitted.

The target depends on what was known at submit (none of it changes later):

==========================================  ==========
the case                                    target
==========================================  ==========
a photo out of the model's scope            24 hours (the photo may need retaking: contact soon)
severe itch                                 24 hours
the model is uncertain (or gave no output)  48 hours
a follow-up the patient says got worse      48 hours
otherwise                                   72 hours
==========================================  ==========

A follow-up (issue 19: a consultation linked to an earlier one of the same patient) says so in its reason,
"follow-up" or, when the patient said it got worse, "follow-up, worse".

The shortest applicable target wins. A consultation whose patient answered the dermatologist's request for
more information (issue 19) comes before every other waiting case, the earliest answer first: its key is
:func:`answered_key`, above any due-time key, and it keeps its reason ("patient answered a request"). The queue shows the case due first (the most overdue) first, so a
case that has waited 14 days comes before one submitted a minute ago whatever the model said, and a
flagged case moves up by the time its target is shorter. P(psoriasis) plays no part: a high estimate is
not urgency. The ordering key is stored in ``consultations.priority`` as minus the due time in whole
minutes since 1970 (higher = due earlier), so the existing index (status, priority DESC, created_at, id)
keeps serving pages; migration 0005 rewrote the key of consultations stored before.

No Streamlit, no database session: pure functions, tested on their own. The reasons are facts, not words: each
is a :data:`Phrase` (an English catalog template marked with ``N_`` and its values, durations as ``timedelta``,
times as ``datetime``); :func:`english` words them as the data layer always has, and the pages word them in the
reader's language (``pages/_progress.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from i18n import N_

TARGET_ROUTINE = timedelta(hours=72)
TARGET_UNCERTAIN = timedelta(hours=48)
TARGET_OUT_OF_SCOPE = timedelta(hours=24)
TARGET_SEVERE_ITCH = timedelta(hours=24)
TARGET_WORSE = timedelta(hours=48)  # a follow-up the patient says got worse
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ANSWERED_BAND = 2**30  # keys above 0 are answered cases: ANSWERED_BAND - the minute of the answer (about 1.04e9)

Phrase = tuple[str, dict[str, Any]]  # (English template with {named} placeholders, its values)


class Target(timedelta):
    """A target turnaround: a duration worded whole ("24 h", "3 days"), where other durations are waiting times
    to one decimal ("6.0 h")."""


OVERDUE = N_("overdue by {span} (target {target})")
DUE_IN = N_("due in {span} (target {target})")
ANSWERED = N_("patient answered a request {span} ago")
FOLLOW_UP, FOLLOW_UP_WORSE = N_("follow-up"), N_("follow-up, worse")
OUT_OF_SCOPE, SEVERE_ITCH, UNCERTAIN = N_("photo out of scope"), N_("severe itch"), N_("model uncertain")


@dataclass(frozen=True)
class Flags:
    """What triage knows about a case (all fixed at submit)."""

    out_of_scope: bool = False
    uncertain: bool = False
    severe_itch: bool = False
    answered_at: datetime | None = None  # when the patient answered a request for more information
    follow_up: bool = False  # follows up an earlier consultation of the same patient
    worse: bool = False  # a follow-up whose patient says it got worse since


def flags_of(consultation: object) -> Flags:
    """The flags of a stored consultation (``any_out_of_scope``, ``any_uncertain``, ``itch``, the answer
    time that an answered case's ``priority`` holds, ``follow_up_of_id`` and ``reported_course``)."""
    follow_up = getattr(consultation, "follow_up_of_id", None) is not None
    return Flags(bool(getattr(consultation, "any_out_of_scope", False)),
                 bool(getattr(consultation, "any_uncertain", False)),
                 getattr(consultation, "itch", None) == "severe",
                 answered_time(getattr(consultation, "priority", None)),
                 follow_up, follow_up and getattr(consultation, "reported_course", None) == "worse")


def answered_key(answered_at: datetime) -> int:
    """The stored key of a case whose patient answered at ``answered_at``: above every due-time key (those
    are negative), earlier answers higher."""
    return ANSWERED_BAND - int((_aware(answered_at) - _EPOCH).total_seconds() // 60)


def answered_time(priority: int | None) -> datetime | None:
    """When the patient answered, for a key made by :func:`answered_key` (to the minute); None otherwise."""
    if priority is None or priority <= 0:
        return None
    return _EPOCH + timedelta(minutes=ANSWERED_BAND - priority)


def target(flags: Flags) -> timedelta:
    """The target turnaround: the shortest of those that apply (24 to 72 hours)."""
    targets = [TARGET_ROUTINE]
    if flags.out_of_scope:
        targets.append(TARGET_OUT_OF_SCOPE)
    if flags.severe_itch:
        targets.append(TARGET_SEVERE_ITCH)
    if flags.uncertain:
        targets.append(TARGET_UNCERTAIN)
    if flags.worse:
        targets.append(TARGET_WORSE)
    return min(targets)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def due_at(created_at: datetime, flags: Flags) -> datetime:
    return _aware(created_at) + target(flags)


def priority_key(created_at: datetime, flags: Flags) -> int:
    """The stored ordering key: minus the due time in whole minutes since 1970 (higher = due earlier).

    About -29.6 million in 2026: well within a 32-bit integer until the year 5800.
    """
    return -int((due_at(created_at, flags) - _EPOCH).total_seconds() // 60)


def reason_phrases(flags: Flags, created_at: datetime, now: datetime) -> list[Phrase]:
    """Why a waiting case is where it is: an answered request first, then overdue or due in against which
    target, then the flags that shortened the target (:func:`reasons` words them in English)."""
    due = due_at(created_at, flags)
    left = due - _aware(now)
    goal = Target(seconds=target(flags).total_seconds())
    phrases: list[Phrase] = [(OVERDUE, {"span": -left, "target": goal}) if left < timedelta(0)
                             else (DUE_IN, {"span": left, "target": goal})]
    if flags.answered_at is not None:
        phrases.insert(0, (ANSWERED, {"span": _aware(now) - flags.answered_at}))
    if flags.follow_up:
        phrases.append((FOLLOW_UP_WORSE if flags.worse else FOLLOW_UP, {}))
    for on, words in ((flags.out_of_scope, OUT_OF_SCOPE), (flags.severe_itch, SEVERE_ITCH),
                      (flags.uncertain, UNCERTAIN)):
        if on:
            phrases.append((words, {}))
    return phrases


def reasons(flags: Flags, created_at: datetime, now: datetime) -> str:
    """Why a waiting case is where it is, in a few English words: overdue or due in, against which target, and
    the flags that shortened the target, e.g. "overdue by 11.2 days (target 3 days) · severe itch"."""
    return english(reason_phrases(flags, created_at, now))


def english_value(value: Any) -> str:
    """A phrase's value as the data layer words it: a target whole, another duration to one decimal, a stored
    time (naive = UTC) as "2026-12-04 12:00 UTC", anything else as text."""
    if isinstance(value, Target):
        return _target_text(value)
    if isinstance(value, timedelta):
        return span_text(value)
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M} UTC"
    return str(value)


def english(phrases: list[Phrase]) -> str:
    """Phrases in English, joined by " · " (what logs, command lines and the tests of the data layer read)."""
    return " · ".join(template.format(**{name: english_value(v) for name, v in values.items()})
                      for template, values in phrases)


UNIT_WORDS = {"min": N_("{n} min"), "h": N_("{n} h"), "days": N_("{n} days")}  # how a duration's amount reads


def span_amount(delta: timedelta) -> tuple[float, str]:
    """A waiting time's amount and unit (a key of :data:`UNIT_WORDS`): whole minutes under an hour (at least 1),
    hours under 48 h, else days. The one rule both :func:`span_text` and the pages word."""
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return max(1, round(hours * 60)), "min"
    if hours < 48:
        return hours, "h"
    return hours / 24, "days"


def target_amount(goal: timedelta) -> tuple[float, str]:
    """A target turnaround's amount and unit: hours under 48 h, else days (worded whole, not to one decimal)."""
    hours = goal.total_seconds() / 3600
    return (hours, "h") if hours < 48 else (hours / 24, "days")


def span_text(delta: timedelta) -> str:
    """A waiting time to one decimal: "14 min", "6.0 h", "11.2 days" (also what the pages show)."""
    amount, unit = span_amount(delta)
    return UNIT_WORDS[unit].format(n=amount if unit == "min" else f"{amount:.1f}")


def _target_text(goal: timedelta) -> str:
    """A target turnaround, whole: "24 h", "3 days"."""
    amount, unit = target_amount(goal)
    return UNIT_WORDS[unit].format(n=f"{amount:g}")
