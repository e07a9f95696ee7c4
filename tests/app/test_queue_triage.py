"""The queue's triage is explainable and puts the right case first (issue 18, item 2)."""
from __future__ import annotations

import io
from datetime import timedelta

import pandas as pd
from PIL import Image

from db.consultations import NewImage, claim, record_review, submit_consultation
from db.models import utcnow
from pages import _resources as res
from scalp_model.serving.predictor import label_for
from scalp_model.serving.preprocess import sanitized_bytes
from tests.app.conftest import (  # noqa: F401  (fixtures)
    _fast_password_hashing,
    _navigation_mode,
    app_env,
    assert_clean,
    at,
    clinician,
    database,
    queue_picker,
    sign_in,
    texts,
)
from tests.db.builders import model_output
from tests.factories import photo_array


def submitted(database, *, age: timedelta, p: float, itch: str | None = None, uncertain: bool = False):
    picture = Image.fromarray(photo_array(64, 48))
    jpeg, mime = sanitized_bytes(picture)
    with database.begin() as session:
        consultation, _ = submit_consultation(
            session, {"image_source": "phone", "itch": itch}, res.CONSENT_VERSION, [NewImage(jpeg, mime, 64, 48)],
            [model_output("seed-1", "0" * 64, p, 0.5, 1.0, label_for(p, 0.5), uncertain, False, 3.0)],
            now=utcnow() - age)
        return consultation.id, consultation.public_id


def test_the_longest_overdue_case_comes_first_with_its_reason(at, clinician, database) -> None:
    _, fresh = submitted(database, age=timedelta(minutes=1), p=0.95)
    _, six = submitted(database, age=timedelta(days=6), p=0.2)
    _, fourteen = submitted(database, age=timedelta(days=14), p=0.1)
    _, itchy = submitted(database, age=timedelta(hours=30), p=0.3, itch="severe")
    sign_in(at)
    assert_clean(at)
    table = at.dataframe[0].value
    assert list(table["Consultation"]) == [fourteen, six, itchy, fresh]  # was fresh first (highest P)
    reasons = list(table["Why here"])
    assert reasons[0] == "overdue by 11.0 days (target 3 days)"
    assert reasons[2] == "overdue by 6.0 h (target 24 h) · severe itch"
    assert reasons[3].startswith("due in 3.0 days (target 3 days)")
    assert bool(table["Severe itch"].iloc[2]) and not table["Severe itch"].iloc[0]
    # numbers, not text: 14 days sorts after 13 minutes (as text "13 min" > "14.3 days" > "15 min")
    assert pd.api.types.is_float_dtype(table["Waiting (days)"])
    assert table["Waiting (days)"].tolist() == sorted(table["Waiting (days)"], reverse=True)
    assert any("target turnaround of 72 h" in c for c in texts(at.caption))


def test_finished_cases_show_when_and_by_whom_they_were_reviewed(at, clinician, database) -> None:
    case_id, public_id = submitted(database, age=timedelta(days=10), p=0.6)
    with database.begin() as s:
        claim(s, case_id, clinician)
        record_review(s, case_id, clinician, "psoriasis")
    sign_in(at)
    at.multiselect(key="q_status").select("reviewed").run()
    assert_clean(at)
    row = at.dataframe[0].value.iloc[0]
    assert row["Consultation"] == public_id and pd.isna(row["Waiting (days)"])
    assert row["Why here"].startswith("reviewed ") and row["Why here"].endswith(" UTC by dr.who")
    assert not pd.isna(row["Reviewed"])
    queue_picker(at).select(public_id)
    at.button(key="q_open").click().run()
    at.switch_page("pages/review.py").run()
    header = next(c for c in texts(at.caption) if c.startswith("Submitted"))
    assert "waiting" not in header and "reviewed " in header and "by dr.who" in header


def test_a_click_on_a_row_opens_the_case(at, clinician, database) -> None:
    """Issue 18, item 9: rows could not be clicked (a select box and an Open button only)."""
    _, older = submitted(database, age=timedelta(days=2), p=0.4)
    _, newer = submitted(database, age=timedelta(hours=1), p=0.4)
    sign_in(at)
    assert list(at.dataframe[0].value["Consultation"]) == [older, newer]
    at.session_state["q_table"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    at.switch_page("pages/review.py").run()  # AppTest stays on the page it was last switched to
    assert at.title[0].value == f"Consultation {newer}"


def test_find_a_consultation_by_its_id(at, clinician, database) -> None:
    _, wanted = submitted(database, age=timedelta(days=1), p=0.4)
    submitted(database, age=timedelta(days=1), p=0.4)
    sign_in(at)
    at.text_input(key="q_find").input("ab").run()
    assert any("at least 4 characters" in e for e in texts(at.error))
    at.text_input(key="q_find").input(f"  {wanted[:8]} ").run()
    found = [b for b in at.button if b.key and b.key.startswith("q_found_")]
    assert [b.key for b in found] == [f"q_found_{wanted}"] and "due in" in found[0].label
    found[0].click().run()
    at.switch_page("pages/review.py").run()
    assert at.title[0].value == f"Consultation {wanted}"


def test_a_new_listing_gets_a_fresh_picker_so_open_opens_what_it_shows(at, clinician, database) -> None:
    """A tester added "Reviewed" to the status filter: the kept picker still showed the old #1 while "Open"
    opened the new #1, another patient. Each listing now has its own picker, starting at its own #1."""
    _, waiting = submitted(database, age=timedelta(days=1), p=0.6)
    reviewed_id, reviewed = submitted(database, age=timedelta(days=9), p=0.4)
    with database.begin() as s:
        claim(s, reviewed_id, clinician)
        record_review(s, reviewed_id, clinician, "psoriasis")
    sign_in(at)
    before = queue_picker(at)
    assert before.options and before.value == waiting
    at.multiselect(key="q_status").select("reviewed").run()
    assert_clean(at)
    after = queue_picker(at)
    assert after.key != before.key
    first = at.dataframe[0].value["Consultation"].iloc[0]
    assert after.value == first and after.index == 0
    assert {waiting, reviewed} == set(at.dataframe[0].value["Consultation"])
    at.button(key="q_open").click().run()
    assert at.session_state["review_public_id"] == first
