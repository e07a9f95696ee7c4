"""Reader studies (issue 8): the paper's "without, then with, the model" reading, inside the service.

An admin creates a study from labelled images (reviewed consultations, or an ImageFolder tree on the
server) whose model outputs the caller computed once with the shared predictor (``db`` never runs the
model), and invites readers (existing accounts). Every reader reads every case twice:

* pass 1, unaided: diagnosis (psoriasis / seborrheic dermatitis) and confidence 1-5;
* pass 2, aided: the same, with the model's probability and Grad-CAM map on screen.

Each reader gets a seed (derived from the study's seed and the account) and two stored orders drawn
from it (:func:`reading_orders`). Wash-out: pass 2 opens only when pass 1 is complete (and, when the
study sets ``washout_days``, that many days after the last unaided reading); its order is an
independent shuffle that never starts with the case that ended pass 1. :func:`record_reading` accepts
only the case that is next in the reader's order, so progress is the stored readings themselves:
a reader can stop and resume anywhere, in any browser.

Every function takes the caller's session (``with db.begin() as s:``). Statistics live in
``scalp_model.reader_stats``; this module owns the reading scale (:func:`ordinal_score`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import random
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from db import audit
from db.errors import DatabaseError, NotFoundError, ValidationError
from db.models import (
    Consultation,
    ConsultImage,
    ReaderStudy,
    Reading,
    Review,
    Status,
    StudyCase,
    StudyLabel,
    StudyReader,
    StudySource,
    User,
    utcnow,
)
from db.users import Clinician
from db.validation import check_text
from security.exports import safe_row

UNAIDED, AIDED = 1, 2
PASS_NAMES = {UNAIDED: "unaided", AIDED: "aided"}
CONFIDENCE_LEVELS = (1, 2, 3, 4, 5)
MIN_CASES = 2
MAX_CASES = 1000
MAX_NAME_LENGTH = 120
MAX_WASHOUT_DAYS = 365
SEED_LIMIT = 2**31
MIME_TYPES = frozenset({"image/jpeg", "image/png"})
CONSULTATION_REF = "consultation:"  # source_ref of a case taken from a consultation: consultation:<public_id>


class StudyPermissionError(DatabaseError):
    """The account may not do this (only admins set up studies and see their results)."""

    default_message = "Only an administrator can set up reader studies and see their results."


class ReadingOrderError(ValidationError):
    """The answer is not for the case this reader has to read now (saved already, or out of turn)."""

    default_message = (
        "This answer was not saved: that case is no longer the one to read (perhaps it was saved from "
        "another tab). The case to read now is shown."
    )


# --- the reading scale ---------------------------------------------------------------------------
def ordinal_score(diagnosis: str, confidence: int) -> int:
    """Diagnosis and confidence as one 1-10 rating of psoriasis likelihood, for ROC analysis.

    Psoriasis with confidence c is 5 + c (6..10); seborrheic dermatitis with confidence c is 6 - c
    (5..1). A rating of 6 or more is a psoriasis diagnosis.
    """
    _check_answer(diagnosis, confidence)
    return 5 + confidence if diagnosis == StudyLabel.PSORIASIS else 6 - confidence


def _check_answer(diagnosis: str, confidence: int) -> None:
    if diagnosis not in set(StudyLabel):
        raise ValidationError(f"Diagnosis {diagnosis!r} is not one of {[d.value for d in StudyLabel]}.")
    if isinstance(confidence, bool) or not isinstance(confidence, int) or confidence not in CONFIDENCE_LEVELS:
        raise ValidationError(f"Confidence must be a whole number from 1 to 5, not {confidence!r}.")


# --- randomisation -------------------------------------------------------------------------------
def reader_seed(study_seed: int, user_id: int) -> int:
    """A reader's seed: reproducible from the study's seed and the account, different between readers."""
    digest = hashlib.sha256(f"scalpscope-reader-study:{int(study_seed)}:{int(user_id)}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % SEED_LIMIT


def reading_orders(case_ids: Sequence[int], seed: int) -> tuple[list[int], list[int]]:
    """(unaided order, aided order) of one reader: two permutations of ``case_ids`` from ``seed``.

    Both are uniform shuffles by one ``random.Random(seed)``; the aided one is drawn independently of
    the unaided one except for the wash-out rule that it must not start with the case that ended the
    unaided pass (rejection sampling, so it stays uniform over the permutations allowed).
    """
    ids = [int(i) for i in case_ids]
    if len(set(ids)) != len(ids):
        raise ValidationError("A study's case ids must be distinct.")
    if len(ids) < MIN_CASES:
        raise ValidationError(f"A reader study needs at least {MIN_CASES} cases.")
    rng = random.Random(int(seed))
    unaided = ids.copy()
    rng.shuffle(unaided)
    while True:
        aided = ids.copy()
        rng.shuffle(aided)
        if aided[0] != unaided[-1]:
            return unaided, aided


# --- labelled images -------------------------------------------------------------------------------
@dataclass(frozen=True)
class LabelledImage:
    """A candidate case before the model has run: image bytes (untrusted until decoded) and truth."""

    data: bytes
    truth: str
    source_ref: str


@dataclass(frozen=True)
class NewStudyCase:
    """A case ready to store: sanitised image, truth and the model's output for it."""

    data: bytes
    mime: str
    width: int
    height: int
    truth: str
    source_ref: str
    p_psoriasis: float
    overlay_png: bytes | None = None


