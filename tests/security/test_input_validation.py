"""Kind 2, data layer: only the listed answers, no NUL or control characters, no over-long text, on every
backend; a value the database itself refuses (DataError) becomes a plain ValidationError."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DataError

from db.consultations import (
    AGE_BANDS,
    MAX_FREE_TEXT,
    MAX_NOTES,
    MAX_TREATMENT,
    claim,
    record_review,
    submit_consultation,
)
from db.engine import DATA_REFUSED, Database, translate_errors
from db.errors import ValidationError
from db.models import AppSetting, Consultation
from db.reader_study import create_study
from tests.db.builders import HISTORY, new_image, new_prediction
from tests.db.conftest import (  # noqa: F401  (fixtures)
    _fast_password_hashing,
    _migrated,
    clinicians,
    database,
    postgres_server,
)
from tests.reader.builders import new_cases

LONG = "x" * 96
MARKDOWN = "[Re-verify](http://127.0.0.1:9/phish)"


def submit(database: Database, **history):
    with database.begin() as s:
        return submit_consultation(s, {**HISTORY, **history}, "consent-v1", [new_image()], [new_prediction()])


def stored(database: Database) -> int:
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(Consultation))


@pytest.mark.parametrize("field", ["age_band", "sex", "duration", "itch", "scalp_site", "image_source"])
@pytest.mark.parametrize("value", [LONG, "x" * 100, MARKDOWN, "18-39", ""])
def test_fixed_answers_accept_only_the_listed_values(database, field, value) -> None:
    with pytest.raises(ValidationError) as refused:
        submit(database, **{field: value})
    assert value not in str(refused.value) or not value  # the message never repeats what was sent
    assert stored(database) == 0


def test_every_listed_answer_is_accepted(database) -> None:
    for age in AGE_BANDS:
        submit(database, age_band=age, scalp_site="hairline, behind the ears", sex=None)
    assert stored(database) == len(AGE_BANDS)
    with pytest.raises(ValidationError):
        submit(database, scalp_site="top, top")  # each site once


@pytest.mark.parametrize(("field", "limit"), [("previous_treatment", MAX_TREATMENT), ("free_text", MAX_FREE_TEXT)])
def test_free_text_refuses_nul_and_over_long_text(database, field, limit) -> None:
    for bad in ("before\x00after", "bell\x07", "y" * (limit + 1)):
        with pytest.raises(ValidationError, match="cannot be stored|longer than"):
            submit(database, **{field: bad})
    assert stored(database) == 0
    submit(database, **{field: "y" * limit})
    assert stored(database) == 1


def test_review_notes_and_study_names_refuse_nul_and_over_long_text(database, clinicians) -> None:
    alice, _, root = clinicians
    consultation, _ = submit(database)
    for notes in ("see\x00you", "z" * (MAX_NOTES + 1)):
        with pytest.raises(ValidationError), database.begin() as s:
            claim(s, consultation.id, alice)
            record_review(s, consultation.id, alice, "psoriasis", notes)
    for name in ("study\x00one", "line\nbreak"):
        with pytest.raises(ValidationError), database.begin() as s:
            create_study(s, root, name, new_cases(["psoriasis", "seborrheic_dermatitis"]), [alice.id],
                         source="folder", model_version="m", model_sha256="0" * 64, threshold=0.5)


def test_a_data_error_becomes_a_plain_message() -> None:
    with pytest.raises(ValidationError) as refused, translate_errors():
        raise DataError("INSERT ...", {}, Exception("value too long for type character varying(16)"))
    assert str(refused.value) == DATA_REFUSED


@pytest.mark.postgres
def test_postgresql_refusing_nul_is_a_plain_message(request) -> None:
    database = request.getfixturevalue("_migrated")("postgresql")
    with pytest.raises(ValidationError, match="refused a value"), database.begin() as s:
        s.add(AppSetting(key="nul-test", value="a\x00b"))  # below the data functions' own checks
