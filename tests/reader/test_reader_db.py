"""db.reader_study on SQLite and on a real PostgreSQL (the db suite's ``database`` fixture)."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from db.audit import list_events
from db.consultations import claim, record_review, submit_consultation
from db.engine import Database
from db.errors import NotFoundError, ValidationError
from db.models import Reading, ReaderStudy, StudyCase, StudyReader, utcnow
from db.reader_study import (
    AIDED,
    UNAIDED,
    ReadingOrderError,
    StudyPermissionError,
    count_labelled_consultations,
    create_study,
    invite_readers,
    labelled_consultation_images,
    list_studies,
    load_study,
    next_step,
    reader_seed,
    reading_orders,
    readings_csv,
    record_export,
    record_reading,
    studies_for_reader,
)
from db.users import Clinician
from tests.db.builders import HISTORY, new_image, new_prediction
from tests.db.conftest import _fast_password_hashing, _migrated, clinicians, database, postgres_server  # noqa: F401
from tests.reader.builders import answer, new_cases

TRUTHS = ["psoriasis", "seborrheic_dermatitis", "psoriasis", "seborrheic_dermatitis", "psoriasis"]


def make_study(database: Database, admin: Clinician, readers: list[Clinician], *, name: str = "pilot",
               truths=TRUTHS, washout_days: float = 0.0, seed: int | None = 11) -> int:
    with database.begin() as s:
        study = create_study(s, admin, name, new_cases(truths), [r.id for r in readers], source="folder",
                             model_version="test-1", model_sha256="0" * 64, threshold=0.5, seed=seed,
                             washout_days=washout_days)
        return study.id


def read_all(database: Database, study_id: int, reader: Clinician, pass_number: int, score=lambda case: 7) -> list[int]:
    """Read every case of one pass in the order shown; returns the case ids in that order."""
    seen = []
    while True:
        with database.begin() as s:
            step = next_step(s, study_id, reader)
        if step.case is None or step.case.pass_number != pass_number:
            return seen
        seen.append(step.case.case_id)
        with database.begin() as s:
            record_reading(s, study_id, reader, step.case.case_id, pass_number, *answer(score(step.case.case_id)))


def test_create_study_stores_cases_readers_and_orders(database, clinicians) -> None:
    alice, bob, root = clinicians
    study_id = make_study(database, root, [alice, bob])
    with database.session() as s:
        study = s.get(ReaderStudy, study_id)
        cases = list(s.scalars(select(StudyCase).where(StudyCase.study_id == study_id).order_by(StudyCase.position)))
        readers = list(s.scalars(select(StudyReader).where(StudyReader.study_id == study_id).order_by(StudyReader.id)))
        assert (study.seed, study.threshold, study.model_version, study.source) == (11, 0.5, "test-1", "folder")
        assert [c.truth for c in cases] == TRUTHS and [c.position for c in cases] == list(range(5))
        assert all(len(c.sha256) == 64 and c.overlay_png for c in cases)
        ids = [c.id for c in cases]
        for reader, user in zip(readers, (alice, bob)):
            assert reader.user_id == user.id and reader.seed == reader_seed(11, user.id)
            assert (reader.unaided_order, reader.aided_order) == tuple(reading_orders(ids, reader.seed))
        assert readers[0].unaided_order != readers[1].unaided_order or readers[0].aided_order != readers[1].aided_order
        [event] = list_events(s, action="study.create")
        assert event.actor == "clinician:root"
        assert event.detail["study_id"] == study_id and event.detail["cases"] == 5 and event.detail["psoriasis"] == 3
        assert event.detail["readers"] == ["alice", "bob"]


def test_create_study_validation(database, clinicians) -> None:
    alice, bob, root = clinicians
    with pytest.raises(StudyPermissionError), database.begin() as s:
        create_study(s, alice, "x", new_cases(TRUTHS), [bob.id], source="folder", model_version="m",
                     model_sha256="0" * 64, threshold=0.5)
    bad = [
        ({"cases": new_cases(["psoriasis", "psoriasis"])}, "both psoriasis and seborrheic"),
        ({"cases": new_cases(["psoriasis"])}, "2 to 1000 cases"),
        ({"reader_ids": []}, "at least one reader"),
        ({"reader_ids": [999]}, "existing clinician accounts"),
        ({"name": "  "}, "name of 1 to 120"),
        ({"source": "web"}, "Source 'web'"),
        ({"washout_days": -1}, "wash-out"),
        ({"cases": new_cases(TRUTHS, [0.5, 0.5, 1.5, 0.5, 0.5])}, "not in \\[0, 1\\]"),
    ]
    for change, message in bad:
        arguments = {"name": "x", "cases": new_cases(TRUTHS), "reader_ids": [alice.id], "source": "folder", **change}
        with pytest.raises(ValidationError, match=message), database.begin() as s:
            create_study(s, root, arguments.pop("name"), arguments.pop("cases"), arguments.pop("reader_ids"),
                         model_version="m", model_sha256="0" * 64, threshold=0.5, **arguments)
    make_study(database, root, [alice], name="taken")
    with pytest.raises(ValidationError, match="exists already"):
        make_study(database, root, [alice], name="taken")
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(ReaderStudy)) == 1


def test_two_passes_in_order_with_wash_out_and_resume(database, clinicians) -> None:
    alice, bob, root = clinicians
    study_id = make_study(database, root, [alice, bob])
    with database.session() as s:
        reader = s.scalar(select(StudyReader).where(StudyReader.user_id == alice.id))
        unaided, aided = reader.unaided_order, reader.aided_order

    with database.begin() as s:
        step = next_step(s, study_id, alice)
    assert step.case.pass_number == UNAIDED and step.case.sequence == 1 and step.case.total == 5
    assert step.case.case_id == unaided[0]
    assert step.case.p_psoriasis is None and step.case.overlay_png is None  # no model output in pass 1
    # An aided answer, or a case out of turn, is refused while pass 1 is open.
    with pytest.raises(ReadingOrderError), database.begin() as s:
        record_reading(s, study_id, alice, aided[0], AIDED, "psoriasis", 3)
    with pytest.raises(ReadingOrderError), database.begin() as s:
        record_reading(s, study_id, alice, unaided[1], UNAIDED, "psoriasis", 3)

    # Two cases, then "log out": a new session resumes at case 3.
    for case_id in unaided[:2]:
        with database.begin() as s:
            record_reading(s, study_id, alice, case_id, UNAIDED, "psoriasis", 4, seconds=2.5)
    with pytest.raises(ReadingOrderError), database.begin() as s:  # the same answer again (double submit)
        record_reading(s, study_id, alice, unaided[1], UNAIDED, "psoriasis", 4)
    with database.session() as s:
        progress = studies_for_reader(s, alice)[0]
        step = next_step(s, study_id, alice)
    assert (progress.unaided_done, progress.aided_done, progress.current_pass) == (2, 0, UNAIDED)
    assert step.case.case_id == unaided[2] and step.case.sequence == 3

    assert read_all(database, study_id, alice, UNAIDED) == unaided[2:]
    with database.begin() as s:
        step = next_step(s, study_id, alice)
    assert step.case.pass_number == AIDED and step.case.case_id == aided[0] != unaided[-1]
    assert step.case.p_psoriasis is not None and step.case.overlay_png and step.case.threshold == 0.5
    assert read_all(database, study_id, alice, AIDED) == aided
    with database.session() as s:
        step = next_step(s, study_id, alice)
        assert step.case is None and step.progress.finished and not step.waiting
        readings = list(s.scalars(select(Reading).order_by(Reading.id)))
        assert [(r.pass_number, r.sequence) for r in readings] == [(1, i) for i in range(1, 6)] + [(2, i) for i in range(1, 6)]
        assert readings[0].seconds == 2.5 and readings[0].confidence == 4
        assert len(list_events(s, action="study.reading")) == 10
        assert list_events(s, action="study.reading")[0].detail == {"study_id": study_id, "case_id": unaided[0],
                                                                   "pass": 1, "sequence": 1}
    with database.session() as s:  # bob is untouched
        assert studies_for_reader(s, bob)[0].unaided_done == 0


def test_wash_out_days_hold_the_aided_pass(database, clinicians) -> None:
    alice, _, root = clinicians
    study_id = make_study(database, root, [alice], washout_days=14)
    read_all(database, study_id, alice, UNAIDED)
    with database.session() as s:
        step = next_step(s, study_id, alice)
        reader = s.scalar(select(StudyReader).where(StudyReader.user_id == alice.id))
    assert step.waiting and step.case is None
    assert timedelta(days=13, hours=23) < step.progress.aided_opens_at - utcnow() <= timedelta(days=14)
    with pytest.raises(ReadingOrderError, match="opens on"), database.begin() as s:
        record_reading(s, study_id, alice, reader.aided_order[0], AIDED, "psoriasis", 3)
    later = utcnow() + timedelta(days=14, minutes=1)
    with database.begin() as s:
        step = next_step(s, study_id, alice, now=later)
        record_reading(s, study_id, alice, step.case.case_id, AIDED, "psoriasis", 3, now=later)


def test_readers_only_see_their_studies(database, clinicians) -> None:
    alice, bob, root = clinicians
    study_id = make_study(database, root, [alice])
    with database.session() as s:
        assert studies_for_reader(s, bob) == []
        with pytest.raises(NotFoundError, match="not a reader"):
            next_step(s, study_id, bob)
        with pytest.raises(StudyPermissionError):
            load_study(s, study_id, alice)
        with pytest.raises(StudyPermissionError):
            list_studies(s, alice)
    with database.begin() as s:
        assert invite_readers(s, root, study_id, [alice.id, bob.id]) == ["bob"]
        assert invite_readers(s, root, study_id, [bob.id]) == []
    with database.session() as s:
        assert [p.study_id for p in studies_for_reader(s, bob)] == [study_id]
        assert next_step(s, study_id, bob).case.sequence == 1
        assert [e.detail["readers"] for e in list_events(s, action="study.invite")] == [["bob"]]


def test_results_data_csv_and_audit(database, clinicians) -> None:
    alice, bob, root = clinicians
    study_id = make_study(database, root, [alice, bob])
    read_all(database, study_id, alice, UNAIDED, score=lambda case: 9)
    read_all(database, study_id, alice, AIDED, score=lambda case: 2)
    read_all(database, study_id, bob, UNAIDED, score=lambda case: 6)
    with database.begin() as s:
        data = load_study(s, study_id, root, record_view=True)
        [summary] = list_studies(s, root)
        record_export(s, study_id, root, rows=len(data.readings))
    assert (summary.cases, summary.readers, summary.readings, summary.finished_readers) == (5, ("alice", "bob"), 15, 1)
    assert data.readers == ("alice", "bob") and [c.truth for c in data.cases] == TRUTHS
    assert len(data.readings) == 15 and {r.score for r in data.readings} == {9, 2, 6}
    rows = list(csv.DictReader(io.StringIO(readings_csv(data))))
    assert len(rows) == 15
    first = rows[0]
    assert (first["study"], first["reader"], first["pass"], first["pass_name"], first["sequence"]) == (
        "pilot", "alice", "1", "unaided", "1")
    assert (first["diagnosis"], first["confidence"], first["score"]) == ("psoriasis", "4", "9")
    assert first["truth"] == TRUTHS[int(first["case"]) - 1] and first["case_source"].startswith("file:")
    assert float(first["model_p_psoriasis"]) in (0.8, 0.3)
    with database.session() as s:
        assert [e.detail for e in list_events(s, action="study.results_view")] == [{"study_id": study_id, "readings": 15}]
        assert [e.detail for e in list_events(s, action="study.export")] == [{"study_id": study_id, "rows": 15}]


def test_cases_from_reviewed_consultations(database, clinicians) -> None:
    alice, _, root = clinicians
    diagnoses = ["psoriasis", "seborrheic_dermatitis", "other", "psoriasis", None]
    with database.begin() as s:
        for index, diagnosis in enumerate(diagnoses):
            consultation, _ = submit_consultation(
                s, HISTORY, "v1", [new_image(colour=(index, 0, 0)), new_image(colour=(0, index, 0))],
                [new_prediction(), new_prediction()], is_demo=index == 3)
            if diagnosis:
                claim(s, consultation.id, alice)
                record_review(s, consultation.id, alice, diagnosis, specified="a condition for the test")
    with database.session() as s:
        assert count_labelled_consultations(s) == {"psoriasis": 1, "seborrheic_dermatitis": 1}
        assert count_labelled_consultations(s, include_demo=True) == {"psoriasis": 2, "seborrheic_dermatitis": 1}
        items = labelled_consultation_images(s, include_demo=True)
        assert [i.truth for i in items] == ["psoriasis", "seborrheic_dermatitis", "psoriasis"]
        assert all(i.source_ref.startswith("consultation:") for i in items)
        assert items[1].data == new_image(colour=(1, 0, 0)).data  # the first photo of each consultation
        sample = labelled_consultation_images(s, include_demo=True, limit=2, seed=3)
        assert len(sample) == 2 and sample == labelled_consultation_images(s, include_demo=True, limit=2, seed=3)
