"""A patient's consultations over time (issue 19, follow-ups): the links between them and what a reviewer sees.

A follow-up stores the earlier consultation whose access code the patient gave (``follow_up_of_id``); that one
may itself follow up another. Two readings of those links:

* the **chain** of a consultation (:func:`chain`): the consultation it follows up, that one's, and so on, oldest
  first. Each link was made with the earlier one's access code, so the holder of a follow-up's code has shown
  every code of its chain: the patient sees the chain with the follow-up's code (``lookup_by_code``), and
  an earlier code never shows the follow-ups made after it.
* the **series** (:func:`series_ids`): the first consultation of the chain and every follow-up of it or of its
  follow-ups, branches included (two follow-ups started with the same code). The reviewer sees the series'
  consultations submitted before the one under review (:func:`earlier_for_clinician`, audited per
  consultation as ``consultation.history_view``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from db import audit
from db.models import Consultation, ConsultImage, Review
from db.users import Clinician

MAX_SERIES = 200  # consultations of one series read at most (a guard: a real patient has a handful)


def chain_ids(session: Session, consultation: Consultation) -> list[int]:
    """Ids of the consultations ``consultation`` follows up, through the links, oldest first."""
    ids: list[int] = []
    current = consultation.follow_up_of_id
    while current is not None and current not in ids and current != consultation.id and len(ids) < MAX_SERIES:
        ids.append(current)
        current = session.scalar(select(Consultation.follow_up_of_id).where(Consultation.id == current))
    return ids[::-1]


def chain(session: Session, consultation: Consultation) -> list[Consultation]:
    """The consultations ``consultation`` follows up (reviews loaded), oldest first; empty for a first one."""
    ids = chain_ids(session, consultation)
    if not ids:
        return []
    found = {c.id: c for c in session.scalars(
        select(Consultation).where(Consultation.id.in_(ids)).options(selectinload(Consultation.reviews)))}
    return [found[i] for i in ids if i in found]


def series_ids(session: Session, consultation: Consultation) -> set[int]:
    """Ids of every consultation of the patient's series (this one included): the first of its chain and all
    the follow-ups reached from it, one query per generation."""
    first = next(iter(chain_ids(session, consultation)), consultation.id)
    ids, frontier = {first}, [first]
    while frontier and len(ids) < MAX_SERIES:
        frontier = [i for i in session.scalars(select(Consultation.id).where(Consultation.follow_up_of_id.in_(frontier)))
                    if i not in ids]
        ids.update(frontier)
    return ids


@dataclass(frozen=True)
class Series:
    """What the reviewer sees of a consultation's series: the consultations submitted before it (images,
    the model's output per image and reviews loaded), oldest first, and how many came after it."""

    earlier: list[Consultation]
    later: int

    @property
    def empty(self) -> bool:
        return not self.earlier and not self.later


def earlier_for_clinician(session: Session, consultation: Consultation, clinician: Clinician) -> Series:
    """The series' consultations submitted before ``consultation``, each audited as
    ``consultation.history_view`` (on its own trail, with ``from``: the consultation under review)."""
    others = series_ids(session, consultation) - {consultation.id}
    if not others:
        return Series([], 0)
    rows = list(session.scalars(
        select(Consultation).where(Consultation.id.in_(others))
        .options(selectinload(Consultation.images).joinedload(ConsultImage.prediction),
                 selectinload(Consultation.reviews).joinedload(Review.clinician))
        .order_by(Consultation.created_at, Consultation.id)))
    earlier = [c for c in rows if (c.created_at, c.id) < (consultation.created_at, consultation.id)]
    for seen in earlier:
        audit.record(session, clinician.actor, "consultation.history_view", consultation_id=seen.id,
                     detail={"from": consultation.id})
    return Series(earlier, len(rows) - len(earlier))
