"""Submission: validate, compute the queue's triage, store a consultation with its images and the model's
output, audit it, in the caller's unit of work; idempotent per form (``Submission``, migration 0004)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db import audit
from db import triage as triage_rules
from db.codes import hash_code, issue_code, new_access_code, normalise_code
from db.consultations.inputs import (
    AGE_BANDS,
    COURSES,
    DURATIONS,
    ITCH_LEVELS,
    LANGUAGE_FORM,
    MAX_CONSENT_VERSION,
    MAX_FREE_TEXT,
    MAX_IMAGES,
    MAX_TREATMENT,
    MIME_EXTENSIONS,
    SCALP_SITE_SEPARATOR,
    SCALP_SITES,
    SEXES,
    Estimate,
    FollowUpOf,
    ModelOutput,
    NewImage,
    PatientHistory,
)
from db.consultations.patient import find_by_code
from db.errors import UnknownAccessCodeError, ValidationError
from db.models import Consultation, ConsultImage, Course, ImageSource, Prediction, Status, utcnow
from db.validation import check_choice, check_choices, check_text

@dataclass(frozen=True)
class Triage:
    """The queue rule (:mod:`db.triage`), computed once at submit.

    ``priority`` is minus the minute the case is due: submit time + a target turnaround of 72 hours,
    48 if any image is uncertain (or has no prediction), 24 if any is out of scope or the itch is severe.
    The queue is ordered by priority descending (due first), then by submit time, then by id.
    A follow-up whose patient says it got worse is due within 48 hours.
    ``max_p_psoriasis`` is kept for display; it does not order the queue.
    """

    priority: int
    max_p_psoriasis: float | None
    any_uncertain: bool
    any_out_of_scope: bool


def compute_triage(predictions: Sequence[Estimate | None], *, created_at: datetime | None = None,
                   itch: str | None = None, follow_up: bool = False, course: str | None = None) -> Triage:
    """The triage of a case submitted at ``created_at`` (default now) with these predictions and itch; a
    ``follow_up`` of an earlier consultation with the patient's ``course`` (``Course`` value or None)."""
    present = [p for p in predictions if p is not None]
    any_out_of_scope = any(p.out_of_scope for p in present)
    any_uncertain = any(p.uncertain for p in present) or len(present) < len(predictions)
    max_p = max((p.p_psoriasis for p in present), default=None)
    flags = triage_rules.Flags(any_out_of_scope, any_uncertain, itch == "severe", follow_up=follow_up,
                               worse=follow_up and course == Course.WORSE)
    return Triage(triage_rules.priority_key(created_at or utcnow(), flags), max_p, any_uncertain, any_out_of_scope)


# --- submit ----------------------------------------------------------------------------------------
def new_public_id() -> str:
    """A random 96-bit id for URLs and exports; it never starts with '-' or '_' (a leading '-' reads as a
    formula in a spreadsheet and as an option on a command line)."""
    while True:
        public_id = secrets.token_urlsafe(12)
        if public_id[0].isalnum():
            return public_id


@dataclass(frozen=True)
class Submission:
    """What one filled New consultation form is sent with, made when the form starts: an idempotency key
    and the access code the consultation will have. Kept with the form (server side), they let a repeated
    or interrupted submission find the consultation already stored and show the same code."""

    key: str
    access_code: str

    @classmethod
    def new(cls) -> Submission:
        return cls(key=secrets.token_urlsafe(24), access_code=new_access_code())


