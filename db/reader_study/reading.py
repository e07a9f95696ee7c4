"""Reading (invited readers): where each reader stands, the next case in their order, and recording
an answer only for that case (:class:`ReadingOrderError` otherwise), so progress is resumable."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from db import audit
from db.errors import NotFoundError, ValidationError
from db.models import (
    Consultation,
    Reading,
    StudyCase,
    StudyReader,
    utcnow,
)
from db.users import Clinician
from db.reader_study.design import (
    UNAIDED,
    AIDED,
    CONSULTATION_REF,
    ReadingOrderError,
    _check_answer,
)


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
    if pass_number not in (UNAIDED, AIDED):
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