def _labelled_consultations(include_demo: bool):
    """Reviewed or closed consultations whose latest review says psoriasis or seborrheic dermatitis."""
    latest = (
        select(Review.consultation_id, func.max(Review.id).label("review_id"))
        .group_by(Review.consultation_id)
        .subquery()
    )
    query = (
        select(Consultation.id, Consultation.public_id, Review.diagnosis)
        .join(latest, latest.c.consultation_id == Consultation.id)
        .join(Review, Review.id == latest.c.review_id)
        .where(
            Consultation.status.in_([Status.REVIEWED, Status.CLOSED]),
            Review.diagnosis.in_([label.value for label in StudyLabel]),
        )
        .order_by(Consultation.id)
    )
    return query if include_demo else query.where(Consultation.is_demo.is_(False))


def count_labelled_consultations(session: Session, *, include_demo: bool = False) -> dict[str, int]:
    """How many consultations could become cases, per truth (for the set-up page)."""
    counts = dict.fromkeys((label.value for label in StudyLabel), 0)
    for _, _, diagnosis in session.execute(_labelled_consultations(include_demo)):
        counts[diagnosis] += 1
    return counts


def labelled_consultation_images(
    session: Session, *, include_demo: bool = False, limit: int | None = None, seed: int | None = None
) -> list[LabelledImage]:
    """One case per labelled consultation (its first photo, so cases are independent patients).

    Truth is the latest review's diagnosis. With ``limit``, a random sample of that many
    consultations (reproducible when ``seed`` is given), in consultation order.
    """
    rows = list(session.execute(_labelled_consultations(include_demo)))
    if limit is not None and 0 < limit < len(rows):
        rng = random.Random(secrets.randbelow(SEED_LIMIT) if seed is None else seed)
        rows = sorted(rng.sample(rows, limit), key=lambda row: row[0])
    ids = [row[0] for row in rows]
    data: dict[int, bytes] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        query = select(ConsultImage.consultation_id, ConsultImage.data).where(
            ConsultImage.consultation_id.in_(chunk), ConsultImage.position == 0
        )
        data.update({cid: blob for cid, blob in session.execute(query)})
    return [
        LabelledImage(data[cid], diagnosis, f"{CONSULTATION_REF}{public_id}")
        for cid, public_id, diagnosis in rows
        if cid in data
    ]


# --- set-up ----------------------------------------------------------------------------------------
def _require_admin(actor: Clinician) -> None:
    if not actor.is_admin:
        raise StudyPermissionError()