def submit_consultation(
    session: Session,
    history: PatientHistory | Mapping[str, Any],
    consent_version: str,
    images: Sequence[NewImage],
    predictions: Sequence[ModelOutput | None],
    *,
    is_demo: bool = False,
    now: datetime | None = None,
    submission: Submission | None = None,
    follow_up_of: FollowUpOf | None = None,
    language: str | None = None,
) -> tuple[Consultation, str]:
    """Store a consultation with its images and predictions; return it and the plain access code.

    The code exists only in the return value (the database keeps its hash): show it to the patient once.
    With ``submission``, its key makes this idempotent (enforced by a unique index): when a consultation
    with that key is already stored, it is returned with the submission's code and nothing new is stored.

    With ``follow_up_of`` the consultation follows up the earlier one with that access code (issue 19): it
    gets its own new code, stores the link (``follow_up_of_id``) and the patient's course, and the earlier
    consultation's trail gets a ``consultation.follow_up`` event. The earlier consultation must have been
    reviewed (``reviewed`` or ``closed``). Raises ``UnknownAccessCodeError`` for a code that matches nothing.

    ``language``: the language the patient submitted in (issue 21; a locale identifier such as ``en`` or
    ``zh_CN``, stored in ``consultations.language``; None: not known).
    """
    if not isinstance(history, PatientHistory):
        history = PatientHistory.from_mapping(history)
    _validate_submission(history, consent_version, images, predictions)
    if language is not None and not LANGUAGE_FORM.fullmatch(language):
        raise ValidationError("Language: expected a locale identifier such as en or zh_CN.")
    if follow_up_of is not None:
        check_choice("How it went since", follow_up_of.course, COURSES)
    if submission is not None:
        if not submission.key or len(submission.key) > 64 or normalise_code(submission.access_code) is None:
            raise ValidationError("This form's submission key or access code is not valid; please reload the page.")
        stored = _submitted_before(session, submission)
        if stored is not None:
            return stored, submission.access_code
        try:
            with session.begin_nested():  # another process may store the same key at the same moment
                return _store_consultation(session, history, consent_version, images, predictions, is_demo=is_demo,
                                           now=now, submission=submission, follow_up_of=follow_up_of,
                                           language=language)
        except IntegrityError:
            stored = _submitted_before(session, submission)
            if stored is None:
                raise
            return stored, submission.access_code
    return _store_consultation(session, history, consent_version, images, predictions, is_demo=is_demo, now=now,
                               follow_up_of=follow_up_of, language=language)


def _submitted_before(session: Session, submission: Submission) -> Consultation | None:
    """The consultation already stored for this submission's key; its code must be the submission's."""
    stored = session.scalar(select(Consultation).where(Consultation.submission_key == submission.key))
    if stored is not None and not hmac.compare_digest(
            stored.access_code_hash, hash_code(session, normalise_code(submission.access_code) or "")):
        raise ValidationError("This form was already sent with another access code; please reload the page.")
    return stored


def _store_consultation(session: Session, history: PatientHistory, consent_version: str,
                        images: Sequence[NewImage], predictions: Sequence[ModelOutput | None], *,
                        is_demo: bool, now: datetime | None, submission: Submission | None = None,
                        follow_up_of: FollowUpOf | None = None,
                        language: str | None = None) -> tuple[Consultation, str]:
    now = now or utcnow()
    earlier = _earlier_consultation(session, follow_up_of.code) if follow_up_of is not None else None
    course = follow_up_of.course if follow_up_of is not None else None
    if submission is None:
        code, code_hash = issue_code(session)
    else:
        code = submission.access_code
        code_hash = hash_code(session, normalise_code(code) or "")
    triage = compute_triage(predictions, created_at=now, itch=history.itch, follow_up=earlier is not None,
                            course=course)
    consultation = Consultation(
        public_id=new_public_id(),
        access_code_hash=code_hash,
        status=Status.SUBMITTED,
        priority=triage.priority,
        max_p_psoriasis=triage.max_p_psoriasis,
        any_uncertain=triage.any_uncertain,
        any_out_of_scope=triage.any_out_of_scope,
        created_at=now,
        updated_at=now,
        consent_version=consent_version,
        consent_at=now,
        is_demo=is_demo,
        submission_key=submission.key if submission is not None else None,
        follow_up_of_id=earlier.id if earlier is not None else None,
        reported_course=course,
        language=language,
        **{f.name: getattr(history, f.name) for f in fields(history)},
    )
    consultation.images.extend(_image_rows(images, predictions, now))
    session.add(consultation)
    session.flush()
    _audit_submission(session, consultation, earlier, len(images))
    return consultation, code


