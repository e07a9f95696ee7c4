"""The clinician's side: the queue and its filters, opening a case, saving a review and the next case in the
same filtered queue, and the patient's follow-up read by access code. Each function is one unit of work."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from db import consultations
from db.consultations import OPEN_STATUSES, PatientFollowUp, QueueCursor, QueuePage
from db.engine import Database
from db.models import MAX_DIAGNOSIS_OTHER, Consultation, Status, utcnow
from db.users import Clinician


MAX_SPECIFIED = MAX_DIAGNOSIS_OTHER  # characters of the condition named with the diagnosis "other"


@dataclass(frozen=True)
class QueueFilter:
    """The queue's filters as the clinician set them: statuses shown (empty: all), only uncertain cases,
    only cases with a photo out of scope, and a minimum waiting time since submission."""

    statuses: tuple[str, ...] = tuple(OPEN_STATUSES)
    uncertain_only: bool = False
    out_of_scope_only: bool = False
    min_wait: timedelta | None = None

    def shown(self) -> list[str]:
        return [str(s) for s in self.statuses] or [s.value for s in Status]


@dataclass(frozen=True)
class Saved:
    """A saved review: the reviewed case's public id and the next waiting case of the same filtered queue
    (None when nothing there is waiting)."""

    public_id: str
    next_public_id: str | None


def queue_counts(database: Database) -> dict[str, int]:
    """Consultations per status, every status present (a read: no write lock)."""
    with database.session() as session:
        return consultations.queue_counts(session)


def queue_page(database: Database, queue: QueueFilter, *, limit: int, after: str | None = None,
               now: datetime | None = None) -> QueuePage:
    """One page of the filtered queue in triage order; ``after``: the previous page's encoded cursor.
    Raises ``ValidationError`` for a cursor that is not valid."""
    with database.session() as session:
        return consultations.list_queue(
            session, statuses=queue.shown(), uncertain_only=queue.uncertain_only,
            out_of_scope_only=queue.out_of_scope_only, min_wait=queue.min_wait, limit=limit,
            after=QueueCursor.decode(after) if after else None, now=now)


def record_queue_view(database: Database, clinician: Clinician, *, page: int, rows: int) -> None:
    """Audit one listing of the queue shown to ``clinician`` (page number from 1, rows shown)."""
    with database.begin() as session:
        consultations.record_queue_view(session, clinician, page=page, rows=rows)


def find_cases(database: Database, text: str) -> list[Consultation]:
    """Consultations whose public id starts with ``text`` (see ``db.consultations.find_by_public_id``)."""
    with database.session() as session:
        return consultations.find_by_public_id(session, text)


def open_case(database: Database, public_id: str, clinician: Clinician) -> Consultation:
    """The full consultation (images, predictions, reviews), audited as ``consultation.view``;
    raises ``NotFoundError``."""
    with database.begin() as session:
        return consultations.get_consultation_for_clinician(session, public_id, clinician)


def next_waiting(database: Database, queue: QueueFilter, *, now: datetime | None = None) -> str | None:
    """The public id of the first waiting (submitted) case in this filtered queue, or None: what the queue's
    "Review next" opens. A filter that does not show waiting cases has none."""
    if Status.SUBMITTED.value not in queue.shown():
        return None
    with database.session() as session:
        page = consultations.list_queue(
            session, statuses=[Status.SUBMITTED], uncertain_only=queue.uncertain_only,
            out_of_scope_only=queue.out_of_scope_only, min_wait=queue.min_wait, limit=1, now=now)
    return page.items[0].public_id if page.items else None


def save_review(database: Database, case: Consultation, clinician: Clinician, diagnosis: str, notes: str,
                agrees_with_ai: bool | None, *, next_in: QueueFilter | None = None,
                specified: str | None = None, course: str | None = None) -> Saved:
    """Claim the case if it is still waiting, record the review (one unit of work), then, with ``next_in``,
    find the next waiting case of that filtered queue.

    Raises ``InvalidTransitionError`` when another clinician claimed or reviewed it meanwhile,
    ``ValidationError`` for a diagnosis outside the list, "other" without ``specified`` (the condition in
    words), a follow-up without its ``course`` (better, same or worse; issue 19) or notes over 4,000
    characters.
    """
    with database.begin() as session:
        if case.status == Status.SUBMITTED:
            consultations.claim(session, case.id, clinician)
        consultations.record_review(session, case.id, clinician, diagnosis, notes.strip(), agrees_with_ai,
                                    specified=specified, course=course)
    following = next_waiting(database, next_in, now=utcnow()) if next_in is not None else None
    return Saved(case.public_id, following)


def follow_up(database: Database, code: str) -> PatientFollowUp | None:
    """The patient's view for an access code, or None for a code that matches nothing (audited)."""
    with database.begin() as session:
        return consultations.lookup_by_code(session, code)


def waiting_ids(items: Sequence[Consultation]) -> list[str]:
    """Public ids of the waiting cases of a listing, in its order."""
    return [c.public_id for c in items if c.status == Status.SUBMITTED]
