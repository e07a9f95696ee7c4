"""The model registry's rules on SQLite and PostgreSQL (issue 20): candidates, exactly one active once activated,
activation retires the active one and rolling back is activating again, reasons required, shadow never active,
scores stored once per model and photo, audit rows; migration 0010 down to 0009 and up again."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from db import audit
from db import model_registry as registry
from db.engine import Database
from db.errors import ValidationError
from db.consultations import CONSENT_VERSION, submit_consultation
from db.models import ModelState, RegisteredModel
from tests.db.builders import HISTORY, new_image, new_prediction

ADMIN = "clinician:root"


def register(session, version: str, sha: str) -> registry.ModelEntry:
    return registry.register_model(session, version=version, sha256=sha * 64, architecture="googlenet",
                                   file_name=f"{version}.pt", threshold=0.4, card=f"# {version}",
                                   figures={"test": {"auc": 0.8}}, actor=ADMIN)


def stored_image_ids(database: Database, count: int) -> list[int]:
    """The ids of ``count`` photos of one stored consultation."""
    with database.begin() as s:
        consultation, _ = submit_consultation(s, HISTORY, CONSENT_VERSION, [new_image()] * count,
                                              [new_prediction()] * count)
        return [image.id for image in consultation.images]


def test_register_activate_switch_and_roll_back(database: Database) -> None:
    with database.begin() as s:
        first, second = register(s, "v1", "a"), register(s, "v2", "b")
    assert (first.state, second.state) == ("candidate", "candidate")
    with database.session() as s:
        assert registry.active_model(s) is None
    with database.begin() as s:
        registry.activate_model(s, first.id, actor=ADMIN, reason="first model")
    with database.begin() as s:
        registry.activate_model(s, second.id, actor=ADMIN, reason="better on our cases")
    with database.session() as s:
        assert registry.active_model(s).version == "v2"
        assert {e.version: e.state for e in registry.list_models(s)} == {"v1": "retired", "v2": "active"}
        assert [e.version for e in registry.list_models(s)][0] == "v2"  # the active one first
    with database.begin() as s:  # roll back = activate the earlier one
        registry.activate_model(s, first.id, actor=ADMIN, reason="v2 flags too many")
    with database.session() as s:
        assert {e.version: e.state for e in registry.list_models(s)} == {"v1": "active", "v2": "retired"}
        events = audit.list_events(s, action="model.activate")
    assert [(e.detail["version"], e.detail["previous_version"], e.detail["reason"]) for e in events] == [
        ("v1", None, "first model"), ("v2", "v1", "better on our cases"), ("v1", "v2", "v2 flags too many")]
    assert all(e.actor == ADMIN for e in events)


def test_activation_needs_a_reason_and_a_model_not_active(database: Database) -> None:
    with database.begin() as s:
        entry = register(s, "v1", "a")
    for reason in ("", "   "):
        with pytest.raises(ValidationError, match="reason is required"), database.begin() as s:
            registry.activate_model(s, entry.id, actor=ADMIN, reason=reason)
    with database.begin() as s:
        registry.activate_model(s, entry.id, actor=ADMIN, reason="go")
    with pytest.raises(ValidationError, match="already the active model"), database.begin() as s:
        registry.activate_model(s, entry.id, actor=ADMIN, reason="again")
    with pytest.raises(registry.ModelGoneError), database.begin() as s:
        registry.activate_model(s, 9999, actor=ADMIN, reason="none")
    with database.session() as s:
        assert len(audit.list_events(s, action="model.activate")) == 1


def test_same_file_or_version_refused(database: Database) -> None:
    with database.begin() as s:
        register(s, "v1", "a")
    with pytest.raises(ValidationError, match="file \\(same sha256\\) is already registered as 'v1'"), \
            database.begin() as s:
        register(s, "v1-copy", "a")
    with pytest.raises(ValidationError, match="version is already registered"), database.begin() as s:
        register(s, "v1", "c")
    with database.session() as s:
        assert len(registry.list_models(s)) == 1
        assert [e.detail["version"] for e in audit.list_events(s, action="model.register")] == ["v1"]


def test_the_database_keeps_at_most_one_active(database: Database) -> None:
    with database.begin() as s:
        first, second = register(s, "v1", "a"), register(s, "v2", "b")
        registry.activate_model(s, first.id, actor=ADMIN, reason="go")
    with pytest.raises(IntegrityError), database.begin() as s:  # a write around the rules is refused
        s.execute(text("UPDATE model_registry SET state = 'active' WHERE id = :id"), {"id": second.id})
    with pytest.raises(IntegrityError), database.begin() as s:
        s.execute(text("UPDATE model_registry SET state = 'paused' WHERE id = :id"), {"id": second.id})


def test_shadow_only_for_a_model_not_active(database: Database) -> None:
    with database.begin() as s:
        first, second = register(s, "v1", "a"), register(s, "v2", "b")
        registry.activate_model(s, first.id, actor=ADMIN, reason="go")
    with pytest.raises(ValidationError, match="already scores every new photo"), database.begin() as s:
        registry.set_shadow(s, first.id, True, actor=ADMIN)
    with database.begin() as s:
        assert registry.set_shadow(s, second.id, True, actor=ADMIN).shadow
        registry.set_shadow(s, second.id, True, actor=ADMIN)  # no change: no audit row
    with database.session() as s:
        assert [e.version for e in registry.shadow_models(s)] == ["v2"]
        assert len(audit.list_events(s, action="model.shadow")) == 1
    with database.begin() as s:  # activating a shadow model ends its shadow run
        registry.activate_model(s, second.id, actor=ADMIN, reason="go")
    with database.session() as s:
        assert registry.shadow_models(s) == []


def test_scores_are_stored_once_per_model_and_photo(database: Database) -> None:
    image_ids = stored_image_ids(database, 2)
    with database.begin() as s:
        entry = register(s, "v1", "a")
        first = [registry.StoredScore(image_ids[0], 0.7, False, 1.2)]
        assert registry.store_scores(s, entry.id, first, source="shadow") == 1
        both = [registry.StoredScore(i, 0.1, True) for i in image_ids]
        assert registry.store_scores(s, entry.id, both, source="rescore") == 1
    with database.session() as s:
        stored = registry.stored_scores(s, entry.id)
    assert stored[image_ids[0]].p_psoriasis == pytest.approx(0.7)  # the first score stays
    assert stored[image_ids[1]].out_of_scope is True
    with pytest.raises(ValidationError, match="Unknown score source"), database.begin() as s:
        registry.store_scores(s, entry.id, first, source="guess")


def test_migration_0010_down_and_up(empty_database: Database) -> None:
    from alembic import command

    empty_database.migrate()
    with empty_database.begin() as s:
        register(s, "v1", "a")
    config = empty_database.alembic_config()
    with empty_database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
    assert {"model_registry", "model_scores"}.isdisjoint(inspect(empty_database.engine).get_table_names())
    assert empty_database.current_revision() == "0009"
    empty_database.migrate()
    assert empty_database.current_revision() == empty_database.head_revision() >= "0010"
    with empty_database.begin() as s:
        assert s.query(RegisteredModel).count() == 0
        registry.activate_model(s, register(s, "v1", "a").id, actor=ADMIN, reason="go")
        assert s.query(RegisteredModel).one().state == ModelState.ACTIVE


def test_two_activations_at_once_leave_one_active(database: Database) -> None:
    """A second admin activating while the first one's activation is not committed yet either waits and goes
    after it (SQLite: one writer at a time) or is refused as busy with nothing changed (PostgreSQL: the one-active
    index); either way exactly one model is active and the audit trail names what happened."""
    import threading
    import time

    from db.errors import DatabaseBusyError

    with database.begin() as s:
        first, second = register(s, "v1", "a"), register(s, "v2", "b")
    failures: list[Exception] = []

    def other_admin() -> None:
        try:
            with database.begin() as s2:
                registry.activate_model(s2, second.id, actor="clinician:other", reason="mine")
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            failures.append(exc)

    with database.begin() as s1:
        registry.activate_model(s1, first.id, actor=ADMIN, reason="first")
        thread = threading.Thread(target=other_admin)
        thread.start()
        time.sleep(0.5)  # the other activation now waits on this transaction
    thread.join(30)
    with database.session() as s:
        states = {e.version: e.state for e in registry.list_models(s)}
        audited = [e.detail["version"] for e in audit.list_events(s, action="model.activate")]
    assert list(states.values()).count("active") == 1
    if failures:
        assert [type(f) for f in failures] == [DatabaseBusyError], failures
        assert states == {"v1": "active", "v2": "candidate"} and audited == ["v1"]
    else:
        assert states == {"v1": "retired", "v2": "active"} and audited == ["v1", "v2"]
