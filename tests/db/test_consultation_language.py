"""consultations.language (issue 21, migration 0011): stored with the submission and in its audit row, its
form checked, NULL for older rows; the migration down and up keeps every consultation (both backends)."""
from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, select, text

from db.audit import list_events
from db.consultations import submit_consultation
from db.engine import Database
from db.errors import ValidationError
from db.models import Consultation
from tests.db.builders import HISTORY, new_image, new_prediction


def submit(database: Database, language: str | None) -> Consultation:
    with database.begin() as session:
        consultation, _ = submit_consultation(session, HISTORY, "2026-11-zh_CN", [new_image()], [new_prediction()],
                                              language=language)
        return consultation


def test_the_language_is_stored_and_audited(database: Database) -> None:
    chinese, unknown = submit(database, "zh_CN"), submit(database, None)
    with database.session() as session:
        assert session.get(Consultation, chinese.id).language == "zh_CN"
        assert session.get(Consultation, unknown.id).language is None
        events = {e.consultation_id: e.detail for e in list_events(session, action="consultation.submit")}
    assert events[chinese.id]["language"] == "zh_CN" and "language" not in events[unknown.id]


@pytest.mark.parametrize("language", ["", "Chinese", "zh-CN", "zh_CN; DROP", "x" * 17])
def test_a_language_of_another_form_is_refused(database: Database, language: str) -> None:
    with pytest.raises(ValidationError, match="Language"):
        submit(database, language)
    with database.session() as session:
        assert session.scalar(select(Consultation)) is None


def test_migration_0011_down_and_up_keeps_the_consultations(database: Database) -> None:
    first = submit(database, "zh_CN")
    config = database.alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")
    with database.engine.connect() as connection:
        assert "language" not in {c["name"] for c in inspect(connection).get_columns("consultations")}
        assert connection.execute(text("SELECT count(*) FROM consultations")).scalar_one() == 1
    database.migrate()
    second = submit(database, "en")
    with database.session() as session:
        stored = {c.id: c.language for c in session.scalars(select(Consultation))}
    assert stored == {first.id: None, second.id: "en"}  # the earlier row is kept, its language no longer known
