"""Service statistics, identical on SQLite and PostgreSQL (to the millisecond)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, cast, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from db.models import Consultation


# Fewer reviewed consultations than this and patients are not quoted a median or a 90th percentile: with one
# case "half ... and nine in ten within 12 min" is one waiting time dressed as a distribution.
MIN_QUOTED = 10


@dataclass(frozen=True)
class Turnaround:
    """Time from submit to review over reviewed consultations (None when there are none)."""

    count: int
    median: timedelta | None
    p90: timedelta | None

    @property
    def quotable(self) -> bool:
        """Whether there are enough reviewed consultations (:data:`MIN_QUOTED`) to quote the median and the
        90th percentile to patients."""
        return self.count >= MIN_QUOTED and self.median is not None and self.p90 is not None


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), for 0 <= q <= 1."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    position = q * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def seconds_between(session: Session, start: Any, end: Any) -> ColumnElement[float] | None:
    """``end - start`` in seconds, computed by the database (None for a dialect without a known form)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return cast(func.extract("epoch", end - start), Float)  # numeric would come back as Decimal
    if dialect == "sqlite":  # naive UTC text; julianday() is precise to well under a millisecond here
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return None


def turnaround(session: Session, *, since: datetime | None = None, include_demo: bool = True) -> Turnaround:
    """Median and 90th percentile of ``reviewed_at - created_at``, optionally for submits since a time.

    The database subtracts (one float per row, no datetime objects). PostgreSQL also interpolates
    (``percentile_cont``, the same linear rule as :func:`percentile`) and returns one row; elsewhere
    Python sorts and interpolates. Results are rounded to the millisecond, so both backends agree.
    Each call still reads every reviewed consultation in its window (an index-only scan): at 100,000
    consultations "all time" costs ~0.1 s, so cache it in the UI for a minute or so.
    """
    in_seconds = seconds_between(session, Consultation.created_at, Consultation.reviewed_at)
    conditions = [Consultation.reviewed_at.is_not(None)]
    if since is not None:
        conditions.append(Consultation.created_at >= since)
    if not include_demo:
        conditions.append(Consultation.is_demo.is_(False))
    if session.get_bind().dialect.name == "postgresql" and in_seconds is not None:
        count, quantiles = session.execute(
            select(
                func.count(),
                func.percentile_cont(postgresql.array([0.5, 0.9])).within_group(in_seconds),
            ).where(*conditions)
        ).one()
        if not count:
            return Turnaround(0, None, None)
        median, p90 = quantiles
    else:
        if in_seconds is not None:  # plain Core rows: no ORM row processing for ~100,000 floats
            seconds = sorted(session.connection().execute(select(in_seconds).where(*conditions)).scalars())
        else:
            query = select(Consultation.created_at, Consultation.reviewed_at).where(*conditions)
            seconds = sorted((reviewed - created).total_seconds() for created, reviewed in session.execute(query))
        if not seconds:
            return Turnaround(0, None, None)
        count, median, p90 = len(seconds), percentile(seconds, 0.5), percentile(seconds, 0.9)
    return Turnaround(count, timedelta(seconds=round(median, 3)), timedelta(seconds=round(p90, 3)))
