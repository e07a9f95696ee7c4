"""Follow-up over time (issue 19, item 2) on both backends: the link stored with the earlier code, the chain the
patient reads and the series the reviewer reads, the course, the queue's reason, the audit rows, the training
export and migration 0008 with existing rows."""
from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select, text

from db.audit import list_events
from db.consultations import (
    FollowUpOf, chain, claim, earlier_for_clinician, list_queue, lookup_by_code, progress_text, record_review,
    series_ids, submit_consultation,
)
from db.engine import Database
from db.errors import UnknownAccessCodeError, ValidationError
from db.export import export_training
from db.models import Consultation, Review, Status, utcnow
from tests.db.builders import HISTORY, new_image, new_prediction

NOW = utcnow().replace(microsecond=0)


def submitted(database: Database, *, days_ago: float, follow_up_of: FollowUpOf | None = None,
              p: float = 0.7) -> tuple[Consultation, str]:
    with database.begin() as s:
        return submit_consultation(s, HISTORY, "v1", [new_image()], [new_prediction(p)],
                                   now=NOW - timedelta(days=days_ago), follow_up_of=follow_up_of)


def reviewed(database: Database, clinician, consultation_id: int, diagnosis: str = "psoriasis",  # type: ignore[no-untyped-def]
             course: str | None = None) -> Review:
    with database.begin() as s:
        claim(s, consultation_id, clinician)
        return record_review(s, consultation_id, clinician, diagnosis, "Use the shampoo.", course=course)