def _image_rows(images: Sequence[NewImage], predictions: Sequence[ModelOutput | None],
                now: datetime) -> list[ConsultImage]:
    """One stored row per photo, in upload order, each with its prediction row where the model ran."""
    rows = []
    for position, (image, prediction) in enumerate(zip(images, predictions, strict=True)):
        row = ConsultImage(
            position=position,
            data=bytes(image.data),
            sha256=hashlib.sha256(image.data).hexdigest(),
            size_bytes=len(image.data),
            mime=image.mime,
            width=image.width,
            height=image.height,
            capture=dict(image.capture),
        )
        if prediction is not None:
            row.prediction = prediction_row(prediction, image.overlay_png, now)
        rows.append(row)
    return rows


def _audit_submission(session: Session, consultation: Consultation, earlier: Consultation | None,
                      n_images: int) -> None:
    """The submission on the new consultation's trail and, for a follow-up, on the earlier one's."""
    detail = {"images": n_images, "consent_version": consultation.consent_version,
              "priority": consultation.priority}
    if consultation.language is not None:
        detail["language"] = consultation.language
    if earlier is not None:
        detail.update(follow_up_of=earlier.id, reported_course=consultation.reported_course)
    audit.record(session, audit.PATIENT, "consultation.submit", consultation_id=consultation.id, detail=detail)
    if earlier is not None:  # on the earlier consultation's trail: its code was used to start a follow-up
        audit.record(session, audit.PATIENT, "consultation.follow_up", consultation_id=earlier.id,
                     detail={"follow_up": consultation.id})


def _earlier_consultation(session: Session, code: str) -> Consultation:
    """The consultation a follow-up is linked to: the one with this access code, once reviewed."""
    earlier = find_by_code(session, code)
    if earlier is None:
        raise UnknownAccessCodeError()
    if earlier.status not in (Status.REVIEWED, Status.CLOSED):
        raise ValidationError("A follow-up can be started once the earlier consultation has been reviewed.")
    return earlier


def _validate_submission(
    history: PatientHistory,
    consent_version: str,
    images: Sequence[NewImage],
    predictions: Sequence[ModelOutput | None],
) -> None:
    if not consent_version:
        raise ValidationError("A consultation needs the version of the consent the patient accepted.")
    check_text("Consent version", consent_version, MAX_CONSENT_VERSION)
    check_choice("Photos taken with", history.image_source, [s.value for s in ImageSource])
    if history.image_source is None:
        raise ValidationError("Photos taken with: choose one of the listed answers.")
    check_choice("Age", history.age_band, AGE_BANDS)
    check_choice("Sex", history.sex, SEXES)
    check_choice("How long", history.duration, DURATIONS)
    check_choice("Itch", history.itch, ITCH_LEVELS)
    check_choices("Where on the scalp", history.scalp_site, SCALP_SITES, SCALP_SITE_SEPARATOR)
    check_text("Treatments tried so far", history.previous_treatment, MAX_TREATMENT)
    check_text("The description", history.free_text, MAX_FREE_TEXT, multiline=True)
    if not 1 <= len(images) <= MAX_IMAGES:
        raise ValidationError(f"A consultation needs 1 to {MAX_IMAGES} images, not {len(images)}.")
    if len(predictions) != len(images):
        raise ValidationError("Give one prediction (or None) per image, in the same order.")
    for image in images:
        if image.mime not in MIME_EXTENSIONS or not image.data:
            raise ValidationError(f"Image type {image.mime!r} is not one of {sorted(MIME_EXTENSIONS)}.")
    for prediction in predictions:
        if prediction is not None and not 0.0 <= prediction.p_psoriasis <= 1.0:
            raise ValidationError(f"p_psoriasis {prediction.p_psoriasis} is not a probability.")



def prediction_row(prediction: ModelOutput, overlay_png: bytes | None, created_at: datetime) -> Prediction:
    """The stored row of one model output (``latency_ms``: the sum of its timings, to 0.001 ms)."""
    return Prediction(
        model_version=prediction.model_version, model_sha256=prediction.model_sha256,
        p_psoriasis=prediction.p_psoriasis, threshold=prediction.threshold, temperature=prediction.temperature,
        label=prediction.label, uncertain=prediction.uncertain, out_of_scope=prediction.out_of_scope,
        ood_score=prediction.ood_score, latency_ms=round(sum(prediction.timings_ms.values()), 3),
        overlay_png=overlay_png, created_at=created_at,
    )
