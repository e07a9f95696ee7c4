"""What a comparison of registered models reads (issue 20): the clinic's reviewed consultations whose latest review
is one of the model's two diagnoses, with their first-round photos, and those photos' bytes for re-scoring."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Consultation, ConsultImage, Diagnosis, Review

MODEL_DIAGNOSES = {Diagnosis.PSORIASIS: 1, Diagnosis.SEBORRHEIC_DERMATITIS: 0}


@dataclass(frozen=True)
class ReviewedCase:
    """A reviewed consultation for a comparison: ``truth`` 1 psoriasis / 0 seborrheic dermatitis (its latest
    review) and its first-round photos' ids."""

    consultation_id: int
    truth: int
    image_ids: tuple[int, ...]


def reviewed_cases(session: Session, *, include_demo: bool = False) -> tuple[list[ReviewedCase], int]:
    """The reviewed consultations whose latest review (ties: the larger review id) is psoriasis or seborrheic
    dermatitis, oldest first, and how many reviewed consultations were left out with another diagnosis. Demo
    consultations only with ``include_demo``."""
    latest = (select(Review.consultation_id, func.max(Review.id).label("review_id"))
              .group_by(Review.consultation_id).subquery())
    query = (select(Consultation.id, Review.diagnosis, ConsultImage.id)
             .join(latest, latest.c.consultation_id == Consultation.id)
             .join(Review, Review.id == latest.c.review_id)
             .join(ConsultImage, (ConsultImage.consultation_id == Consultation.id) & ConsultImage.request_id.is_(None))
             .order_by(Consultation.id, ConsultImage.position))
    if not include_demo:
        query = query.where(Consultation.is_demo.is_(False))
    cases: dict[int, tuple[int, list[int]]] = {}
    outside: set[int] = set()
    for consultation_id, diagnosis, image_id in session.execute(query):
        if diagnosis not in MODEL_DIAGNOSES:
            outside.add(consultation_id)
            continue
        cases.setdefault(consultation_id, (MODEL_DIAGNOSES[diagnosis], []))[1].append(image_id)
    return [ReviewedCase(cid, truth, tuple(ids)) for cid, (truth, ids) in cases.items()], len(outside)


def image_bytes(session: Session, image_ids: Sequence[int], chunk: int = 32) -> Iterator[tuple[int, bytes]]:
    """``(image id, stored bytes)`` of ``image_ids``, read ``chunk`` photos at a time (a few MB each read)."""
    ids = list(image_ids)
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        rows = dict(session.execute(select(ConsultImage.id, ConsultImage.data).where(ConsultImage.id.in_(part))).all())
        for image_id in part:
            if image_id in rows:
                yield image_id, rows[image_id]
