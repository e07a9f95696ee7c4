"""Consultations: submission, the clinician queue, status transitions and the patient's view.

Every function takes the caller's session; the caller frames the unit of work with
``with db.begin() as s:``. Status moves ``submitted -> in_review -> reviewed -> closed`` (a claim can be
released back to ``submitted``); each move is a conditional UPDATE, so two clinicians racing for the
same consultation cannot both win, and each writes an audit event.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, inspect, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from db import audit
from db import triage as triage_rules
from db.codes import hash_code, issue_code, new_access_code, normalise_code
from db.errors import InvalidTransitionError, NotFoundError, ValidationError
from db.models import (
    Consultation,
    ConsultImage,
    Diagnosis,
    ImageSource,
    Prediction,
    Review,
    Status,
    utcnow,
)
from db.users import Clinician
from db.validation import check_choice, check_choices, check_text

MIME_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
MAX_IMAGES = 10
MAX_FREE_TEXT = 4000
MAX_TREATMENT = 200  # consultations.previous_treatment is String(200)
MAX_NOTES = 4000
MAX_CONSENT_VERSION = 32
# The answers the New consultation page offers; nothing else is stored (a modified client can send anything).
AGE_BANDS = ("under 18", "18–39", "40–64", "65 or older")
SEXES = ("female", "male", "other / prefer not to say")
DURATIONS = ("under 4 weeks", "1–6 months", "6–12 months", "over a year")
ITCH_LEVELS = ("none", "mild", "moderate", "severe")
SCALP_SITES = ("hairline", "top", "back", "sides", "behind the ears", "whole scalp")
SCALP_SITE_SEPARATOR = ", "
OPEN_STATUSES = (Status.SUBMITTED, Status.IN_REVIEW)


# --- inputs ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PatientHistory:
    """What the patient reported: fixed answers from the lists above, two free texts (checked at submit)."""

    image_source: str
    age_band: str | None = None
    sex: str | None = None
    duration: str | None = None
    itch: str | None = None
    previous_treatment: str | None = None
    scalp_site: str | None = None
    free_text: str | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PatientHistory:
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValidationError(f"Unknown history fields {sorted(unknown)}.")
        return cls(**values)


@dataclass(frozen=True)
class NewImage:
    """An image already sanitised by the caller (oriented, metadata stripped, re-encoded)."""

    data: bytes
    mime: str
    width: int
    height: int
    capture: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewPrediction:
    """The model's output for the image at the same position in ``images``."""

    model_version: str
    model_sha256: str
    p_psoriasis: float
    threshold: float
    temperature: float
    label: str
    uncertain: bool
    out_of_scope: bool
    latency_ms: float
    ood_score: float | None = None
    overlay_png: bytes | None = None


# --- priority --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Triage:
    """The queue rule (:mod:`db.triage`), computed once at submit.

    ``priority`` is minus the minute the case is due: submit time + a target turnaround of 72 hours,
    48 if any image is uncertain (or has no prediction), 24 if any is out of scope or the itch is severe.
    The queue is ordered by priority descending (due first), then by submit time, then by id.
    ``max_p_psoriasis`` is kept for display; it does not order the queue.
    """

    priority: int
    max_p_psoriasis: float | None
    any_uncertain: bool
    any_out_of_scope: bool


def compute_triage(predictions: Sequence[NewPrediction | None], *, created_at: datetime | None = None,
                   itch: str | None = None) -> Triage:
    """The triage of a case submitted at ``created_at`` (default now) with these predictions and itch."""
    present = [p for p in predictions if p is not None]
    any_out_of_scope = any(p.out_of_scope for p in present)
    any_uncertain = any(p.uncertain for p in present) or len(present) < len(predictions)
    max_p = max((p.p_psoriasis for p in present), default=None)
    flags = triage_rules.Flags(any_out_of_scope, any_uncertain, itch == "severe")
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
    predictions: Sequence[NewPrediction | None],
    *,
    is_demo: bool = False,
    now: datetime | None = None,
    submission: Submission | None = None,
) -> tuple[Consultation, str]:
    """Store a consultation with its images and predictions; return it and the plain access code.

    The code exists only in the return value (the database keeps its hash): show it to the patient once.
    With ``submission``, its key makes this idempotent (enforced by a unique index): when a consultation
    with that key is already stored, it is returned with the submission's code and nothing new is stored.
    """
    if not isinstance(history, PatientHistory):
        history = PatientHistory.from_mapping(history)
    _validate_submission(history, consent_version, images, predictions)
    if submission is not None:
        if not submission.key or len(submission.key) > 64 or normalise_code(submission.access_code) is None:
            raise ValidationError("This form's submission key or access code is not valid; please reload the page.")
        stored = _submitted_before(session, submission)
        if stored is not None:
            return stored, submission.access_code
        try:
            with session.begin_nested():  # another process may store the same key at the same moment
                return _store_consultation(session, history, consent_version, images, predictions, is_demo=is_demo,
                                           now=now, submission=submission)
        except IntegrityError:
            stored = _submitted_before(session, submission)
            if stored is None:
                raise
            return stored, submission.access_code
    return _store_consultation(session, history, consent_version, images, predictions, is_demo=is_demo, now=now)


