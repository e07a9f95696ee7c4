"""Clinician pages: sign-in (lock-out, idle timeout, demo account, OIDC), the queue and the review form."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from db.audit import list_events
from db.errors import SIGN_IN_FAILED
from db.models import Consultation, Review, Status, User
from db.users import get_clinician
from pages import _resources as res
from tests.app.conftest import PASSWORD, assert_clean, seed_consultation, queue_picker, sign_in, texts


def open_review(at, public_id: str):
    """What the queue's Open button does; AppTest then stays on the page it was last switched to."""
    at.switch_page("pages/queue.py").run()
    queue_picker(at).select(public_id)
    at.button(key="q_open").click().run()
    assert at.title[0].value == f"Consultation {public_id}"
    return at.switch_page("pages/review.py")


def fill_review(at, public_id: str, diagnosis: str, notes: str = "", agrees: str | None = None):
    at.radio(key=f"rv_diagnosis_{public_id}").set_value(diagnosis)
    at.text_area(key=f"rv_notes_{public_id}").input(notes)
    if diagnosis == "other":
        at.text_input(key=f"rv_other_{public_id}").input("Tinea corporis")
    if agrees:
        at.radio(key=f"rv_agrees_{public_id}").set_value(agrees)
    return at


# --- sign-in ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", ["pages/queue.py", "pages/review.py"])
def test_clinician_pages_need_sign_in(at, page):
    at.switch_page(page).run()
    assert_clean(at)
    assert texts(at.subheader) == ["Clinician sign-in"]
    assert not at.dataframe and not at.title
    assert any("python -m db create-user NAME" in i for i in texts(at.info))  # fresh start: no account yet


def test_wrong_password_then_lock_out(at, clinician, database):
    sign_in(at, password="wrong password!")
    assert texts(at.error) == [SIGN_IN_FAILED]
    for _ in range(5):  # an unknown name never locks ...
        sign_in(at, username="nobody")
    unknown_name = texts(at.error)
    for _ in range(4):
        sign_in(at, password="wrong password!")
    assert texts(at.error) == unknown_name == [SIGN_IN_FAILED]  # ... so a locked one must read the same
    sign_in(at)  # even the right password waits for the lock to expire
    assert texts(at.error) == [SIGN_IN_FAILED]
    assert not at.dataframe
    with database.session() as session:
        reasons = [e.detail["reason"] for e in list_events(session, action="user.login_failed")]
    assert reasons[-2:] == ["locked_now", "locked"]  # the audit trail knows why


def test_idle_session_times_out(at, clinician, database, monkeypatch):
    seed_consultation(database)
    sign_in(at)
    assert at.title[0].value == "Review queue"
    at.session_state["auth_session"].last_seen = time.monotonic() - 31 * 60
    at.run()
    assert texts(at.subheader) == ["Clinician sign-in"]
    assert any("signed out after 30 minutes" in i for i in texts(at.info))


def test_demo_account_only_in_demo_mode(app_env, monkeypatch):
    with res.get_database().begin() as session:
        assert get_clinician(session, res.DEMO_USERNAME) is None
    res._open_database.clear()
    monkeypatch.setenv("SCALPSCOPE_DEMO", "1")
    database = res.get_database()
    with database.begin() as session:
        res.ensure_demo_clinician(session)  # idempotent
        users = list(session.scalars(select(User)))
    assert [(u.username, u.is_demo, u.role) for u in users] == [("demo", True, "dermatologist")]