def _validate_cases(cases: Sequence[NewStudyCase]) -> None:
    if not MIN_CASES <= len(cases) <= MAX_CASES:
        raise ValidationError(f"A reader study needs {MIN_CASES} to {MAX_CASES} cases, not {len(cases)}.")
    truths = {case.truth for case in cases}
    unknown = truths - set(StudyLabel)
    if unknown:
        raise ValidationError(f"Case truths must be one of {[d.value for d in StudyLabel]}; got {sorted(unknown)}.")
    if truths != set(StudyLabel):
        raise ValidationError("A reader study needs cases of both psoriasis and seborrheic dermatitis (AUC needs both).")
    for case in cases:
        if case.mime not in MIME_TYPES or not case.data:
            raise ValidationError(f"Case {case.source_ref!r}: store a sanitised JPEG or PNG, not {case.mime!r}.")
        if not (0.0 <= case.p_psoriasis <= 1.0) or math.isnan(case.p_psoriasis):
            raise ValidationError(f"Case {case.source_ref!r}: p_psoriasis {case.p_psoriasis!r} is not in [0, 1].")
        if not case.source_ref or len(case.source_ref) > 255:
            raise ValidationError("Each case needs a source reference of 1 to 255 characters.")
        check_text("A case's source reference", case.source_ref, 255)


def _load_users(session: Session, user_ids: Iterable[int]) -> list[User]:
    wanted = sorted({int(i) for i in user_ids})
    users = list(session.scalars(select(User).where(User.id.in_(wanted)).order_by(User.id)))
    missing = set(wanted) - {u.id for u in users}
    if missing:
        raise ValidationError(f"No account with id {sorted(missing)}; readers must be existing clinician accounts.")
    return users


def _invite(study: ReaderStudy, user: User, case_ids: Sequence[int], now: datetime) -> StudyReader:
    seed = reader_seed(study.seed, user.id)
    unaided, aided = reading_orders(case_ids, seed)
    reader = StudyReader(user_id=user.id, seed=seed, unaided_order=unaided, aided_order=aided, invited_at=now)
    study.readers.append(reader)
    return reader


def create_study(
    session: Session,
    creator: Clinician,
    name: str,
    cases: Sequence[NewStudyCase],
    reader_ids: Iterable[int],
    *,
    source: str,
    model_version: str,
    model_sha256: str,
    threshold: float,
    seed: int | None = None,
    washout_days: float = 0.0,
    folder: str | None = None,
    now: datetime | None = None,
) -> ReaderStudy:
    """Store a study, its cases (in the given order) and its readers with their orders; audited with the
    folder the images came from (``folder``, for a folder study) or the consultations they were taken from."""
    _require_admin(creator)
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise ValidationError(f"Give the study a name of 1 to {MAX_NAME_LENGTH} characters.")
    check_text("The study name", name, MAX_NAME_LENGTH)
    if source not in set(StudySource):
        raise ValidationError(f"Source {source!r} is not one of {[s.value for s in StudySource]}.")
    if not 0 <= washout_days <= MAX_WASHOUT_DAYS:
        raise ValidationError(f"The wash-out must be 0 to {MAX_WASHOUT_DAYS} days, not {washout_days!r}.")
    if seed is not None and not 0 <= int(seed) < SEED_LIMIT:
        raise ValidationError(f"The seed must be 0 to {SEED_LIMIT - 1}.")
    _validate_cases(cases)
    users = _load_users(session, reader_ids)
    if not users:
        raise ValidationError("Invite at least one reader.")
    if session.scalar(select(ReaderStudy.id).where(ReaderStudy.name == name)) is not None:
        raise ValidationError(f"A study called {name!r} exists already; choose another name.")
    now = now or utcnow()
    study = ReaderStudy(
        name=name, source=source, seed=secrets.randbelow(SEED_LIMIT) if seed is None else int(seed),
        washout_days=float(washout_days), model_version=model_version, model_sha256=model_sha256,
        threshold=float(threshold), created_by_id=creator.id, created_at=now,
    )
    for position, case in enumerate(cases):
        study.cases.append(StudyCase(
            position=position, truth=case.truth, source_ref=case.source_ref, data=bytes(case.data),
            sha256=hashlib.sha256(case.data).hexdigest(), mime=case.mime, width=case.width, height=case.height,
            p_psoriasis=float(case.p_psoriasis), overlay_png=case.overlay_png,
        ))
    session.add(study)
    session.flush()  # case ids, needed for the orders
    case_ids = [case.id for case in study.cases]
    for user in users:
        _invite(study, user, case_ids, now)
    session.flush()
    truths = [case.truth for case in cases]
    audit.record(session, creator.actor, "study.create", detail={
        "study_id": study.id, "name": name, "source": source, "cases": len(cases),
        "psoriasis": truths.count(StudyLabel.PSORIASIS), "readers": [u.username for u in users],
        "model_version": model_version, "washout_days": float(washout_days),
        "folder": folder,
        "consultations": [case.source_ref.removeprefix(CONSULTATION_REF) for case in cases
                          if case.source_ref.startswith(CONSULTATION_REF)],
    })
    return study


