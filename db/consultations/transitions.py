"""Clinician reads and status transitions: each move is one conditional UPDATE (race-safe) and an audit row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from db import audit
from db.consultations.inputs import MAX_NOTES
from db.errors import InvalidTransitionError, NotFoundError, ValidationError
from db.consultations.inputs import COURSES
from db.models import MAX_DIAGNOSIS_OTHER, Consultation, ConsultImage, InfoRequest, Diagnosis, Review, Status, utcnow
from db.users import Clinician
from db.validation import check_choice, check_text

def get_consultation_for_clinician(session: Session, public_id: str, clinician: Clinician) -> Consultation:
    """The full consultation (images, predictions, reviews loaded); audited as ``consultation.view``."""
    consultation = session.scalar(
        select(Consultation)
        .where(Consultation.public_id == public_id)
        .options(
            selectinload(Consultation.images).joinedload(ConsultImage.prediction),
            selectinload(Consultation.reviews).joinedload(Review.clinician),
            selectinload(Consultation.requests).joinedload(InfoRequest.requested_by),
            joinedload(Consultation.claimed_by),
        )
    )
    if consultation is None:
        raise NotFoundError(f"No consultation {public_id}.")
    audit.record(session, clinician.actor, "consultation.view", consultation_id=consultation.id)
    return consultation


def claim(session: Session, consultation_id: int, clinician: Clinician, *, now: datetime | None = None) -> Consultation:
    """submitted -> in_review, owned by ``clinician``."""
    now = now or utcnow()
    return _transition(
        session,
        consultation_id,
        clinician,
        "consultation.claim",
        source=Status.SUBMITTED,
        to=Status.IN_REVIEW,
        values={"claimed_by_id": clinician.id, "claimed_at": now, "updated_at": now},
    )


def release(
    session: Session, consultation_id: int, clinician: Clinician, *, now: datetime | None = None
) -> Consultation:
    """in_review -> submitted, by the clinician who claimed it (or an admin)."""
    return _transition(
        session,
        consultation_id,
        clinician,
        "consultation.release",
        source=Status.IN_REVIEW,
        to=Status.SUBMITTED,
        owner_only=True,
        values={"claimed_by_id": None, "claimed_at": None, "updated_at": now or utcnow()},
    )


def record_review(
    session: Session,
    consultation_id: int,
    clinician: Clinician,
    diagnosis: str,
    notes: str = "",
    agrees_with_ai: bool | None = None,
    *,
    specified: str | None = None,
    course: str | None = None,
    now: datetime | None = None,
) -> Review:
    """in_review -> reviewed, by the clinician who claimed it; the notes are shown to the patient.

    ``specified``: the condition in words, required with "other" (at most 200 characters) and ignored
    otherwise. ``course``: better, same or worse since the earlier consultation, required for a follow-up
    (issue 19) and ignored otherwise."""
    check_choice("Diagnosis", diagnosis, [d.value for d in Diagnosis])
    check_text("Notes for the patient", notes, MAX_NOTES, multiline=True)
    specified = (specified or "").strip() if diagnosis == Diagnosis.OTHER else ""
    if diagnosis == Diagnosis.OTHER and not specified:
        raise ValidationError("Other: name the condition.")
    check_text("The other condition", specified, MAX_DIAGNOSIS_OTHER)
    follow_up = session.scalar(select(Consultation.follow_up_of_id).where(Consultation.id == consultation_id))
    course = course if follow_up is not None else None
    check_choice("Course since the earlier consultation", course, COURSES)
    if follow_up is not None and course is None:
        raise ValidationError("This is a follow-up: say whether it is better, the same or worse than before.")
    now = now or utcnow()
    consultation = _transition(
        session,
        consultation_id,
        clinician,
        "consultation.review",
        source=Status.IN_REVIEW,
        to=Status.REVIEWED,
        owner_only=True,
        values={"reviewed_at": now, "updated_at": now},
        detail={"diagnosis": diagnosis, "agrees_with_ai": agrees_with_ai, **({"course": course} if course else {})},
    )
    review = Review(
        consultation_id=consultation.id,
        clinician_id=clinician.id,
        diagnosis=diagnosis,
        diagnosis_other=specified or None,
        notes=notes,
        agrees_with_ai=agrees_with_ai,
        course=course,
        created_at=now,
    )
    session.add(review)
    session.flush()
    return review


def close(session: Session, consultation_id: int, clinician: Clinician, *, now: datetime | None = None) -> Consultation:
    """reviewed -> closed."""
    now = now or utcnow()
    return _transition(
        session,
        consultation_id,
        clinician,
        "consultation.close",
        source=Status.REVIEWED,
        to=Status.CLOSED,
        values={"closed_at": now, "updated_at": now},
    )


def _transition(
    session: Session,
    consultation_id: int,
    clinician: Clinician,
    action: str,
    *,
    source: Status,
    to: Status,
    values: dict[str, Any],
    owner_only: bool = False,
    detail: dict[str, Any] | None = None,
) -> Consultation:
    """Move status with one conditional UPDATE (race-safe), or explain why it cannot move."""
    conditions = [Consultation.id == consultation_id, Consultation.status == source]
    if owner_only and not clinician.is_admin:
        conditions.append(Consultation.claimed_by_id == clinician.id)
    result = session.execute(
        update(Consultation).where(*conditions).values(status=to, **values),
        execution_options={"synchronize_session": False},  # reloaded just below
    )
    consultation = session.get(Consultation, consultation_id, populate_existing=True)
    if consultation is None:
        raise NotFoundError(f"No consultation with id {consultation_id}.")
    if result.rowcount != 1:  # type: ignore[attr-defined]
        reason = "claimed by another clinician" if consultation.status == source else ""
        raise InvalidTransitionError(consultation.public_id, consultation.status, to, reason)
    audit.record(
        session,
        clinician.actor,
        action,
        consultation_id=consultation_id,
        detail={"status": to.value, **(detail or {})},
    )
    return consultation