def test_demo_sign_in_hint_and_sign_out(app_env, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import APP

    monkeypatch.setenv("SCALPSCOPE_DEMO", "1")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page("pages/queue.py").run()
    assert any(res.DEMO_PASSWORD in i for i in texts(at.info))
    sign_in(at, res.DEMO_USERNAME, res.DEMO_PASSWORD)
    assert at.title[0].value == "Review queue"
    assert any("Signed in as **demo**" in c for c in texts(at.sidebar.caption)), texts(at.sidebar.caption)
    at.sidebar.button(key="sign_out").click().run()
    assert texts(at.subheader) == ["Clinician sign-in"]


def test_no_single_sign_on_without_auth_secrets(at, clinician):
    at.switch_page("pages/queue.py").run()
    assert "sign_in_oidc" not in [b.key for b in at.button]


def test_single_sign_on_maps_to_a_clinician(at, clinician, database):
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "id", "client_secret": "secret",
                          "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}
    at.user = {"is_logged_in": False}
    at.switch_page("pages/queue.py").run()
    assert "sign_in_oidc" in [b.key for b in at.button]
    at.user = {"is_logged_in": True, "preferred_username": "someone.else", "email": "x@example.org"}
    at.run()
    assert any("not linked to a ScalpScope clinician account" in e for e in texts(at.error))
    at.user = {"is_logged_in": True, "preferred_username": "dr.who", "email": "who@example.org"}
    at.run()
    assert_clean(at)
    assert at.title[0].value == "Review queue"
    with database.begin() as session:
        assert [e.detail for e in list_events(session, action="user.login")] == [{"method": "oidc"}]


# --- queue --------------------------------------------------------------------------------------------
def test_queue_orders_by_priority_and_filters(at, clinician, database):
    calm, _ = seed_consultation(database, p=0.9)
    unsure, _ = seed_consultation(database, p=0.55, uncertain=True)
    odd, _ = seed_consultation(database, p=0.2, out_of_scope=True)
    sign_in(at)
    assert_clean(at)
    assert [m.value for m in at.metric][:2] == ["3", "0"]
    assert list(at.dataframe[0].value["Consultation"]) == [odd, unsure, calm]
    at.toggle(key="q_uncertain").set_value(True).run()
    assert list(at.dataframe[0].value["Consultation"]) == [unsure]
    at.toggle(key="q_uncertain").set_value(False)
    at.toggle(key="q_out_of_scope").set_value(True).run()
    assert list(at.dataframe[0].value["Consultation"]) == [odd]
    at.toggle(key="q_out_of_scope").set_value(False)
    at.selectbox(key="q_wait").select("1 day").run()
    assert not at.dataframe and any("Nothing in the queue" in i for i in texts(at.info))


def test_queue_pages_through_long_queues(at, clinician, database):
    for _ in range(27):
        seed_consultation(database)
    sign_in(at)
    assert len(at.dataframe[0].value) == 25
    at.button(key="q_more").click().run()
    assert list(at.dataframe[0].value["#"]) == [26, 27]
    at.button(key="q_first").click().run()
    assert len(at.dataframe[0].value) == 25


# --- review -------------------------------------------------------------------------------------------
def test_review_shows_photos_ai_output_history_and_saves(at, clinician, database):
    first, code = seed_consultation(database, p=0.91, images=2, free_text="[click](https://evil.example)")
    second, _ = seed_consultation(database, p=0.3)
    sign_in(at)
    open_review(at, first).run()
    assert_clean(at)
    assert len(at.image) == 2 and sum("Psoriasis about 90%" in m and "referral threshold 50%" in m for m in texts(at.markdown)) == 2
    assert any("threshold 0.50" in c and "seed-1" in c for c in texts(at.caption))
    assert texts(at.text)[0] == "[click](https://evil.example)"  # patient text is never Markdown
    for position in (0, 1):  # each photo has its own map toggle
        at.toggle(key=f"rv_map_{first}_{position}").set_value(True).run()
    assert_clean(at)
    assert [c for image in at.image for c in image.captions] == [
        "Photo 1 · 64×48 px · attention map", "Photo 2 · 64×48 px · attention map"]

    at.button(key=f"FormSubmitter:review_{first}-Save and next").click().run()
    assert texts(at.error) == ["Choose a diagnosis before saving."]

    fill_review(at, first, "psoriasis", "Psoriasis. Use the prescribed shampoo.", "yes")
    at.button(key=f"FormSubmitter:review_{first}-Save and next").click().run()
    assert_clean(at)
    assert texts(at.success) == [f"Review of {first} saved."]
    assert at.title[0].value == f"Consultation {second}"  # the next waiting one

    with database.begin() as session:
        consultation = session.scalar(select(Consultation).where(Consultation.public_id == first))
        assert consultation.status == Status.REVIEWED
        review = session.scalar(select(Review))
        assert (review.diagnosis, review.agrees_with_ai) == ("psoriasis", True)
        actions = [e.action for e in list_events(session, consultation_id=consultation.id)]
    assert actions == ["consultation.submit", "consultation.view", "consultation.claim", "consultation.review"]


def test_reviewed_consultation_is_read_only(at, clinician, database):
    public_id, _ = seed_consultation(database)
    sign_in(at)
    open_review(at, public_id).run()
    fill_review(at, public_id, "other", "Tinea; see your doctor.")
    at.button(key=f"FormSubmitter:review_{public_id}-Save").click().run()
    assert_clean(at)
    assert any("has been reviewed" in i for i in texts(at.info))
    assert not at.get("form") or f"rv_diagnosis_{public_id}" not in [r.key for r in at.radio]
    assert "Tinea; see your doctor." in texts(at.text)


def test_review_claimed_by_someone_else(at, clinician, database):
    from db.consultations import claim
    from db.users import create_user

    public_id, _ = seed_consultation(database)
    with database.begin() as session:
        other = create_user(session, "dr.other", PASSWORD)
        claim(session, session.scalar(select(Consultation.id)), other)
    sign_in(at)
    open_review(at, public_id).run()
    assert any("dr.other is reviewing" in w for w in texts(at.warning))
    assert f"rv_diagnosis_{public_id}" not in [r.key for r in at.radio]


def test_queue_turnaround_chart_once_reviews_exist(at, clinician, database):
    from db.consultations import claim, record_review

    sign_in(at)
    assert any("No consultation has been reviewed yet" in c for c in texts(at.caption))
    seed_consultation(database)
    with database.begin() as session:
        consultation_id = session.scalar(select(Consultation.id))
        claim(session, consultation_id, clinician)
        record_review(session, consultation_id, clinician, "psoriasis")
    res._turnaround.clear()  # figures are cached for a minute
    at.run()
    assert_clean(at)
    # the queue's turnaround chart (by submission window); the figures section below has charts of its own
    specs = [chart.proto.spec for chart in at.get("vega_lite_chart")]
    assert sum('"window"' in spec for spec in specs) == 1
    assert [m.value for m in at.metric][2] == "1"  # reviewed
