"""The patient's view of a consultation, found by access code (audited, never the code itself)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from db import audit
from db.codes import hash_code, normalise_code
from db.consultations.history import chain
from db.models import Consultation, Status

@dataclass(frozen=True)
class AskedOfPatient:
    """The dermatologist's open request as the patient sees it: what is needed (``Need`` values), the
    message, when it was asked and its round (1 for the first)."""

    needs: tuple[str, ...]
    message: str
    asked_at: datetime
    round: int


@dataclass(frozen=True)
class EarlierConsultation:
    """An earlier consultation of a follow-up's chain as its patient sees it (issue 19): when it was sent, its
    status and, once reviewed, the conclusion (diagnosis, the condition in words with "other") and, for a
    follow-up, the course the dermatologist judged (``Course`` value). Never the clinician's name."""

    submitted_at: datetime
    status: str
    diagnosis: str | None = None
    specified: str | None = None
    course: str | None = None
    reviewed_at: datetime | None = None


@dataclass(frozen=True)
class PatientView:
    """All a patient sees: the status, their own photos and free text, and once reviewed the clinician's
    diagnosis, notes and the review's date (never the clinician's name)."""

    status: str
    diagnosis: str | None = None
    notes: str | None = None
    reviewed_at: datetime | None = None
    submitted_at: datetime | None = None
    photos: tuple[bytes, ...] = ()  # the stored copies (no metadata), in the order sent
    free_text: str | None = None


@dataclass(frozen=True)
class PatientFollowUp(PatientView):
    """What :func:`lookup_by_code` returns: the :class:`PatientView` and, since issue 19, the condition in the
    dermatologist's words with the diagnosis "other" and the dermatologist's open request for more
    information (still never the clinician's name)."""

    specified: str | None = None
    request: AskedOfPatient | None = None  # what the dermatologist asks for, while awaiting the patient
    # Follow-ups (issue 19): the dermatologist's course (better / same / worse) once reviewed, the patient's own
    # word when starting it, and the earlier consultations of its chain, oldest first (empty for a first one).
    course: str | None = None
    reported_course: str | None = None
    earlier: tuple[EarlierConsultation, ...] = ()

    @property
    def can_follow_up(self) -> bool:
        """A follow-up can be started with this code: the consultation has been reviewed."""
        return self.status in (Status.REVIEWED, Status.CLOSED)


def find_by_code(session: Session, code: str) -> Consultation | None:
    """The consultation with this access code (reviews, images and requests loaded), or None; not audited.

    The hash is looked up through its unique index and then compared in constant time."""
    canonical = normalise_code(code)
    if canonical is None:
        return None
    digest = hash_code(session, canonical)
    found = session.scalar(
        select(Consultation)
        .where(Consultation.access_code_hash == digest)
        .options(selectinload(Consultation.reviews), selectinload(Consultation.images),
                 selectinload(Consultation.requests))
    )
    return found if found is not None and hmac.compare_digest(found.access_code_hash, digest) else None


def lookup_by_code(session: Session, code: str) -> PatientFollowUp | None:
    """The patient's view for an access code, or None for any code that matches nothing.

    The hash is looked up through its unique index and then compared in constant time; the audit
    event records only whether something was found, never the code. A follow-up's view carries its chain
    (:func:`db.consultations.history.chain`), each earlier consultation audited as ``patient.earlier_view``.
    """
    consultation = find_by_code(session, code)
    audit.record(
        session,
        audit.PATIENT,
        "patient.lookup",
        consultation_id=consultation.id if consultation else None,
        detail={"found": consultation is not None},
    )
    if consultation is None:
        return None
    review = consultation.latest_review
    mine = {"submitted_at": consultation.created_at, "free_text": consultation.free_text,
            "photos": tuple(bytes(i.data) for i in sorted(consultation.images, key=lambda i: i.position)),
            "reported_course": consultation.reported_course, "earlier": _earlier(session, consultation)}
    if consultation.status in (Status.REVIEWED, Status.CLOSED) and review is not None:
        return PatientFollowUp(consultation.status, review.diagnosis, review.notes,
                           reviewed_at=consultation.reviewed_at or review.created_at,
                           specified=review.diagnosis_other, course=review.course, **mine)
    asked = next((r for r in reversed(consultation.requests) if r.answered_at is None), None)
    if consultation.status == Status.AWAITING_PATIENT and asked is not None:
        return PatientFollowUp(consultation.status, request=AskedOfPatient(tuple(asked.needs), asked.message,
                                                                       asked.created_at, asked.round), **mine)
    return PatientFollowUp(consultation.status, **mine)



def _earlier(session: Session, consultation: Consultation) -> tuple[EarlierConsultation, ...]:
    """The chain of a follow-up as its patient sees it, each earlier consultation audited as a view."""
    shown = []
    for earlier in chain(session, consultation):
        audit.record(session, audit.PATIENT, "patient.earlier_view", consultation_id=earlier.id,
                     detail={"from": consultation.id})
        review = earlier.latest_review if earlier.status in (Status.REVIEWED, Status.CLOSED) else None
        shown.append(EarlierConsultation(
            earlier.created_at, earlier.status, review.diagnosis if review else None,
            review.diagnosis_other if review else None, review.course if review else None,
            (earlier.reviewed_at or review.created_at) if review else None))
    return tuple(shown)
