"""Kind 4, data layer: every display of patient data is one audit event with who, what, when and where.

A reader-study case shows a consultation's photo (``consultation.view``); a code look-up records the client
and a reference to its browser session; creating a study records the folder or the consultations it used.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from db import audit
from db.audit import Origin, list_events
from db.consultations import claim, lookup_by_code, record_review, submit_consultation
from db.models import Consultation
from db.reader_study import create_study, next_step, record_folder_refused, record_reading
from db.users import record_sign_out
from tests.db.builders import HISTORY, new_image, new_prediction
from tests.db.conftest import (  # noqa: F401  (fixtures)
    _fast_password_hashing,
    _migrated,
    clinicians,
    database,
    postgres_server,
)
from tests.reader.builders import new_cases

BROWSER = Origin(client="203.0.113.7", session="0123456789abcdef")


@pytest.fixture
def from_browser() -> Iterator[Origin]:
    """Events are recorded as if for a request from BROWSER (what the app registers for real requests)."""
    previous = audit._origin_provider
    audit.set_origin_provider(lambda: BROWSER)
    yield BROWSER
    audit.set_origin_provider(previous)


def reviewed(database, alice, diagnosis: str) -> Consultation:
    with database.begin() as s:
        consultation, _ = submit_consultation(s, HISTORY, "v1", [new_image()], [new_prediction()])
        claim(s, consultation.id, alice)
        record_review(s, consultation.id, alice, diagnosis)
    return consultation


def test_a_case_from_a_consultation_is_a_consultation_view(database, clinicians, from_browser) -> None:
    alice, bob, root = clinicians
    pso, seb = reviewed(database, alice, "psoriasis"), reviewed(database, alice, "seborrheic_dermatitis")
    cases = new_cases(["psoriasis", "seborrheic_dermatitis"])
    cases = [replace(cases[0], source_ref=f"consultation:{pso.public_id}"),
             replace(cases[1], source_ref=f"consultation:{seb.public_id}")]
    with database.begin() as s:
        study = create_study(s, root, "pilot", cases, [bob.id], source="consultations", model_version="m",
                             model_sha256="0" * 64, threshold=0.5, seed=2)
    with database.begin() as s:
        case = next_step(s, study.id, bob).case
    with database.session() as s:
        views = list_events(s, action="consultation.view") + list_events(s, action="study.case_view")
    assert len(views) == 1, "one event for the one case shown"
    event = views[0]
    assert event.actor == "clinician:bob" and event.detail["case_id"] == case.case_id
    assert event.detail["via"] == "reader_study" and event.detail["pass"] == 1
    assert (event.detail["client"], event.detail["session"]) == (BROWSER.client, BROWSER.session)
    assert event.action == "consultation.view" and event.consultation_id in {pso.id, seb.id}


def test_every_case_view_is_audited(database, clinicians) -> None:
    alice, bob, root = clinicians
    pso = reviewed(database, alice, "psoriasis")
    cases = new_cases(["psoriasis", "seborrheic_dermatitis"])
    cases = [replace(cases[0], source_ref=f"consultation:{pso.public_id}"), cases[1]]
    with database.begin() as s:
        study = create_study(s, root, "pilot", cases, [bob.id], source="consultations", model_version="m",
                             model_sha256="0" * 64, threshold=0.5, seed=2)
    shown = []
    for _ in cases:
        with database.begin() as s:
            case = next_step(s, study.id, bob).case
            shown.append(case.case_id)
            record_reading(s, study.id, bob, case.case_id, 1, "psoriasis", 3)
    with database.session() as s:
        consultation_views = list_events(s, action="consultation.view")
        folder_views = list_events(s, action="study.case_view")
    assert [e.consultation_id for e in consultation_views] == [pso.id]
    assert len(folder_views) == 1 and folder_views[0].consultation_id is None
    assert sorted(e.detail["case_id"] for e in consultation_views + folder_views) == sorted(shown)


def test_code_look_up_records_client_and_session(database, from_browser) -> None:
    with database.begin() as s:
        consultation, code = submit_consultation(s, HISTORY, "v1", [new_image()], [new_prediction()])
    with database.begin() as s:
        assert lookup_by_code(s, code) is not None
        assert lookup_by_code(s, "0000-0000-0000-0000-0000-0000-0000") is None
    with database.session() as s:
        events = list_events(s, action="patient.lookup")
    assert [(e.consultation_id, e.detail) for e in events] == [
        (consultation.id, {"found": True, "client": BROWSER.client, "session": BROWSER.session}),
        (None, {"found": False, "client": BROWSER.client, "session": BROWSER.session}),
    ]
    assert code.replace("-", "") not in str([e.detail for e in events])


def test_study_creation_records_its_sources(database, clinicians) -> None:
    alice, bob, root = clinicians
    pso, seb = reviewed(database, alice, "psoriasis"), reviewed(database, alice, "seborrheic_dermatitis")
    cases = new_cases(["psoriasis", "seborrheic_dermatitis"])
    from_consultations = [replace(cases[0], source_ref=f"consultation:{pso.public_id}"),
                          replace(cases[1], source_ref=f"consultation:{seb.public_id}")]
    with database.begin() as s:
        create_study(s, root, "queue", from_consultations, [bob.id], source="consultations", model_version="m",
                     model_sha256="0" * 64, threshold=0.5)
        create_study(s, root, "atlas", cases, [bob.id], source="folder", model_version="m", model_sha256="0" * 64,
                     threshold=0.5, folder="/srv/studies/atlas")
        record_folder_refused(s, root, "/etc\x00")
    with database.session() as s:
        created = {e.detail["name"]: e.detail for e in list_events(s, action="study.create")}
        refused = list_events(s, action="study.folder_refused")
    assert sorted(created["queue"]["consultations"]) == sorted([pso.public_id, seb.public_id])
    assert created["queue"]["folder"] is None
    assert created["atlas"]["folder"] == "/srv/studies/atlas" and created["atlas"]["consultations"] == []
    assert [(e.actor, e.detail["folder"]) for e in refused] == [("clinician:root", "/etc?")]


def test_sign_out_reasons_are_audited(database, clinicians) -> None:
    alice = clinicians[0]
    with database.begin() as s:
        for reason in ("sign_out", "timeout", "client_mismatch"):
            record_sign_out(s, alice, reason)
    with database.session() as s:
        assert [e.detail["reason"] for e in list_events(s, action="user.logout")] == [
            "sign_out", "timeout", "client_mismatch"]
