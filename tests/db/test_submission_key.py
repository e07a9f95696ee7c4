"""One filled form stores one consultation (issue 16, item 4): the submission key is enforced by the database,
a repeated submission returns the stored consultation with the form's own access code. SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from db.consultations import Submission, lookup_by_code, submit_consultation
from db.engine import Database
from db.errors import ValidationError
from db.models import Consultation
from tests.db.builders import HISTORY, new_image, new_prediction


def submit(database: Database, submission: Submission | None):  # type: ignore[no-untyped-def]
    with database.begin() as s:
        consultation, code = submit_consultation(s, HISTORY, "consent-v1", [new_image()], [new_prediction()],
                                                 submission=submission)
        return consultation.public_id, code


def count(database: Database) -> int:
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(Consultation))


def test_the_same_form_sent_twice_stores_one_consultation(database: Database) -> None:
    form = Submission.new()
    first = submit(database, form)
    again = submit(database, form)
    assert again == first and first[1] == form.access_code
    assert count(database) == 1
    with database.begin() as s:
        assert lookup_by_code(s, form.access_code) is not None  # the code the form showed opens it
        assert s.scalar(select(Consultation.public_id).where(Consultation.submission_key == form.key)) == first[0]


def test_different_forms_store_different_consultations(database: Database) -> None:
    a, b = submit(database, Submission.new()), submit(database, Submission.new())
    assert a[0] != b[0] and a[1] != b[1] and count(database) == 2
    submit(database, None)  # callers without a form (seed-demo, tests) still get a fresh code
    assert count(database) == 3


def test_the_database_itself_refuses_a_second_row_with_a_key(database: Database) -> None:
    submit(database, Submission.new())
    submit(database, Submission.new())
    with pytest.raises(IntegrityError):
        with database.begin() as s:
            key = s.scalar(select(Consultation.submission_key).limit(1))
            s.execute(update(Consultation).where(Consultation.submission_key != key).values(submission_key=key))


def test_a_key_sent_with_another_code_is_refused(database: Database) -> None:
    form = Submission.new()
    submit(database, form)
    with pytest.raises(ValidationError, match="already sent"):
        submit(database, Submission(form.key, Submission.new().access_code))
    assert count(database) == 1


def test_racing_submissions_of_one_form_store_one(database: Database) -> None:
    """Two writers (threads with their own connections) send the same form at the same moment."""
    form = Submission.new()
    barrier = threading.Barrier(2)
    results: list[tuple[str, str]] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(submit(database, form))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(results) == 2 and results[0] == results[1] and results[0][1] == form.access_code
    assert count(database) == 1