def record_folder_refused(session: Session, actor: Clinician, folder: str) -> None:
    """Audit an admin's reader-study folder that was refused (outside the root, missing, no images)."""
    _require_admin(actor)
    shown = "".join(c if c.isprintable() else "?" for c in (folder or ""))[:1024]
    audit.record(session, actor.actor, "study.folder_refused", detail={"folder": shown})


def invite_readers(session: Session, actor: Clinician, study_id: int, reader_ids: Iterable[int]) -> list[str]:
    """Add readers to an existing study (already invited ones are skipped); returns the new usernames."""
    _require_admin(actor)
    study = _study(session, study_id)
    present = {reader.user_id for reader in study.readers}
    added = [user for user in _load_users(session, reader_ids) if user.id not in present]
    now = utcnow()
    case_ids = list(session.scalars(select(StudyCase.id).where(StudyCase.study_id == study.id)
                                    .order_by(StudyCase.position)))
    for user in added:
        _invite(study, user, case_ids, now)
    session.flush()
    if added:
        audit.record(session, actor.actor, "study.invite",
                     detail={"study_id": study.id, "readers": [u.username for u in added]})
    return [user.username for user in added]


def _study(session: Session, study_id: int) -> ReaderStudy:
    study = session.get(ReaderStudy, study_id, options=[selectinload(ReaderStudy.readers)])
    if study is None:
        raise NotFoundError(f"No reader study with id {study_id}.")
    return study


@dataclass(frozen=True)
class StudySummary:
    id: int
    name: str
    source: str
    created_at: datetime
    created_by: str
    model_version: str
    washout_days: float
    cases: int
    readers: tuple[str, ...]
    readings: int
    finished_readers: int  # readers who have read every case in both passes


def list_studies(session: Session, actor: Clinician) -> list[StudySummary]:
    """Every study, newest first, with counts (admins only)."""
    _require_admin(actor)
    studies = list(session.scalars(
        select(ReaderStudy).options(selectinload(ReaderStudy.readers).joinedload(StudyReader.user),
                                    selectinload(ReaderStudy.created_by))
        .order_by(ReaderStudy.id.desc())
    ))
    case_counts = dict(session.execute(select(StudyCase.study_id, func.count()).group_by(StudyCase.study_id)).all())
    per_reader = dict(session.execute(
        select(Reading.study_reader_id, func.count()).group_by(Reading.study_reader_id)
    ).all())
    summaries = []
    for s in studies:
        cases = case_counts.get(s.id, 0)
        counts = [per_reader.get(r.id, 0) for r in s.readers]
        summaries.append(StudySummary(
            s.id, s.name, s.source, s.created_at, s.created_by.username, s.model_version, s.washout_days, cases,
            tuple(r.user.username for r in s.readers), sum(counts), sum(1 for n in counts if cases and n == 2 * cases),
        ))
    return summaries


