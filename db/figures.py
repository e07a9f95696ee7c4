"""The clinic's figures as SQL aggregates: requests for more information, patients' answer time,
turnaround with and without a request, and the (model, dermatologist) pairs for agreement.

The decision rule and kappa are not here (``clinic.figures`` applies them to :class:`AgreementRow`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Exists, exists, func, select
from sqlalchemy.orm import Session

from db import audit
from db.models import Consultation, ConsultImage, InfoRequest, Prediction, Review
from db.stats import seconds_between, percentile


@dataclass(frozen=True)
class Durations:
    """Count, median and 90th percentile of a set of durations (None when there are none)."""

    count: int
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True)
class AgreementRow:
    """One reviewed consultation: the highest first-round P(psoriasis), its threshold, the latest diagnosis."""

    p_psoriasis: float
    threshold: float
    diagnosis: str


def durations(seconds: list[float]) -> Durations:
    """:class:`Durations` of values in seconds, rounded to the millisecond."""
    if not seconds:
        return Durations(0, None, None)
    ordered = sorted(seconds)
    return Durations(len(ordered), timedelta(seconds=round(percentile(ordered, 0.5), 3)),
                     timedelta(seconds=round(percentile(ordered, 0.9), 3)))


def _had_request() -> Exists:
    return exists().where(InfoRequest.consultation_id == Consultation.id)


def request_share(session: Session, *, since: datetime | None = None) -> tuple[int, int]:
    """(consultations submitted since ``since``, those of them with at least one information request)."""
    had = _had_request()
    query = select(func.count(Consultation.id)).select_from(Consultation)
    if since is not None:
        query = query.where(Consultation.created_at >= since)
    total = session.scalar(query) or 0
    with_request = session.scalar(query.where(had)) or 0
    return int(total), int(with_request)


def answer_times(session: Session, *, since: datetime | None = None) -> Durations:
    """Time from a request to the patient's answer, over answered requests made since ``since``."""
    in_seconds = seconds_between(session, InfoRequest.created_at, InfoRequest.answered_at)
    query = select(in_seconds).where(InfoRequest.answered_at.is_not(None))
    if since is not None:
        query = query.where(InfoRequest.created_at >= since)
    return durations([float(s) for s in session.execute(query).scalars()])


def turnaround_split(session: Session, *, since: datetime | None = None) -> dict[bool, Durations]:
    """Submission to review of reviewed consultations, keyed by whether the case had a request."""
    in_seconds = seconds_between(session, Consultation.created_at, Consultation.reviewed_at)
    result = {}
    for had_request in (False, True):
        had = _had_request()
        query = select(in_seconds).where(Consultation.reviewed_at.is_not(None), had if had_request else ~had)
        if since is not None:
            query = query.where(Consultation.created_at >= since)
        result[had_request] = durations([float(s) for s in session.execute(query).scalars()])
    return result


def agreement_rows(session: Session, *, since: datetime | None = None) -> list[AgreementRow]:
    """Per reviewed consultation: the highest P(psoriasis) of its first-round photos with their threshold,
    and the diagnosis of its latest review (ties: the larger review id)."""
    latest = (select(Review.consultation_id, func.max(Review.id).label("review_id"))
              .group_by(Review.consultation_id).subquery())
    model = (select(ConsultImage.consultation_id, func.max(Prediction.p_psoriasis).label("p"),
                    func.max(Prediction.threshold).label("threshold"))
             .join(Prediction, Prediction.image_id == ConsultImage.id)
             .where(ConsultImage.request_id.is_(None)).group_by(ConsultImage.consultation_id).subquery())
    query = (select(model.c.p, model.c.threshold, Review.diagnosis)
             .join(latest, latest.c.consultation_id == model.c.consultation_id)
             .join(Review, Review.id == latest.c.review_id)
             .join(Consultation, Consultation.id == model.c.consultation_id)
             .order_by(Consultation.id))
    if since is not None:
        query = query.where(Consultation.created_at >= since)
    return [AgreementRow(float(p), float(t), str(d)) for p, t, d in session.execute(query)]


def record_figures_view(session: Session, actor: str, *, days: int | None) -> None:
    """Audit one showing of the clinic's figures (aggregates, no patient's data; recorded as the queue is)."""
    audit.record(session, actor, "figures.view", detail={"days": days})