def test_a_follow_up_is_linked_by_the_earlier_code_and_gets_its_own(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    alice = clinicians[0]
    first, first_code = submitted(database, days_ago=60)
    reviewed(database, alice, first.id)
    follow, follow_code = submitted(database, days_ago=1, follow_up_of=FollowUpOf(first_code.lower(), "worse"))
    assert follow_code != first_code
    with database.session() as s:
        stored = s.get(Consultation, follow.id)
        assert (stored.follow_up_of_id, stored.reported_course) == (first.id, "worse")
        assert s.get(Consultation, first.id).follow_up_of_id is None
        submit = list_events(s, consultation_id=follow.id, action="consultation.submit")[0].detail
        assert (submit["follow_up_of"], submit["reported_course"]) == (first.id, "worse")
        [linked] = list_events(s, consultation_id=first.id, action="consultation.follow_up")
        assert linked.actor == "patient" and linked.detail == {"follow_up": follow.id}
    with database.begin() as s:  # the earlier code keeps working and shows only its own consultation
        earlier = lookup_by_code(s, first_code)
        later = lookup_by_code(s, follow_code)
    assert earlier.status == Status.REVIEWED and earlier.diagnosis == "psoriasis" and earlier.earlier == ()
    assert later.status == Status.SUBMITTED and later.reported_course == "worse"
    assert [(e.submitted_at, e.diagnosis, e.course) for e in later.earlier] == [(NOW - timedelta(days=60), "psoriasis", None)]
    assert earlier.can_follow_up and not later.can_follow_up


def test_what_a_follow_up_needs(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    waiting, waiting_code = submitted(database, days_ago=3)
    with pytest.raises(UnknownAccessCodeError):
        submitted(database, days_ago=0, follow_up_of=FollowUpOf("AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA"))
    with pytest.raises(ValidationError, match="once the earlier consultation has been reviewed"):
        submitted(database, days_ago=0, follow_up_of=FollowUpOf(waiting_code))
    reviewed(database, clinicians[0], waiting.id)
    with pytest.raises(ValidationError, match="listed answers"):
        submitted(database, days_ago=0, follow_up_of=FollowUpOf(waiting_code, "much better"))
    with database.session() as s:
        assert s.scalar(select(Consultation.id).where(Consultation.follow_up_of_id.is_not(None))) is None


def test_the_chain_for_the_patient_and_the_series_for_the_reviewer(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    """a <- b <- c, and d started with a's code after c: the patient of c sees a and b; the reviewer of c sees
    a and b (d came later); the reviewer of d sees a, b and c (the same patient: a's code was given)."""
    alice = clinicians[0]
    a, a_code = submitted(database, days_ago=90)
    reviewed(database, alice, a.id, "seborrheic_dermatitis")
    b, b_code = submitted(database, days_ago=60, follow_up_of=FollowUpOf(a_code, "same"))
    reviewed(database, alice, b.id, "seborrheic_dermatitis", course="better")
    c, c_code = submitted(database, days_ago=30, follow_up_of=FollowUpOf(b_code))
    reviewed(database, alice, c.id, "psoriasis", course="worse")
    d, _ = submitted(database, days_ago=2, follow_up_of=FollowUpOf(a_code, "worse"))
    with database.begin() as s:
        case_c, case_d = s.get(Consultation, c.id), s.get(Consultation, d.id)
        assert [x.id for x in chain(s, case_c)] == [a.id, b.id] and [x.id for x in chain(s, case_d)] == [a.id]
        assert series_ids(s, case_c) == series_ids(s, case_d) == {a.id, b.id, c.id, d.id}
        view = lookup_by_code(s, c_code)
        for_c = earlier_for_clinician(s, case_c, alice)
        for_d = earlier_for_clinician(s, case_d, alice)
    assert [(e.diagnosis, e.course) for e in view.earlier] == [("seborrheic_dermatitis", None),
                                                               ("seborrheic_dermatitis", "better")]
    assert (view.diagnosis, view.course) == ("psoriasis", "worse")
    assert ([x.id for x in for_c.earlier], for_c.later) == ([a.id, b.id], 1)
    assert ([x.id for x in for_d.earlier], for_d.later) == ([a.id, b.id, c.id], 0)
    shown = for_d.earlier[1]  # loaded for the panel: photos with the model's output, the review and its author
    assert shown.images[0].prediction.p_psoriasis == pytest.approx(0.7)
    assert (shown.reviews[0].course, shown.reviews[0].clinician.username) == ("better", "alice")
    with database.session() as s:
        seen = [(e.consultation_id, e.actor, e.detail) for e in list_events(s, action="consultation.history_view")]
        by_patient = [(e.consultation_id, e.detail) for e in list_events(s, action="patient.earlier_view")]
    assert seen == [(a.id, "clinician:alice", {"from": c.id}), (b.id, "clinician:alice", {"from": c.id}),
                    (a.id, "clinician:alice", {"from": d.id}), (b.id, "clinician:alice", {"from": d.id}),
                    (c.id, "clinician:alice", {"from": d.id})]
    assert by_patient == [(a.id, {"from": c.id}), (b.id, {"from": c.id})]


def test_the_course_is_part_of_a_follow_up_review(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    alice = clinicians[0]
    first, code = submitted(database, days_ago=10)
    assert reviewed(database, alice, first.id, course="better").course is None  # no earlier one: no course
    follow, _ = submitted(database, days_ago=1, follow_up_of=FollowUpOf(code))
    with pytest.raises(ValidationError, match="better, the same or worse"):
        reviewed(database, alice, follow.id)
    with pytest.raises(ValidationError, match="listed answers"), database.begin() as s:
        record_review(s, follow.id, alice, "psoriasis", course="improving")
    assert reviewed(database, alice, follow.id, course="same").course == "same"
    with database.session() as s:
        [event] = list_events(s, consultation_id=follow.id, action="consultation.review")
    assert event.detail["course"] == "same"
    with database.begin() as s, pytest.raises(Exception):  # the database refuses another value
        s.execute(text("UPDATE reviews SET course = 'fine' WHERE consultation_id = :c"), {"c": follow.id})


def test_the_queue_says_follow_up_and_a_worse_one_is_due_sooner(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    first, code = submitted(database, days_ago=40)
    reviewed(database, clinicians[0], first.id)
    plain, _ = submitted(database, days_ago=0, p=0.2)
    same, _ = submitted(database, days_ago=0, follow_up_of=FollowUpOf(code, "same"))
    worse, _ = submitted(database, days_ago=0, follow_up_of=FollowUpOf(code, "worse"))
    with database.session() as s:
        items = list_queue(s, statuses=[Status.SUBMITTED]).items
        reasons = {c.id: progress_text(c, NOW) for c in items}
    assert [c.id for c in items][0] == worse.id  # due within 48 h instead of 72
    assert reasons[worse.id] == "due in 2.0 days (target 2 days) · follow-up, worse"
    assert reasons[same.id] == "due in 3.0 days (target 3 days) · follow-up"
    assert reasons[plain.id] == "due in 3.0 days (target 3 days)"


def test_the_export_groups_a_patient_and_carries_the_course(database: Database, clinicians, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    alice = clinicians[0]
    first, code = submitted(database, days_ago=30)
    reviewed(database, alice, first.id)
    follow, follow_code = submitted(database, days_ago=10, follow_up_of=FollowUpOf(code))
    reviewed(database, alice, follow.id, course="better")
    third, _ = submitted(database, days_ago=1, follow_up_of=FollowUpOf(follow_code))
    reviewed(database, alice, third.id, course="worse")
    with database.session() as s:
        export_training(s, tmp_path / "out")
    with (tmp_path / "out" / "groups.csv").open(newline="") as handle:
        rows = [(r["file"].split("/")[1].rsplit("_", 1)[0], r["group"], r["course"]) for r in csv.DictReader(handle)]
    assert rows == [(first.public_id, first.public_id, ""), (follow.public_id, first.public_id, "better"),
                    (third.public_id, first.public_id, "worse")]


def _columns(database: Database, table: str) -> set[str]:
    with database.engine.connect() as connection:
        return {c["name"] for c in inspect(connection).get_columns(table)}


def test_migration_0008_keeps_existing_rows(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    alice = clinicians[0]
    first, code = submitted(database, days_ago=20)
    reviewed(database, alice, first.id)
    follow, _ = submitted(database, days_ago=1, follow_up_of=FollowUpOf(code, "better"))
    reviewed(database, alice, follow.id, course="same")
    config = database.alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")
    assert not {"follow_up_of_id", "reported_course"} & _columns(database, "consultations")
    assert "course" not in _columns(database, "reviews")
    with database.engine.begin() as connection:  # rows as the app stored them before 0008
        rows = connection.execute(text("SELECT id, status FROM consultations ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(first.id, "reviewed"), (follow.id, "reviewed")]
        assert connection.execute(text("SELECT count(*) FROM reviews")).scalar_one() == 2
        connection.execute(text("UPDATE consultations SET status = 'closed' WHERE id = :c"), {"c": first.id})
    database.migrate()
    with database.session() as s:
        stored = {c.id: (c.status, c.follow_up_of_id, c.reported_course) for c in s.scalars(select(Consultation))}
        assert stored == {first.id: ("closed", None, None), follow.id: ("reviewed", None, None)}
        assert [r.course for r in s.scalars(select(Review).order_by(Review.id))] == [None, None]
    again, _ = submitted(database, days_ago=0, follow_up_of=FollowUpOf(code, "worse"))  # links work again
    with database.session() as s:
        assert s.get(Consultation, again.id).follow_up_of_id == first.id
    with database.begin() as s, pytest.raises(Exception):  # the CHECK came back with the column
        s.execute(text("UPDATE consultations SET reported_course = 'fine' WHERE id = :c"), {"c": again.id})