# --- reading -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReaderProgress:
    """Where one reader stands in one study."""

    study_id: int
    study_name: str
    reader_id: int
    cases: int
    unaided_done: int
    aided_done: int
    washout_days: float
    aided_opens_at: datetime | None  # when the aided pass opens (None until pass 1 is complete)

    @property
    def current_pass(self) -> int | None:
        if self.unaided_done < self.cases:
            return UNAIDED
        return AIDED if self.aided_done < self.cases else None

    @property
    def finished(self) -> bool:
        return self.current_pass is None


@dataclass(frozen=True)
class CaseView:
    """One case as a reader sees it; the model's output only in the aided pass."""

    case_id: int
    pass_number: int
    sequence: int  # 1-based place in this reader's order for this pass
    total: int
    data: bytes
    mime: str
    width: int
    height: int
    p_psoriasis: float | None
    overlay_png: bytes | None
    threshold: float | None


@dataclass(frozen=True)
class ReaderStep:
    """What a reader's screen shows: progress, and the case to read (None when finished or in wash-out)."""

    progress: ReaderProgress
    case: CaseView | None

    @property
    def waiting(self) -> bool:
        return self.case is None and not self.progress.finished


def _reader(session: Session, study_id: int, clinician: Clinician) -> StudyReader:
    reader = session.scalar(
        select(StudyReader).where(StudyReader.study_id == study_id, StudyReader.user_id == clinician.id)
        .options(selectinload(StudyReader.study))
    )
    if reader is None:
        raise NotFoundError("You are not a reader of this study.")
    return reader


def _done(session: Session, reader_ids: Sequence[int]) -> dict[int, dict[int, dict[int, datetime]]]:
    """{study_reader_id: {pass: {case_id: created_at}}} for these readers."""
    done: dict[int, dict[int, dict[int, datetime]]] = defaultdict(lambda: {UNAIDED: {}, AIDED: {}})
    if reader_ids:
        query = select(Reading.study_reader_id, Reading.pass_number, Reading.case_id, Reading.created_at).where(
            Reading.study_reader_id.in_(list(reader_ids))
        )
        for reader_id, pass_number, case_id, created_at in session.execute(query):
            done[reader_id][pass_number][case_id] = created_at
    return done


def _progress(reader: StudyReader, done: dict[int, dict[int, datetime]]) -> ReaderProgress:
    total = len(reader.unaided_order)
    unaided, aided = done[UNAIDED], done[AIDED]
    opens_at = None
    if len(unaided) >= total and unaided:
        opens_at = max(unaided.values()) + timedelta(days=reader.study.washout_days)
    return ReaderProgress(reader.study_id, reader.study.name, reader.id, total, len(unaided), len(aided),
                          reader.study.washout_days, opens_at)


def _next(reader: StudyReader, progress: ReaderProgress, done: dict[int, dict[int, datetime]],
          now: datetime) -> tuple[int, int, int] | None:
    """(pass, sequence, case_id) of the case to read now, or None (finished or waiting for the wash-out)."""
    pass_number = progress.current_pass
    if pass_number is None:
        return None
    if pass_number == AIDED and progress.aided_opens_at is not None and now < progress.aided_opens_at:
        return None
    order = reader.unaided_order if pass_number == UNAIDED else reader.aided_order
    for index, case_id in enumerate(order):
        if case_id not in done[pass_number]:
            return pass_number, index + 1, case_id
    return None  # pragma: no cover - current_pass says a case is left


def studies_for_reader(session: Session, clinician: Clinician) -> list[ReaderProgress]:
    """The studies this account is invited to, oldest first, with its progress in each."""
    readers = list(session.scalars(
        select(StudyReader).where(StudyReader.user_id == clinician.id)
        .options(selectinload(StudyReader.study)).order_by(StudyReader.study_id)
    ))
    done = _done(session, [r.id for r in readers])
    return [_progress(reader, done[reader.id]) for reader in readers]


