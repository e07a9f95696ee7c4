"""Service statistics, computed in Python so they are identical on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Consultation


@dataclass(frozen=True)
class Turnaround:
    """Time from submit to review over reviewed consultations (None when there are none)."""

    count: int
    median: timedelta | None
    p90: timedelta | None


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), for 0 <= q <= 1."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    position = q * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def turnaround(session: Session, *, since: datetime | None = None, include_demo: bool = True) -> Turnaround:
    """Median and 90th percentile of ``reviewed_at - created_at``, optionally for submits since a time."""
    query = select(Consultation.created_at, Consultation.reviewed_at).where(Consultation.reviewed_at.is_not(None))
    if since is not None:
        query = query.where(Consultation.created_at >= since)
    if not include_demo:
        query = query.where(Consultation.is_demo.is_(False))
    seconds = sorted((reviewed - created).total_seconds() for created, reviewed in session.execute(query))
    if not seconds:
        return Turnaround(0, None, None)
    return Turnaround(
        len(seconds), timedelta(seconds=percentile(seconds, 0.5)), timedelta(seconds=percentile(seconds, 0.9))
    )
