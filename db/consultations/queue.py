"""The clinician queue: keyset pages in triage order, search by id, counts, and where a case stands."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, inspect, or_, select, union_all
from sqlalchemy.orm import Session, joinedload

from db import audit
from db import triage as triage_rules
from db.consultations.inputs import OPEN_STATUSES
from db.errors import ValidationError
from db.models import Consultation, Review, Status, utcnow
from db.users import Clinician
from i18n import N_

@dataclass(frozen=True)
class QueueCursor:
    """Keyset position after the last row of a page: (priority, created_at, id)."""

    priority: int
    created_at: datetime
    id: int

    @classmethod
    def after_row(cls, consultation: Consultation) -> QueueCursor:
        return cls(consultation.priority, consultation.created_at, consultation.id)

    def encode(self) -> str:
        """An opaque token for URLs or UI state."""
        raw = f"{self.priority}|{self.created_at.isoformat()}|{self.id}"
        return base64.urlsafe_b64encode(raw.encode()).decode()

    @classmethod
    def decode(cls, token: str) -> QueueCursor:
        try:
            priority, created_at, id_ = base64.urlsafe_b64decode(token.encode()).decode().split("|")
            cursor = cls(int(priority), datetime.fromisoformat(created_at), int(id_))
            if cursor.created_at.tzinfo is None:
                raise ValueError("naive time")
            return cursor
        except ValueError as exc:
            raise ValidationError("This queue page link is not valid; start from the first page.") from exc

    def where(self) -> ColumnElement[bool]:
        """Rows strictly after this cursor in (priority DESC, created_at ASC, id ASC) order.

        The leading ``priority <= p`` is implied by the rest; it lets the index seek to the cursor
        instead of scanning from the top of the queue.
        """
        c = Consultation
        return and_(
            c.priority <= self.priority,
            or_(
                c.priority < self.priority,
                and_(c.priority == self.priority, c.created_at > self.created_at),
                and_(c.priority == self.priority, c.created_at == self.created_at, c.id > self.id),
            ),
        )


@dataclass(frozen=True)
class QueuePage:
    items: list[Consultation]
    next_cursor: QueueCursor | None  # None on the last page


def list_queue(
    session: Session,
    *,
    statuses: Iterable[str] = OPEN_STATUSES,
    uncertain_only: bool = False,
    out_of_scope_only: bool = False,
    min_wait: timedelta | None = None,
    limit: int = 50,
    after: QueueCursor | None = None,
    now: datetime | None = None,
) -> QueuePage:
    """One page of the queue in :class:`Triage` order; pass ``page.next_cursor`` as ``after``.

    Items carry ``claimed_by`` but not images (use :func:`get_consultation_for_clinician`).

    Each status is read separately, in ``ix_consultations_queue`` order (status, priority DESC,
    created_at, id) and at most ``limit + 1`` rows each, then the few candidates are merged: the cost
    of a page does not grow with the number of consultations (no sort of every open row).
    """
    if not 1 <= limit <= 500:
        raise ValidationError("limit must be between 1 and 500.")
    wanted = list(dict.fromkeys(str(s) for s in statuses))
    if not wanted:
        return QueuePage([], None)
    order = (Consultation.priority.desc(), Consultation.created_at, Consultation.id)
    filters: list[ColumnElement[bool]] = []
    if uncertain_only:
        filters.append(Consultation.any_uncertain.is_(True))
    if out_of_scope_only:
        filters.append(Consultation.any_out_of_scope.is_(True))
    if min_wait is not None:
        filters.append(Consultation.created_at <= (now or utcnow()) - min_wait)
    if after is not None:
        filters.append(after.where())
    branches = [
        select(Consultation.id).where(Consultation.status == status, *filters).order_by(*order).limit(limit + 1)
        for status in wanted
    ]
    # Each branch is its own subquery so its ORDER BY/LIMIT stay inside it (SQLite needs that in a UNION).
    candidates = (
        branches[0] if len(branches) == 1 else union_all(*(select(b.subquery().c.id) for b in branches))
    ).subquery()
    query = (
        select(Consultation)
        .join(candidates, candidates.c.id == Consultation.id)
        .options(joinedload(Consultation.claimed_by))
        .order_by(*order)
        .limit(limit + 1)
    )
    rows = list(session.scalars(query))
    more = len(rows) > limit
    items = rows[:limit]
    return QueuePage(items, QueueCursor.after_row(items[-1]) if more else None)


FIND_MIN_CHARS = 4  # a shorter piece of a 16-character random id would match too many


def find_by_public_id(session: Session, text: str, *, limit: int = 10) -> list[Consultation]:
    """Consultations whose public id starts with ``text`` (spaces around it ignored; at least
    :data:`FIND_MIN_CHARS` characters), newest first, at most ``limit``; an exact id gives that one."""
    wanted = text.strip()
    if len(wanted) < FIND_MIN_CHARS:
        raise ValidationError(f"Type at least {FIND_MIN_CHARS} characters of the consultation id.")
    exact = session.scalar(select(Consultation).where(Consultation.public_id == wanted)
                           .options(joinedload(Consultation.claimed_by)))
    if exact is not None:
        return [exact]
    query = (select(Consultation).where(Consultation.public_id.startswith(wanted, autoescape=True))
             .options(joinedload(Consultation.claimed_by)).order_by(Consultation.created_at.desc()).limit(limit))
    return [c for c in session.scalars(query) if c.public_id.startswith(wanted)]  # case-sensitive, as ids are


def latest_review(consultation: Consultation) -> Review | None:
    """The most recent review of a consultation (reviews must be loaded), or None."""
    return max(consultation.reviews, key=lambda r: (r.created_at, r.id), default=None)


REVIEWED = {(False, False): N_("reviewed"), (True, False): N_("reviewed {time}"),
            (False, True): N_("reviewed by {name}"), (True, True): N_("reviewed {time} by {name}")}
CLOSED = N_("closed")
ASKED = N_("waiting for the patient: more information asked {span} ago")
ASKED_WHEN_UNKNOWN = N_("waiting for the patient: more information asked")


def progress_phrases(consultation: Consultation, now: datetime) -> list[triage_rules.Phrase]:
    """Where a case stands, as phrases (``db.triage.Phrase``: an English template and its values, worded where
    shown): why it waits where it does (its target turnaround, overdue or due in, the flags that shortened it)
    while open; when and by whom it was reviewed once finished (a finished case no longer "waits")."""
    if consultation.status in (Status.REVIEWED, Status.CLOSED):
        # Reviews when loaded (the review page); else the claimer, who is the reviewer (record_review
        # accepts only the clinician who claimed the case), so a queue page needs no extra query.
        review = latest_review(consultation) if "reviews" not in inspect(consultation).unloaded else None
        when = consultation.reviewed_at or (review.created_at if review else None)
        reviewer = review.clinician if review is not None else consultation.claimed_by
        who = reviewer.username if reviewer is not None else None
        values = {name: value for name, value in (("time", when), ("name", who)) if value}
        phrases: list[triage_rules.Phrase] = [(REVIEWED[bool(when), bool(who)], values)]
        return phrases + ([(CLOSED, {})] if consultation.status == Status.CLOSED else [])
    if consultation.status == Status.AWAITING_PATIENT:
        asked = consultation.updated_at
        return [(ASKED, {"span": now - asked}) if asked else (ASKED_WHEN_UNKNOWN, {})]
    return triage_rules.reason_phrases(triage_rules.flags_of(consultation), consultation.created_at, now)


def progress_text(consultation: Consultation, now: datetime) -> str:
    """:func:`progress_phrases` in English (logs, command lines); pages word them in the reader's language
    (``pages/_progress.py``)."""
    return triage_rules.english(progress_phrases(consultation, now))


def record_queue_view(session: Session, clinician: Clinician, *, page: int, rows: int) -> None:
    """Audit one queue listing: it shows triage data of many patients, so it is a read like opening one."""
    audit.record(session, clinician.actor, "queue.view", detail={"page": page, "rows": rows})


def queue_counts(session: Session) -> dict[str, int]:
    """Number of consultations per status (every status present, zero included)."""
    counts = dict.fromkeys((s.value for s in Status), 0)
    for status, n in session.execute(select(Consultation.status, func.count()).group_by(Consultation.status)):
        counts[status] = n
    return counts

