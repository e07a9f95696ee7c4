"""Kind 5: no CSV export holds a cell a spreadsheet would evaluate (OWASP CSV injection), on every export."""
from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import update

from db.consultations import claim, new_public_id, record_review, submit_consultation
from db.export import export_training
from db.models import Consultation
from db.reader_study import create_study, load_study, next_step, readings_csv, record_reading
from security.exports import FORMULA_STARTS, safe_cell
from tests.db.builders import HISTORY, new_image, new_prediction
from tests.db.conftest import (  # noqa: F401  (fixtures)
    _fast_password_hashing,
    _migrated,
    clinicians,
    database,
    postgres_server,
)
from tests.reader.builders import new_cases

FORMULAS = ('=HYPERLINK("http://127.0.0.1:9/","Study")', "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1")


def evaluable(rows: list[list[str]]) -> list[str]:
    return [cell for row in rows for cell in row if cell.startswith(FORMULA_STARTS)]


@pytest.mark.parametrize("value", FORMULAS)
def test_safe_cell_neutralises_each_formula_start(value) -> None:
    assert safe_cell(value) == "'" + value
    assert safe_cell("psoriasis") == "psoriasis" and safe_cell(-0.5) == -0.5  # numbers are the exporter's own


def test_readings_csv_neutralises_study_names_and_case_sources(database, clinicians) -> None:
    alice, _, root = clinicians
    cases = [replace(case, source_ref=source) for case, source in
             zip(new_cases(["psoriasis", "seborrheic_dermatitis"]), ["-2+3", "@SUM(A1)"])]
    with database.begin() as s:
        study = create_study(s, root, FORMULAS[0], cases, [alice.id], source="folder", model_version="m",
                             model_sha256="0" * 64, threshold=0.5, seed=3)
    for _ in cases:
        with database.begin() as s:
            step = next_step(s, study.id, alice)
            record_reading(s, study.id, alice, step.case.case_id, 1, "psoriasis", 3)
    with database.begin() as s:
        rows = list(csv.reader(io.StringIO(readings_csv(load_study(s, study.id, root)))))
    assert len(rows) == 3 and not evaluable(rows)
    assert rows[1][0] == "'" + FORMULAS[0]  # still readable: the apostrophe only stops evaluation
    assert {rows[1][6], rows[2][6]} == {"'-2+3", "'@SUM(A1)"}


def test_training_export_neutralises_group_ids(database, clinicians, tmp_path: Path) -> None:
    alice = clinicians[0]
    with database.begin() as s:
        consultation, _ = submit_consultation(s, HISTORY, "v1", [new_image()], [new_prediction()])
        claim(s, consultation.id, alice)
        record_review(s, consultation.id, alice, "psoriasis")
        s.execute(update(Consultation).where(Consultation.id == consultation.id).values(public_id="-2+3cmd"))
    with database.session() as s:
        export_training(s, tmp_path / "out")
    with (tmp_path / "out" / "groups.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][:3] == ["psoriasis/-2+3cmd_0.png", "psoriasis", "'-2+3cmd"] and not evaluable(rows)


def test_new_public_ids_never_start_like_a_formula() -> None:
    assert not [pid for pid in (new_public_id() for _ in range(2000)) if pid.startswith(FORMULA_STARTS + ("_",))]
