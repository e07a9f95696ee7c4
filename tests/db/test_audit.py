"""The audit trail records every read and change, and never secrets or free text."""

from __future__ import annotations

import json

import pytest

from db import audit
from db.consultations import (
    claim,
    close,
    get_consultation_for_clinician,
    lookup_by_code,
    record_review,
    submit_consultation,
)
from db.engine import Database
from db.errors import ValidationError
from db.users import authenticate
from tests.db.builders import HISTORY, TEST_PASSWORD, new_image, new_prediction


def test_audit_trail_matches_actions(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    performed: list[tuple[str, str]] = []
    with database.begin() as s:
        alice = authenticate(s, "alice", TEST_PASSWORD)
    performed.append(("clinician:alice", "user.login"))
    with database.begin() as s:
        consultation, code = submit_consultation(s, HISTORY, "v1", [new_image()], [new_prediction()])
    performed.append(("patient", "consultation.submit"))
    steps = [
        ("consultation.view", lambda s: get_consultation_for_clinician(s, consultation.public_id, alice)),
        ("consultation.claim", lambda s: claim(s, consultation.id, alice)),
        ("consultation.view", lambda s: get_consultation_for_clinician(s, consultation.public_id, alice)),
        ("consultation.review", lambda s: record_review(s, consultation.id, alice, "psoriasis", "NOTES-SECRET", True)),
        ("consultation.close", lambda s: close(s, consultation.id, alice)),
    ]
    for action, step in steps:
        with database.begin() as s:
            step(s)
        performed.append(("clinician:alice", action))
    with database.begin() as s:
        lookup_by_code(s, code)
        lookup_by_code(s, "AAAA-BBBB")
    performed += [("patient", "patient.lookup")] * 2

    with database.session() as s:
        events = audit.list_events(s)
        assert [(e.actor, e.action) for e in events] == [
            ("system", "user.create"),
            ("system", "user.create"),
            ("system", "user.create"),
            *performed,
        ]
        assert [e.action for e in audit.list_events(s, consultation_id=consultation.id)] == [
            a for _, a in performed[1:-1]
        ]
    dumped = json.dumps([e.detail for e in events])
    for secret in (code, code.replace("-", ""), "SECRET-TEXT", "NOTES-SECRET", TEST_PASSWORD):
        assert secret not in dumped
    assert events[-1].detail == {"found": False} and events[-1].consultation_id is None


@pytest.mark.parametrize(
    "action, detail",
    [("consultation.peek", {}), ("patient.lookup", {"code": "x"}), ("consultation.submit", {"free_text": "x"})],
)
def test_audit_rejects_unknown_actions_and_secret_keys(database: Database, action: str, detail: dict) -> None:
    with pytest.raises(ValidationError), database.begin() as s:
        audit.record(s, "system", action, detail=detail)
