"""Asking the patient for more (issue 19, item 1) on both backends: the status moves, the queue's order and
reasons, the audit rows and migration 0007 with existing rows."""
from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import select

from db import triage
from db.audit import list_events
from db.consultations import (
    answer_request, claim, list_queue, lookup_by_code, progress_text, queue_counts, request_information,
    submit_consultation,
)
from db.engine import Database
from db.errors import InvalidTransitionError
from db.models import Consultation, ConsultImage, Status, utcnow
from tests.db.builders import HISTORY, new_image, new_prediction

NOW = utcnow().replace(microsecond=0)


def stored(database: Database, age_h: float) -> tuple[int, str]:
    with database.begin() as s:
        consultation, code = submit_consultation(s, HISTORY, "v1", [new_image()], [new_prediction()],
                                                 now=NOW - timedelta(hours=age_h))
        return consultation.id, code


def test_request_and_answer_move_the_status(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    alice, bob, _ = clinicians
    case_id, code = stored(database, 1)
    with pytest.raises(InvalidTransitionError), database.begin() as s:  # not claimed: nothing to ask from
        request_information(s, case_id, alice, ["closer"], "Closer, please.")
    with database.begin() as s:
        claim(s, case_id, alice)
    with pytest.raises(InvalidTransitionError), database.begin() as s:  # only the clinician who claimed it
        request_information(s, case_id, bob, ["closer"], "Closer, please.")
    with database.begin() as s:
        request_information(s, case_id, alice, ["closer", "question"], "Closer, please. Since when?", now=NOW)
        assert queue_counts(s)[Status.AWAITING_PATIENT] == 1 and queue_counts(s)[Status.SUBMITTED] == 0
        case = s.get(Consultation, case_id)
        assert progress_text(case, NOW + timedelta(hours=2)) == "waiting for the patient: more information asked 2.0 h ago"
    with database.begin() as s:
        view = lookup_by_code(s, code)
    assert view is not None and view.request is not None and view.request.needs == ("closer", "question")
    answered = NOW + timedelta(hours=3)
    with database.begin() as s:
        answer_request(s, code, "Two weeks.", [new_image("JPEG")], [new_prediction(uncertain=True)], now=answered)
    with database.session() as s:
        case = s.get(Consultation, case_id)
        assert (case.status, case.claimed_by_id, case.any_uncertain) == (Status.SUBMITTED, None, True)
        assert case.priority == triage.answered_key(answered)
        assert progress_text(case, answered + timedelta(hours=1)).startswith("patient answered a request 1.0 h ago · ")
        images = list(s.scalars(select(ConsultImage).where(ConsultImage.consultation_id == case_id)
                                .order_by(ConsultImage.position)))
        assert [(i.position, i.request_id is not None) for i in images] == [(0, False), (1, True)]
        actions = [(e.actor, e.action) for e in list_events(s, consultation_id=case_id)
                   if e.action in ("consultation.request_info", "consultation.answer")]
        assert actions == [("clinician:alice", "consultation.request_info"), ("patient", "consultation.answer")]


def test_an_answered_case_comes_before_overdue_and_flagged_ones(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    alice = clinicians[0]
    overdue, _ = stored(database, 24 * 14)
    asked, code = stored(database, 1)
    with database.begin() as s:
        claim(s, asked, alice)
        request_information(s, asked, alice, ["same_area"], "Another photo, please.")
    with database.session() as s:
        assert [c.id for c in list_queue(s, statuses=[Status.SUBMITTED]).items] == [overdue]
    with database.begin() as s:
        answer_request(s, code, "", [new_image()], [new_prediction()])
    later, _ = stored(database, 0)
    with database.session() as s:
        assert [c.id for c in list_queue(s, statuses=[Status.SUBMITTED]).items] == [asked, overdue, later]


def test_migration_0007_keeps_existing_rows(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    alice = clinicians[0]
    waiting, _ = stored(database, 2)
    asked, code = stored(database, 1)
    with database.begin() as s:
        claim(s, asked, alice)
        request_information(s, asked, alice, ["knees"], "Your knees, please.")
    config = database.alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    with database.engine.connect() as connection:
        rows = dict(connection.execute(select(Consultation.id, Consultation.status)).all())
    assert rows == {waiting: "submitted", asked: "in_review"}  # back in review of the clinician who asked
    database.migrate()
    with database.begin() as s:
        assert {c.id: c.status for c in s.scalars(select(Consultation))} == {waiting: "submitted", asked: "in_review"}
        request_information(s, asked, alice, ["knees"], "Your knees, please.")  # works again after the upgrade
        assert len(list(s.scalars(select(ConsultImage)))) == 2


def test_what_the_patient_sees_of_a_request() -> None:
    from dataclasses import fields

    from db.consultations import AskedOfPatient, PatientFollowUp, PatientView
    # PatientView's own fields are unchanged (tests/db/test_consultations.py); the follow-up adds only these
    # (item 2 added the course and the earlier consultations), and the request carries no clinician's name
    added = [f.name for f in fields(PatientFollowUp)][len(fields(PatientView)):]
    assert added == ["specified", "request", "course", "reported_course", "earlier"]
    assert [f.name for f in fields(AskedOfPatient)] == ["needs", "message", "asked_at", "round"]
