"""The queue's triage rule (db.triage) and migration 0005, which rewrote the stored keys (issue 18, item 2)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from alembic import command
from sqlalchemy import select

from db import triage
from db.engine import Database
from db.models import Consultation
from tests.db.builders import new_prediction
from tests.db.test_consultations import submit

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


def test_targets_and_reasons() -> None:
    routine, unsure = triage.Flags(), triage.Flags(uncertain=True)
    itchy = triage.Flags(severe_itch=True, uncertain=True)
    assert [triage.target(f) for f in (routine, unsure, itchy, triage.Flags(out_of_scope=True))] == [
        timedelta(hours=72), timedelta(hours=48), timedelta(hours=24), timedelta(hours=24)]
    assert triage.reasons(routine, NOW - timedelta(days=14), NOW) == "overdue by 11.0 days (target 3 days)"
    assert triage.reasons(routine, NOW - timedelta(minutes=1), NOW) == "due in 3.0 days (target 3 days)"
    assert triage.reasons(itchy, NOW - timedelta(hours=30), NOW) == (
        "overdue by 6.0 h (target 24 h) · severe itch · model uncertain")
    assert triage.reasons(triage.Flags(out_of_scope=True), NOW, NOW) == "due in 24.0 h (target 24 h) · photo out of scope"


def test_a_long_wait_comes_before_a_fresh_high_estimate(database: Database) -> None:
    """The issue's queue: a one-minute-old case with P(psoriasis) 0.95 sat above cases waiting 6 and 14 days."""
    fresh, _ = submit(database, new_prediction(0.95), now=NOW - timedelta(minutes=1))
    six, _ = submit(database, new_prediction(0.2), now=NOW - timedelta(days=6))
    fourteen, _ = submit(database, new_prediction(0.1), now=NOW - timedelta(days=14))
    with database.session() as s:
        order = [c.id for c in s.scalars(select(Consultation).order_by(Consultation.priority.desc()))]
    assert order == [fourteen.id, six.id, fresh.id]


def test_migration_0005_rewrites_stored_keys(database: Database) -> None:
    flagged, _ = submit(database, new_prediction(0.3, out_of_scope=True), now=NOW)
    plain, _ = submit(database, new_prediction(0.9), now=NOW)
    config = database.alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    with database.session() as s:  # columns, not the mapped class: it describes the newest schema (0008's link)
        assert dict(s.execute(select(Consultation.id, Consultation.priority)).all()) == {flagged.id: 20_300, plain.id: 900}
    database.migrate()
    minute = int((NOW - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds() // 60)
    with database.session() as s:
        assert {c.id: c.priority for c in s.scalars(select(Consultation))} == {
            flagged.id: -(minute + 24 * 60), plain.id: -(minute + 72 * 60)}
