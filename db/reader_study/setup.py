"""Setting a study up (admins): create it with its cases and readers' orders, invite more readers, list
studies; every step audited."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from db import audit
from db.errors import NotFoundError, ValidationError
from db.models import (
    ReaderStudy,
    Reading,
    StudyCase,
    StudyLabel,
    StudyReader,
    StudySource,
    User,
    utcnow,
)
from db.users import Clinician
from db.validation import check_text
from db.reader_study.design import (
    MIN_CASES,
    MAX_CASES,
    MAX_NAME_LENGTH,
    MAX_WASHOUT_DAYS,
    SEED_LIMIT,
    MIME_TYPES,
    CONSULTATION_REF,
    StudyPermissionError,
    reader_seed,
    reading_orders,
)
from db.reader_study.cases import (
    NewStudyCase,
)


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


def _checked_settings(name: str, source: str, washout_days: float, seed: int | None) -> str:
    """The study's name, stripped, once name, source, wash-out and seed are valid (ValidationError otherwise)."""
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
    return name


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
    name = _checked_settings(name, source, washout_days, seed)
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
