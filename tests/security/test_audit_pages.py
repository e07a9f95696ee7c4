"""Kind 4, through the pages: sign-out and time-out leave an event; the queue listing, a review and a
reader-study case are audited with the browser's client and session reference."""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import select

from db import audit
from db.audit import Origin, list_events
from db.consultations import claim, record_review
from db.models import Consultation
from db.reader_study import create_study
from db.users import create_user
from pages import _browser
from tests.app.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    _fast_password_hashing,
    _navigation_mode,
    app_env,
    assert_clean,
    at,
    clinician,
    database,
    seed_consultation,
    sign_in,
    texts,
)
from tests.reader.builders import new_cases

BROWSER = Origin(client="198.51.100.4", session="fedcba9876543210")


@pytest.fixture
def from_browser() -> Iterator[Origin]:
    """Pages run as for a browser at BROWSER (AppTest itself has no client connection)."""
    audit.set_origin_provider(lambda: BROWSER)
    yield BROWSER
    audit.set_origin_provider(_browser.request_origin)


def events(database, action: str):
    with database.session() as s:
        return list_events(s, action=action)


def test_sign_out_and_time_out_are_audited(at, clinician, database, from_browser) -> None:
    sign_in(at)
    assert at.title[0].value == "Review queue"
    at.sidebar.button(key="sign_out").click().run()
    assert texts(at.subheader) == ["Clinician sign-in"]
    sign_in(at)
    at.session_state["auth_session"].last_seen = time.monotonic() - 31 * 60
    at.run()
    assert texts(at.subheader) == ["Clinician sign-in"]
    logouts = events(database, "user.logout")
    assert [(e.actor, e.detail) for e in logouts] == [
        ("clinician:dr.who", {"reason": "sign_out", **BROWSER.detail()}),
        ("clinician:dr.who", {"reason": "timeout", **BROWSER.detail()}),
    ]
    assert all(e.detail["client"] == BROWSER.client for e in events(database, "user.login"))


def test_sign_out_ends_the_server_state(at, clinician, database) -> None:
    public_id, _ = seed_consultation(database)
    sign_in(at)
    at.session_state["review_public_id"] = public_id
    at.switch_page("pages/review.py").run()
    assert at.session_state["review_loaded"].public_id == public_id
    at.sidebar.button(key="sign_out").click().run()
    assert "review_loaded" not in at.session_state and "review_public_id" not in at.session_state
    assert "auth_session" not in at.session_state


def test_queue_review_and_reader_case_views_carry_where_from(at, database, from_browser) -> None:
    with database.begin() as s:
        root = create_user(s, "dr.who", PASSWORD, "admin")
    public_id, _ = seed_consultation(database)
    with database.begin() as s:
        consultation_id = s.scalar(select(Consultation.id).where(Consultation.public_id == public_id))
        claim(s, consultation_id, root)
        record_review(s, consultation_id, root, "psoriasis")
        cases = new_cases(["psoriasis", "seborrheic_dermatitis"])
        cases[0] = replace(cases[0], source_ref=f"consultation:{public_id}")
        create_study(s, root, "pilot", cases, [root.id], source="consultations", model_version="m",
                     model_sha256="0" * 64, threshold=0.5, seed=4)
    sign_in(at)
    at.session_state["review_public_id"] = public_id
    at.switch_page("pages/review.py").run()
    at.switch_page("pages/reader_study.py").run()
    assert_clean(at)
    queue_views = events(database, "queue.view")
    views = events(database, "consultation.view") + events(database, "study.case_view")
    assert queue_views and all(e.detail["client"] == BROWSER.client for e in queue_views)
    assert {e.detail.get("via") for e in views} == {None, "reader_study"}  # the review, then the case
    assert all(e.detail["session"] == BROWSER.session for e in views)
