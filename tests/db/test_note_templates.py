"""Management-note templates (issue 19, item 3) on both backends: who sees and changes which template, the checks
on titles and texts, soft deletion, the audit rows and migration 0009 down and up with existing rows."""
from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, select, text

from db.audit import list_events
from db.consultations import claim, record_review, submit_consultation
from db.engine import Database
from db.errors import ValidationError
from db.models import NoteTemplate, Review, utcnow
from db.templates import (
    MAX_TEMPLATE_BODY, TemplateGoneError, TemplatePermissionError, create_template, delete_template, edit_template,
    visible_templates,
)
from tests.db.builders import HISTORY, new_image, new_prediction

NOW = utcnow().replace(microsecond=0)
BODY = "Use the tar shampoo twice a week.\nCome back in 4 weeks."


def titles(database: Database, clinician) -> list[tuple[str, bool, str, bool]]:  # type: ignore[no-untyped-def]
    with database.session() as s:
        return [(t.title, t.shared, t.owner, t.editable) for t in visible_templates(s, clinician)]


def events(database: Database) -> list[tuple[str, str, dict]]:
    with database.session() as s:
        return [(e.actor, e.action, e.detail) for e in list_events(s) if e.action.startswith("template.")]


def test_who_sees_and_changes_which_template(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    alice, bob, root = clinicians
    with database.begin() as s:
        mine = create_template(s, alice, "Psoriasis, mild", BODY, now=NOW)
        clinic = create_template(s, alice, "alopecia areata", "Topical steroid.", shared=True, now=NOW)
        create_template(s, bob, "Bob's own", "Only for bob.")
    assert mine.editable and not mine.shared and mine.owner == "alice" and mine.updated_at == NOW
    assert titles(database, alice) == [("alopecia areata", True, "alice", True), ("Psoriasis, mild", False, "alice", True)]
    assert titles(database, bob) == [("alopecia areata", True, "alice", False), ("Bob's own", False, "bob", True)]
    assert titles(database, root) == [("alopecia areata", True, "alice", True)]  # an admin: shared ones only
    with pytest.raises(TemplateGoneError), database.begin() as s:  # another's personal template: as if none
        edit_template(s, bob, mine.id, "Mine now", BODY, shared=False)
    with pytest.raises(TemplatePermissionError, match="administrator"), database.begin() as s:
        edit_template(s, bob, clinic.id, "Changed by bob", "x", shared=True)
    with pytest.raises(TemplatePermissionError), database.begin() as s:
        delete_template(s, bob, clinic.id)
    with database.begin() as s:  # the admin changes the clinic's template
        edited = edit_template(s, root, clinic.id, "Alopecia areata", "Topical steroid; review in 3 months.",
                               shared=True, now=NOW + timedelta(hours=1))
    assert (edited.title, edited.owner, edited.updated_at) == ("Alopecia areata", "alice", NOW + timedelta(hours=1))
    with database.begin() as s:  # alice stops sharing it: bob and the admin no longer see it
        edit_template(s, alice, clinic.id, "Alopecia areata", "Topical steroid; review in 3 months.", shared=False)
    assert [t[0] for t in titles(database, bob)] == ["Bob's own"]
    assert titles(database, root) == []


def test_titles_and_texts_are_checked(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    alice, bob, _ = clinicians
    for title, body, message in (("", BODY, "title is required"), ("   ", BODY, "title is required"),
                                 ("Two\nlines", BODY, "single line"), ("x" * 81, BODY, "longer than 80"),
                                 ("Fine", "", "text is required"), ("Fine", "a\x00b", "cannot be stored"),
                                 ("Fine", "x" * (MAX_TEMPLATE_BODY + 1), f"longer than {MAX_TEMPLATE_BODY}")):
        with pytest.raises(ValidationError, match=message), database.begin() as s:
            create_template(s, alice, title, body)
    with database.begin() as s:
        stored = create_template(s, alice, "  Tinea capitis  ", "  Oral terbinafine.\n")
        create_template(s, bob, "Tinea capitis", "Bob's own version.")  # another's personal title: allowed
    assert (stored.title, stored.body) == ("Tinea capitis", "Oral terbinafine.")
    with pytest.raises(ValidationError, match=r"already exists \(yours\)"), database.begin() as s:
        create_template(s, alice, "TINEA CAPITIS", "Again.")
    with database.begin() as s:
        shared = create_template(s, alice, "Seborrhoeic dermatitis", "Ketoconazole shampoo.", shared=True)
    with pytest.raises(ValidationError, match=r"already exists \(shared by alice\)"), database.begin() as s:
        create_template(s, bob, "seborrhoeic Dermatitis", "Bob's.")
    with pytest.raises(ValidationError, match="already exists"), database.begin() as s:  # renaming onto another
        edit_template(s, alice, shared.id, "tinea capitis", "Ketoconazole shampoo.", shared=True)
    with database.session() as s:
        assert s.scalar(select(NoteTemplate.title).where(NoteTemplate.id == shared.id)) == "Seborrhoeic dermatitis"


def test_edit_delete_and_their_audit_rows(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    alice = clinicians[0]
    with database.begin() as s:
        template = create_template(s, alice, "Psoriasis", BODY, shared=True)
    with database.begin() as s:  # nothing changed: no write, no audit row
        edit_template(s, alice, template.id, "Psoriasis ", BODY, shared=True)
    with database.begin() as s:
        edit_template(s, alice, template.id, "Psoriasis", BODY + " Use a moisturiser.", shared=False)
    with database.begin() as s:
        delete_template(s, alice, template.id)
    assert titles(database, alice) == []
    with pytest.raises(TemplateGoneError, match="no longer exists"), database.begin() as s:
        edit_template(s, alice, template.id, "Psoriasis", BODY, shared=False)
    with pytest.raises(TemplateGoneError), database.begin() as s:
        delete_template(s, alice, template.id)
    with database.session() as s:  # the row stays, hidden, so the audit trail's id still names it
        row = s.get(NoteTemplate, template.id)
        assert row is not None and row.deleted_at is not None and row.body.endswith("Use a moisturiser.")
    with database.begin() as s:  # its title is free again
        create_template(s, alice, "Psoriasis", BODY)
    assert events(database) == [
        ("clinician:alice", "template.create", {"template_id": template.id, "shared": True}),
        ("clinician:alice", "template.edit", {"template_id": template.id, "shared": False, "changed": ["body", "shared"]}),
        ("clinician:alice", "template.delete", {"template_id": template.id, "shared": False}),
        ("clinician:alice", "template.create", {"template_id": template.id + 1, "shared": False}),
    ]
    assert not any(BODY in str(detail) or "Psoriasis" in str(detail) for _, _, detail in events(database))


def _tables(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def test_migration_0009_down_and_up_with_existing_rows(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    alice = clinicians[0]
    with database.begin() as s:
        case, _ = submit_consultation(s, HISTORY, "v1", [new_image()], [new_prediction()], now=NOW)
        claim(s, case.id, alice)
        record_review(s, case.id, alice, "psoriasis", BODY)
        create_template(s, alice, "Psoriasis", BODY, shared=True)
    config = database.alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
    assert "note_templates" not in _tables(database)
    with database.engine.begin() as connection:  # the rows stored before stay as they were
        assert connection.execute(text("SELECT status FROM consultations")).scalars().all() == ["reviewed"]
        assert connection.execute(text("SELECT notes FROM reviews")).scalars().all() == [BODY]
    database.migrate()
    assert database.current_revision() == database.head_revision()
    with database.session() as s:
        assert s.scalars(select(NoteTemplate)).all() == []  # the templates went with the table
        assert [r.notes for r in s.scalars(select(Review))] == [BODY]
    with database.begin() as s:  # and the table works again
        create_template(s, alice, "Psoriasis", BODY, shared=True)
    assert titles(database, alice) == [("Psoriasis", True, "alice", True)]
