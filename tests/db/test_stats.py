"""Turnaround statistics."""

from __future__ import annotations

from datetime import timedelta

from db.consultations import claim, record_review, submit_consultation
from db.engine import Database
from db.models import utcnow
from db.stats import percentile, turnaround
from tests.db.builders import HISTORY, new_image


def test_percentile_matches_linear_interpolation() -> None:
    assert percentile([1.0], 0.9) == 1.0
    assert percentile([0.0, 10.0], 0.5) == 5.0
    assert percentile([float(x) for x in range(1, 11)], 0.9) == 9.1


def test_turnaround(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    alice = clinicians[0]
    with database.begin() as s:
        assert turnaround(s).count == 0
    t0 = utcnow() - timedelta(days=3)
    for hours in (1, 2, 3, 4, 10):
        with database.begin() as s:
            consultation, _ = submit_consultation(s, HISTORY, "v1", [new_image()], [None], now=t0)
            claim(s, consultation.id, alice, now=t0)
            record_review(s, consultation.id, alice, "other", specified="tinea corporis", now=t0 + timedelta(hours=hours))
    with database.begin() as s:
        submit_consultation(s, HISTORY, "v1", [new_image()], [None])  # unreviewed: not counted
        result = turnaround(s)
    assert result.count == 5
    assert result.median == timedelta(hours=3)
    assert result.p90 == timedelta(hours=7.6)
