"""The extended diagnosis list (issue 19, item 3): coded values, "other" with its text, migration 0006 and
the training export of the codes that are not training labels."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text

from db.consultations import claim, record_review, submit_consultation
from db.engine import Database
from db.errors import ValidationError
from db.export import export_training
from db.models import Diagnosis, Review
from tests.db.builders import HISTORY, new_image, new_prediction


def _claimed(database: Database, clinician) -> int:  # type: ignore[no-untyped-def]
    with database.begin() as s:
        consultation, _ = submit_consultation(s, HISTORY, "v1", [new_image()], [new_prediction()])
        claim(s, consultation.id, clinician)
        return consultation.id


def test_other_needs_the_condition_in_words(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    alice = clinicians[0]
    case_id = _claimed(database, alice)
    with pytest.raises(ValidationError, match="name the condition"), database.begin() as s:
        record_review(s, case_id, alice, "other", specified="  ")
    with database.begin() as s:
        review = record_review(s, case_id, alice, "other", specified=" tinea corporis ")
    assert review.diagnosis_other == "tinea corporis"
    other_id = _claimed(database, alice)
    with database.begin() as s:  # the text belongs to "other" only
        assert record_review(s, other_id, alice, "tinea_capitis", specified="ignored").diagnosis_other is None


def test_the_database_refuses_other_without_text(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    alice = clinicians[0]
    case_id = _claimed(database, alice)
    with pytest.raises(Exception), database.begin() as s:
        s.add(Review(consultation_id=case_id, clinician_id=alice.id, diagnosis="other"))
        s.flush()


def test_migration_0006_keeps_existing_reviews(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    alice = clinicians[0]
    ids = [_claimed(database, alice) for _ in range(3)]
    config = database.alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    with database.engine.begin() as connection:  # reviews as an older version of the app stored them
        for case_id, diagnosis in zip(ids, ("other", "psoriasis", "needs_in_person_visit")):
            connection.execute(text("INSERT INTO reviews (consultation_id, clinician_id, diagnosis, notes, created_at) "
                                    "VALUES (:c, :u, :d, 'n', CURRENT_TIMESTAMP)"), {"c": case_id, "u": alice.id, "d": diagnosis})
    database.migrate()
    with database.session() as s:
        stored = {r.consultation_id: (r.diagnosis, r.diagnosis_other) for r in s.scalars(select(Review))}
    assert stored == {ids[0]: ("other", "not specified (recorded before the list was extended)"),
                      ids[1]: ("psoriasis", None), ids[2]: ("needs_in_person_visit", None)}


def test_export_keeps_the_codes(database: Database, clinicians, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    alice = clinicians[0]
    codes = {}
    for diagnosis in ("psoriasis", "tinea_capitis", "other"):
        case_id = _claimed(database, alice)
        with database.begin() as s:
            record_review(s, case_id, alice, diagnosis, specified="tinea corporis")
            codes[diagnosis] = s.get(Review, s.scalar(select(Review.id).where(Review.consultation_id == case_id))
                                     ).consultation.public_id
    with database.session() as s:
        plain = export_training(s, tmp_path / "plain")
        extended = export_training(s, tmp_path / "all", other_diagnoses=True)
    assert plain.per_label == {"psoriasis": 1, "seborrheic_dermatitis": 0}
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == ["groups.csv", "psoriasis", "seborrheic_dermatitis"]
    assert extended.per_label == {"psoriasis": 1, "seborrheic_dermatitis": 0, "tinea_capitis": 1, "other": 1}
    with (tmp_path / "all" / "other_diagnoses.csv").open(newline="") as handle:
        rows = sorted((r["file"], r["label"]) for r in csv.DictReader(handle))
    assert rows == sorted([(f"other_diagnoses/other/{codes['other']}_0.png", "other"),
                           (f"other_diagnoses/tinea_capitis/{codes['tinea_capitis']}_0.png", "tinea_capitis")])
    assert all((tmp_path / "all" / file).is_file() for file, _ in rows)
    with (tmp_path / "all" / "groups.csv").open(newline="") as handle:
        assert [r["label"] for r in csv.DictReader(handle)] == ["psoriasis"]
    assert {d.value for d in Diagnosis} >= {"tinea_capitis", "alopecia_areata", "lichen_planopilaris",
                                            "contact_dermatitis", "other"}
