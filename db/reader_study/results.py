"""Results (admins): every reading as plain values for ``scalp_model.metrics.reader_study.analyse``, the CSV
export, and the audit rows of viewing and exporting them."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from db import audit
from db.errors import NotFoundError
from db.models import (
    ReaderStudy,
    Reading,
    StudyCase,
    StudyReader,
)
from db.users import Clinician
from security.exports import safe_row
from db.reader_study.design import (
    ordinal_score,
)
from db.reader_study.setup import (
    _require_admin,
)


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
    from scalp_model.metrics.reader_study import PASS_LABELS  # the pass names the statistics use (loads scipy, torch)

    p_model = {c.case_id: c.p_psoriasis for c in data.cases}
    refs = {c.case_id: c.source_ref for c in data.cases}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in data.readings:
        writer.writerow(safe_row([
            data.name, r.reader, r.pass_number, PASS_LABELS[r.pass_number], r.sequence, r.position + 1,
            refs[r.case_id], r.truth, r.diagnosis, r.confidence, r.score, f"{p_model[r.case_id]:.6f}",
            "" if r.seconds is None else f"{r.seconds:.3f}", r.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")]))
    return out.getvalue()


def record_export(session: Session, study_id: int, actor: Clinician, *, rows: int) -> None:
    """Audit a CSV download of a study's readings."""
    _require_admin(actor)
    audit.record(session, actor.actor, "study.export", detail={"study_id": study_id, "rows": rows})