def _submitted_before(session: Session, submission: Submission) -> Consultation | None:
    """The consultation already stored for this submission's key; its code must be the submission's."""
    stored = session.scalar(select(Consultation).where(Consultation.submission_key == submission.key))
    if stored is not None and not hmac.compare_digest(
            stored.access_code_hash, hash_code(session, normalise_code(submission.access_code) or "")):
        raise ValidationError("This form was already sent with another access code; please reload the page.")
    return stored


def _store_consultation(session: Session, history: PatientHistory, consent_version: str,
                        images: Sequence[NewImage], predictions: Sequence[NewPrediction | None], *,
                        is_demo: bool, now: datetime | None, submission: Submission | None = None
                        ) -> tuple[Consultation, str]:
    now = now or utcnow()
    if submission is None:
        code, code_hash = issue_code(session)
    else:
        code = submission.access_code
        code_hash = hash_code(session, normalise_code(code) or "")
    triage = compute_triage(predictions, created_at=now, itch=history.itch)
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
        **{f.name: getattr(history, f.name) for f in fields(history)},
    )
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
            row.prediction = Prediction(
                created_at=now, **{f.name: getattr(prediction, f.name) for f in fields(prediction)}
            )
        consultation.images.append(row)
    session.add(consultation)
    session.flush()
    audit.record(
        session,
        audit.PATIENT,
        "consultation.submit",
        consultation_id=consultation.id,
        detail={"images": len(images), "consent_version": consent_version, "priority": triage.priority},
    )
    return consultation, code


def _validate_submission(
    history: PatientHistory,
    consent_version: str,
    images: Sequence[NewImage],
    predictions: Sequence[NewPrediction | None],
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


# --- queue -----------------------------------------------------------------------------------------
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


def progress_text(consultation: Consultation, now: datetime) -> str:
    """Where a case stands, for the queue and the review header: why it waits where it does (its target
    turnaround, overdue or due in, the flags that shortened it) while open; when and by whom it was
    reviewed once finished (a finished case no longer "waits")."""
    if consultation.status in (Status.REVIEWED, Status.CLOSED):
        # Reviews when loaded (the review page); else the claimer, who is the reviewer (record_review
        # accepts only the clinician who claimed the case), so a queue page needs no extra query.
        review = latest_review(consultation) if "reviews" not in inspect(consultation).unloaded else None
        when = consultation.reviewed_at or (review.created_at if review else None)
        reviewer = review.clinician if review is not None else consultation.claimed_by
        who = reviewer.username if reviewer is not None else None
        text = "reviewed" + (f" {when:%Y-%m-%d %H:%M} UTC" if when else "") + (f" by {who}" if who else "")
        return text + (" · closed" if consultation.status == Status.CLOSED else "")
    return triage_rules.reasons(triage_rules.flags_of(consultation), consultation.created_at, now)


def record_queue_view(session: Session, clinician: Clinician, *, page: int, rows: int) -> None:
    """Audit one queue listing: it shows triage data of many patients, so it is a read like opening one."""
    audit.record(session, clinician.actor, "queue.view", detail={"page": page, "rows": rows})


def queue_counts(session: Session) -> dict[str, int]:
    """Number of consultations per status (every status present, zero included)."""
    counts = dict.fromkeys((s.value for s in Status), 0)
    for status, n in session.execute(select(Consultation.status, func.count()).group_by(Consultation.status)):
        counts[status] = n
    return counts


# --- clinician reads and transitions ---------------------------------------------------------------
def get_consultation_for_clinician(session: Session, public_id: str, clinician: Clinician) -> Consultation:
    """The full consultation (images, predictions, reviews loaded); audited as ``consultation.view``."""
    consultation = session.scalar(
        select(Consultation)
        .where(Consultation.public_id == public_id)
        .options(
            selectinload(Consultation.images).joinedload(ConsultImage.prediction),
            selectinload(Consultation.reviews).joinedload(Review.clinician),
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
    now: datetime | None = None,
) -> Review:
    """in_review -> reviewed, by the clinician who claimed it; the notes are shown to the patient."""
    check_choice("Diagnosis", diagnosis, [d.value for d in Diagnosis])
    check_text("Notes for the patient", notes, MAX_NOTES, multiline=True)
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
        detail={"diagnosis": diagnosis, "agrees_with_ai": agrees_with_ai},
    )
    review = Review(
        consultation_id=consultation.id,
        clinician_id=clinician.id,
        diagnosis=diagnosis,
        notes=notes,
        agrees_with_ai=agrees_with_ai,
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


# --- patient ---------------------------------------------------------------------------------------
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


def lookup_by_code(session: Session, code: str) -> PatientView | None:
    """The patient's view for an access code, or None for any code that matches nothing.

    The hash is looked up through its unique index and then compared in constant time; the audit
    event records only whether something was found, never the code.
    """
    canonical = normalise_code(code)
    consultation = None
    if canonical is not None:
        digest = hash_code(session, canonical)
        found = session.scalar(
            select(Consultation)
            .where(Consultation.access_code_hash == digest)
            .options(selectinload(Consultation.reviews), selectinload(Consultation.images))
        )
        if found is not None and hmac.compare_digest(found.access_code_hash, digest):
            consultation = found
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
            "photos": tuple(bytes(i.data) for i in sorted(consultation.images, key=lambda i: i.position))}
    if consultation.status in (Status.REVIEWED, Status.CLOSED) and review is not None:
        return PatientView(consultation.status, review.diagnosis, review.notes,
                           reviewed_at=consultation.reviewed_at or review.created_at, **mine)
    return PatientView(consultation.status, **mine)
