"""Candidate cases: labelled images from reviewed consultations (or a folder, read by the caller) and the
stored form of a case once the caller computed the model's output."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import (
    Consultation,
    ConsultImage,
    Review,
    Status,
    StudyLabel,
)
from db.reader_study.design import (
    CONSULTATION_REF,
    SEED_LIMIT,
)


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
