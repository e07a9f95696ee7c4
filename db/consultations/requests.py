"""Ask for more (issue 19): the dermatologist requests more information, the patient answers with the access
code. Each move is one conditional UPDATE (race-safe) and one audit row, in the caller's unit of work.

``in_review -> awaiting_patient`` (:func:`request_information`, by the clinician who claimed the case) and
``awaiting_patient -> submitted`` (:func:`answer_request`, by the patient): the answered case is unclaimed
and keyed first in the queue (:func:`db.triage.answered_key`). A case can be asked again after an answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db import audit
from db import triage as triage_rules
from db.consultations.inputs import MAX_FREE_TEXT, MAX_IMAGES, MIME_EXTENSIONS, ModelOutput, NewImage
from db.consultations.patient import find_by_code
from db.consultations.submit import prediction_row
from db.consultations.transitions import _transition
from db.errors import InvalidTransitionError, UnknownAccessCodeError, ValidationError
from db.models import Consultation, ConsultImage, InfoRequest, Need, Status, utcnow
from db.users import Clinician
from db.validation import check_text

MAX_MESSAGE = 1000  # characters of the dermatologist's message to the patient
PHOTO_NEEDS = frozenset(n.value for n in Need) - {Need.QUESTION.value}


def request_information(session: Session, consultation_id: int, clinician: Clinician, needs: Sequence[str],
                        message: str, *, now: datetime | None = None) -> InfoRequest:
    """in_review -> awaiting_patient, by the clinician who claimed it: what is needed (``Need`` values, at
    least one) and a message for the patient (required, at most :data:`MAX_MESSAGE` characters)."""
    wanted = list(dict.fromkeys(needs))
    if not wanted or any(n not in {v.value for v in Need} for n in wanted):
        raise ValidationError(f"Choose what you need from the list ({', '.join(n.value for n in Need)}).")
    message = (message or "").strip()
    check_text("The message to the patient", message, MAX_MESSAGE, multiline=True, required=True)
    now = now or utcnow()
    rounds = session.scalar(select(func.count()).where(InfoRequest.consultation_id == consultation_id)) or 0
    consultation = _transition(
        session, consultation_id, clinician, "consultation.request_info", source=Status.IN_REVIEW,
        to=Status.AWAITING_PATIENT, owner_only=True, values={"updated_at": now},
        detail={"needs": wanted, "round": rounds + 1})
    request = InfoRequest(consultation_id=consultation.id, round=rounds + 1, requested_by_id=clinician.id,
                          needs=wanted, message=message, created_at=now)
    session.add(request)
    session.flush()
    return request


def open_request(consultation: Consultation) -> InfoRequest | None:
    """The request waiting for the patient's answer (requests loaded), or None."""
    if consultation.status != Status.AWAITING_PATIENT:
        return None
    return next((r for r in reversed(consultation.requests) if r.answered_at is None), None)


def answer_request(session: Session, code: str, text: str, images: Sequence[NewImage],
                   predictions: Sequence[ModelOutput | None], *, now: datetime | None = None) -> InfoRequest:
    """The patient's answer to the open request of the consultation with this access code: photos (with the
    model's output each) and text. awaiting_patient -> submitted, first in the queue, unclaimed.

    Photos are required when the request asked for photos, text when it asked a question. Raises
    ``UnknownAccessCodeError``, ``InvalidTransitionError`` (nothing asked, or answered meanwhile),
    ``ValidationError``.
    """
    consultation = find_by_code(session, code)
    if consultation is None:
        audit.record(session, audit.PATIENT, "patient.lookup", detail={"found": False})
        raise UnknownAccessCodeError()
    request = open_request(consultation)
    if request is None:
        raise InvalidTransitionError(consultation.public_id, consultation.status, Status.SUBMITTED,
                                     "no request is waiting for an answer")
    text = (text or "").strip()
    _check_answer(request, text, images, predictions)
    now = now or utcnow()
    present = [p for p in predictions if p is not None]
    result = session.execute(
        update(Consultation)
        .where(Consultation.id == consultation.id, Consultation.status == Status.AWAITING_PATIENT)
        .values(status=Status.SUBMITTED, priority=triage_rules.answered_key(now), claimed_by_id=None,
                claimed_at=None, updated_at=now,
                any_uncertain=consultation.any_uncertain or len(present) < len(predictions)
                or any(p.uncertain for p in present),
                any_out_of_scope=consultation.any_out_of_scope or any(p.out_of_scope for p in present),
                max_p_psoriasis=max([p.p_psoriasis for p in present]
                                    + ([consultation.max_p_psoriasis] if consultation.max_p_psoriasis is not None
                                       else []), default=None)),
        execution_options={"synchronize_session": False})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidTransitionError(consultation.public_id, Status.SUBMITTED, Status.SUBMITTED, "answered meanwhile")
    first = (max((i.position for i in consultation.images), default=-1)) + 1
    for offset, (image, prediction) in enumerate(zip(images, predictions, strict=True)):
        row = ConsultImage(consultation_id=consultation.id, request_id=request.id, position=first + offset,
                           data=bytes(image.data), sha256=hashlib.sha256(image.data).hexdigest(),
                           size_bytes=len(image.data), mime=image.mime, width=image.width, height=image.height,
                           capture=dict(image.capture))
        if prediction is not None:
            row.prediction = prediction_row(prediction, image.overlay_png, now)
        session.add(row)
    request.answered_at, request.answer_text = now, text or None
    session.flush()
    audit.record(session, audit.PATIENT, "consultation.answer", consultation_id=consultation.id,
                 detail={"round": request.round, "images": len(images), "status": Status.SUBMITTED.value})
    return request


def _check_answer(request: InfoRequest, text: str, images: Sequence[NewImage],
                  predictions: Sequence[ModelOutput | None]) -> None:
    check_text("Your answer", text, MAX_FREE_TEXT, multiline=True)
    if len(images) > MAX_IMAGES or len(predictions) != len(images):
        raise ValidationError(f"Send at most {MAX_IMAGES} photos.")
    if PHOTO_NEEDS.intersection(request.needs) and not images:
        raise ValidationError("The dermatologist asked for photos: add at least one.")
    if Need.QUESTION in request.needs and not text:
        raise ValidationError("The dermatologist asked a question: write your answer.")
    if not images and not text:
        raise ValidationError("Add a photo or write an answer.")
    for image in images:
        if image.mime not in MIME_EXTENSIONS or not image.data:
            raise ValidationError(f"Image type {image.mime!r} is not one of {sorted(MIME_EXTENSIONS)}.")