def _consultation_of(session: Session, source_ref: str) -> int | None:
    """The id of the consultation a case's picture came from, or None for a folder image."""
    if not source_ref.startswith(CONSULTATION_REF):
        return None
    return session.scalar(select(Consultation.id).where(
        Consultation.public_id == source_ref.removeprefix(CONSULTATION_REF)))


def next_step(session: Session, study_id: int, clinician: Clinician, *, now: datetime | None = None,
              record_view: bool = True) -> ReaderStep:
    """The reader's progress and the case to read now (loaded with its image).

    Returning a case displays its picture, so a call that returns one is audited (:func:`record_case_view`)
    unless ``record_view`` is False: a page that shows the same case on every rerun reads it in a read
    transaction and audits it once per view.
    """
    reader = _reader(session, study_id, clinician)
    done = _done(session, [reader.id])[reader.id]
    progress = _progress(reader, done)
    found = _next(reader, progress, done, now or utcnow())
    if found is None:
        return ReaderStep(progress, None)
    pass_number, sequence, case_id = found
    case = session.get(StudyCase, case_id)
    aided = pass_number == AIDED
    if record_view:
        record_case_view(session, clinician, study_id, case_id, pass_number)
    return ReaderStep(progress, CaseView(
        case_id=case.id, pass_number=pass_number, sequence=sequence, total=progress.cases, data=case.data,
        mime=case.mime, width=case.width, height=case.height,
        p_psoriasis=case.p_psoriasis if aided else None, overlay_png=case.overlay_png if aided else None,
        threshold=reader.study.threshold if aided else None,
    ))


def record_case_view(session: Session, clinician: Clinician, study_id: int, case_id: int, pass_number: int) -> None:
    """Audit that a reader was shown a case: ``consultation.view`` (with the consultation) for a picture taken
    from a consultation, ``study.case_view`` otherwise."""
    _reader(session, study_id, clinician)  # only a reader of the study is shown its cases
    case = session.get(StudyCase, case_id)
    if case is None or case.study_id != study_id:
        raise NotFoundError()
    seen = {"via": "reader_study", "study_id": study_id, "case_id": case_id, "pass": pass_number}
    consultation_id = _consultation_of(session, case.source_ref)
    audit.record(session, clinician.actor, "study.case_view" if consultation_id is None else "consultation.view",
                 consultation_id=consultation_id, detail=seen)


def record_reading(
    session: Session,
    study_id: int,
    clinician: Clinician,
    case_id: int,
    pass_number: int,
    diagnosis: str,
    confidence: int,
    *,
    seconds: float | None = None,
    now: datetime | None = None,
) -> Reading:
    """Save one answer; only the case that is next in this reader's order for the open pass is accepted."""
    _check_answer(diagnosis, confidence)
    if pass_number not in PASS_NAMES:
        raise ValidationError(f"Pass must be 1 (unaided) or 2 (aided), not {pass_number!r}.")
    now = now or utcnow()
    reader = _reader(session, study_id, clinician)
    done = _done(session, [reader.id])[reader.id]
    progress = _progress(reader, done)
    found = _next(reader, progress, done, now)
    if found is None or found[0] != pass_number or found[2] != case_id:
        if progress.current_pass == AIDED and found is None:
            raise ReadingOrderError(f"The aided pass opens on {progress.aided_opens_at:%Y-%m-%d %H:%M} UTC.")
        raise ReadingOrderError()
    reading = Reading(study_reader_id=reader.id, case_id=case_id, pass_number=pass_number, sequence=found[1],
                      diagnosis=diagnosis, confidence=confidence,
                      seconds=None if seconds is None else round(float(seconds), 3), created_at=now)
    try:
        with session.begin_nested():
            session.add(reading)
    except IntegrityError as exc:  # the same answer saved concurrently (two tabs)
        raise ReadingOrderError() from exc
    audit.record(session, clinician.actor, "study.reading", detail={
        "study_id": study_id, "case_id": case_id, "pass": pass_number, "sequence": found[1],
    })
    return reading


# --- results -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseRecord:
    case_id: int
    position: int
    truth: str
    p_psoriasis: float
    source_ref: str


