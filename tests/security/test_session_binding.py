"""Kind 3 without a server: a session is bound to the browser's HttpOnly cookie on every run; a run from
another browser (or one without the cookie) gets nothing; session ids are kept out of the log. The same
attack over a raw websocket against a real server is in test_live.py."""
from __future__ import annotations

import logging
import uuid

import pytest

from db.audit import list_events
from pages import _browser
from security.client import binding_of, client_address, same_browser, session_reference
from security.logs import install_session_id_filter, redact
from tests.app.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    _fast_password_hashing,
    _navigation_mode,
    app_env,
    assert_clean,
    at,
    clinician,
    database,
    fake_predictor,
    seed_consultation,
    shown_access_code,
    sign_in,
    texts,
)
from tests.factories import image_bytes


@pytest.fixture
def browser(monkeypatch) -> dict:
    """Which cookie the 'browser' of the next AppTest run shows (AppTest has no client connection)."""
    current = {"cookie": "victim-cookie-" + "v" * 40}
    monkeypatch.setattr(_browser, "browser_binding", lambda: binding_of(current["cookie"]))
    return current


def test_a_signed_in_session_reached_from_another_browser_is_emptied(at, clinician, database, browser) -> None:
    public_id, _ = seed_consultation(database)
    sign_in(at)
    assert at.title[0].value == "Review queue"
    browser["cookie"] = "attacker-cookie-" + "a" * 40  # the same session id, another browser
    at.switch_page("pages/queue.py").run()
    assert_clean(at)
    assert texts(at.subheader) == ["Clinician sign-in"] and not at.dataframe
    assert "auth_session" not in at.session_state
    with database.session() as s:
        assert [e.detail["reason"] for e in list_events(s, action="user.logout")] == ["client_mismatch"]
    browser["cookie"] = "victim-cookie-" + "v" * 40  # the owner coming back finds a signed-out session
    at.switch_page("pages/queue.py").run()
    assert texts(at.subheader) == ["Clinician sign-in"]


def test_a_patients_result_stays_with_its_browser(at, fake_predictor, browser) -> None:
    at.switch_page("pages/new_consultation.py").run()
    at.checkbox(key="nc_consent").check()
    at.file_uploader(key="nc_files").set_value([("scalp.jpg", image_bytes("JPEG", seed=3), "image/jpeg")])
    at.run()
    at.button(key="nc_submit").click().run()
    code = shown_access_code(at)
    assert code
    at.run()
    assert shown_access_code(at) == code  # the same browser sees it again
    browser["cookie"] = "attacker-cookie-" + "a" * 40
    at.run()
    assert_clean(at)
    assert shown_access_code(at) is None and "nc_result" not in at.session_state
    assert not [key for key in at.session_state if code in str(at.session_state[key])]


def test_without_the_cookie_there_is_no_sign_in_and_no_submission(at, clinician, browser) -> None:
    browser["cookie"] = None  # a browser that refuses cookies (or an app not started through serve.py)
    at.switch_page("pages/queue.py").run()
    assert texts(at.error) == [_browser.COOKIE_MISSING]
    assert not at.text_input  # no sign-in form
    at.switch_page("pages/new_consultation.py").run()
    assert texts(at.error) == [_browser.COOKIE_MISSING] and not at.file_uploader


def test_binding_helpers() -> None:
    secret = "s" * 43
    assert binding_of(None) is None and secret not in binding_of(secret)
    assert same_browser(binding_of(secret), secret) and not same_browser(binding_of(secret), "t" * 43)
    assert not same_browser(None, secret) and not same_browser(binding_of(secret), None)
    session = str(uuid.uuid4())
    assert len(session_reference(session)) == 16 and session not in session_reference(session)
    assert client_address("203.0.113.9", {"X-Real-IP": "10.0.0.1"}) == "203.0.113.9"  # a direct client
    assert client_address(None, {"X-Real-IP": "198.51.100.2"}) == "198.51.100.2"  # via the local proxy
    assert client_address(None, {"X-Real-IP": "not an address"}) == "127.0.0.1"


def test_session_ids_are_redacted_from_streamlit_logs(caplog) -> None:
    install_session_id_filter()
    session = str(uuid.uuid4())
    with caplog.at_level(logging.WARNING):
        logging.getLogger("streamlit.runtime.websocket_session_manager").warning(
            "Session with id %s is already connected! Reconnecting to existing session.", session)
        logging.getLogger("scalpscope.app").warning("not a Streamlit record %s", "kept")
    assert session not in caplog.text and "Session with id <id> is already connected" in caplog.text
    assert redact(f"/_stcore/upload_file/{session}/{uuid.uuid4()}") == "/_stcore/upload_file/<id>/<id>"


def test_a_remembered_sign_in_is_bound_to_agent_and_address() -> None:
    """security.client.fingerprint: what a sign-in kept across reloads is bound to besides the cookie."""
    from security.client import fingerprint

    laptop = fingerprint("Mozilla/5.0 (X11) Chrome/131", "198.51.100.2")
    assert laptop == fingerprint("Mozilla/5.0 (X11) Chrome/131", "198.51.100.2") and len(laptop) == 64
    assert laptop != fingerprint("curl/8.5", "198.51.100.2") and laptop != fingerprint("Mozilla/5.0 (X11) Chrome/131",
                                                                                        "203.0.113.9")
    assert "198.51.100.2" not in laptop