@dataclass(frozen=True)
class ReadingRecord:
    reader: str
    pass_number: int
    sequence: int
    case_id: int
    position: int
    truth: str
    diagnosis: str
    confidence: int
    seconds: float | None
    created_at: datetime

    @property
    def score(self) -> int:
        return ordinal_score(self.diagnosis, self.confidence)


@dataclass(frozen=True)
class StudyData:
    """Everything the results page and the CSV need, as plain values."""

    id: int
    name: str
    source: str
    created_at: datetime
    model_version: str
    model_sha256: str
    threshold: float
    washout_days: float
    readers: tuple[str, ...]
    cases: tuple[CaseRecord, ...]
    readings: tuple[ReadingRecord, ...]


def load_study(session: Session, study_id: int, actor: Clinician, *, record_view: bool = False) -> StudyData:
    """A study's cases and every reading (admins only); ``record_view`` audits it as a results view."""
    _require_admin(actor)
    study = session.get(ReaderStudy, study_id, options=[selectinload(ReaderStudy.readers).joinedload(StudyReader.user)])
    if study is None:
        raise NotFoundError(f"No reader study with id {study_id}.")
    # The cases' plain columns only: their images are not needed here.
    cases = tuple(CaseRecord(*row) for row in session.execute(
        select(StudyCase.id, StudyCase.position, StudyCase.truth, StudyCase.p_psoriasis, StudyCase.source_ref)
        .where(StudyCase.study_id == study.id).order_by(StudyCase.position)
    ))
    by_id = {c.case_id: c for c in cases}
    names = {reader.id: reader.user.username for reader in study.readers}
    rows = session.execute(
        select(Reading).where(Reading.study_reader_id.in_(list(names)))
        .order_by(Reading.study_reader_id, Reading.pass_number, Reading.sequence)
    ).scalars()
    readings = tuple(
        ReadingRecord(names[r.study_reader_id], r.pass_number, r.sequence, r.case_id, by_id[r.case_id].position,
                      by_id[r.case_id].truth, r.diagnosis, r.confidence, r.seconds, r.created_at)
        for r in rows
    )
    if record_view:
        record_results_view(session, actor, study.id, readings=len(readings))
    return StudyData(study.id, study.name, study.source, study.created_at, study.model_version, study.model_sha256,
                     study.threshold, study.washout_days, tuple(names.values()), cases, readings)


CSV_COLUMNS = ("study", "reader", "pass", "pass_name", "sequence", "case", "case_source", "truth", "diagnosis",
               "confidence", "score", "model_p_psoriasis", "seconds", "saved_at_utc")


def record_results_view(session: Session, actor: Clinician, study_id: int, *, readings: int) -> None:
    """Audit that an administrator was shown a study's results."""
    audit.record(session, actor.actor, "study.results_view", detail={"study_id": study_id, "readings": readings})


def readings_csv(data: StudyData) -> str:
    """Every reading as CSV (one row each; ``score`` is :func:`ordinal_score`; ``case`` is 1-based).

    Text cells that a spreadsheet would evaluate (a study named ``=HYPERLINK(..)``) are neutralised.
    """
    p_model = {c.case_id: c.p_psoriasis for c in data.cases}
    refs = {c.case_id: c.source_ref for c in data.cases}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in data.readings:
        writer.writerow(safe_row([
            data.name, r.reader, r.pass_number, PASS_NAMES[r.pass_number], r.sequence, r.position + 1,
            refs[r.case_id], r.truth, r.diagnosis, r.confidence, r.score, f"{p_model[r.case_id]:.6f}",
            "" if r.seconds is None else f"{r.seconds:.3f}", r.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")]))
    return out.getvalue()


def record_export(session: Session, study_id: int, actor: Clinician, *, rows: int) -> None:
    """Audit a CSV download of a study's readings."""
    _require_admin(actor)
    audit.record(session, actor.actor, "study.export", detail={"study_id": study_id, "rows": rows})
