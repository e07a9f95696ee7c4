"""A page reload keeps the patient's result and the clinician's sign-in, for that browser only (issue 18,
items 4 and 5).

A reload opens a new Streamlit session: here a new ``AppTest`` whose "browser" shows the same cookie
(``_browser.browser_binding`` patched, as in tests/security/test_session_binding.py). The same walk in Chromium,
with real cookies, is in tests/app/test_browser_walks.py.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from db.audit import list_events
from pages import _browser
from security import remembered
from security.client import binding_of
from testing.pages import pdf_lines
from tests.app.conftest import APP, assert_clean, seed_consultation, shown_access_code, sign_in, texts
from tests.app.test_new_consultation import add_photos, jpeg, open_page, submit

OWNER = "owner-cookie-" + "o" * 40


@pytest.fixture
def browser(monkeypatch) -> dict:
    """Which cookie and which user agent/address the 'browser' of the next AppTest run shows."""
    current = {"cookie": OWNER, "fingerprint": "owner-laptop"}
    monkeypatch.setattr(_browser, "browser_binding", lambda: binding_of(current["cookie"]))
    monkeypatch.setattr(_browser, "browser_fingerprint", lambda: current["fingerprint"], raising=False)
    return current


def reload(page: str = "pages/new_consultation.py") -> AppTest:
    """The same browser after a reload: a new session on ``page``."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    return at.switch_page(page).run()


class Clock:
    """time.monotonic as seen by pages._auth and security.remembered, moved by hand."""

    def __init__(self) -> None:
        self.now = 10_000.0

    def monotonic(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("pages._auth.time", SimpleNamespace(monotonic=clock.monotonic))
    monkeypatch.setattr("security.remembered.time", SimpleNamespace(monotonic=clock.monotonic))
    return clock


# --- item 4: the patient's result ------------------------------------------------------------------------------
def test_the_result_page_survives_a_reload_in_the_same_browser_only(at, fake_predictor, browser, clock) -> None:
    open_page(at)
    add_photos(at, jpeg())
    submit(at)
    code = shown_access_code(at)
    assert code and fake_predictor.calls == 1

    again = reload()
    assert_clean(again)
    assert shown_access_code(again) == code  # on today's code: the empty form
    assert [d.proto.label for d in again.get("download_button")] == ["Download PDF summary"]
    assert again.session_state["nc_result"]["pdf"] == at.session_state["nc_result"]["pdf"]  # not made twice
    assert fake_predictor.calls == 1 and again.subheader and "Photo 1" in texts(again.subheader)

    browser["cookie"] = "another-cookie-" + "a" * 40  # another browser, with the same page open
    stranger = reload()
    assert shown_access_code(stranger) is None and "nc_result" not in stranger.session_state
    assert not [key for key in stranger.session_state if code in str(stranger.session_state[key])]

    browser["cookie"] = OWNER  # kept for a short while only
    clock.advance(remembered.RESULT_TTL_S / 60 + 1)
    assert shown_access_code(reload()) is None


def test_start_a_new_consultation_forgets_the_kept_result(at, fake_predictor, browser) -> None:
    open_page(at)
    add_photos(at, jpeg())
    submit(at)
    assert shown_access_code(at)
    at.button(key="nc_restart").click().run()
    assert shown_access_code(at) is None and at.file_uploader
    assert shown_access_code(reload()) is None


def test_without_a_browser_nothing_is_kept_on_the_server(at, fake_predictor) -> None:
    """AppTest sessions (no browser connection) all share one binding: they must never share a result."""
    open_page(at)
    add_photos(at, jpeg())
    submit(at)
    assert shown_access_code(at) and len(remembered.RESULTS) == 0
    assert shown_access_code(reload()) is None


def test_the_code_is_offered_in_the_pdf_before_anything_else_can_fail(at, fake_predictor, monkeypatch) -> None:
    """On today's code the download button was filled last, so a failure while drawing the estimates
    left the patient without the PDF; and the PDF began with its title, the code further down."""
    from pages import _report
    from pages import _views as views

    made = []
    real = _report.summary_pdf
    monkeypatch.setattr(_report, "summary_pdf", lambda **kwargs: made.append(real(**kwargs)) or made[-1])

    def broken(_prediction) -> None:
        raise RuntimeError("drawing the estimate failed")

    monkeypatch.setattr(views, "show_estimate", broken)
    open_page(at)
    add_photos(at, jpeg())
    submit(at)
    code = shown_access_code(at)
    assert code and at.exception  # the estimate failed ...
    assert [d.proto.label for d in at.get("download_button")] == ["Download PDF summary"]  # ... after the PDF
    assert pdf_lines(made[0])[0] == f"Access code: {code}"


def test_the_code_has_a_copy_button(at, fake_predictor) -> None:
    """st.code draws the code with Streamlit's copy-to-clipboard button (clicked in Chromium in
    tests/app/test_browser_walks.py); on today's code it was Markdown, without one."""
    open_page(at)
    add_photos(at, jpeg())
    submit(at)
    assert [block.value for block in at.code] == [shown_access_code(at)]


# --- item 5: the clinician's sign-in ----------------------------------------------------------------------------
def test_a_sign_in_survives_a_reload_with_the_timeout_and_the_audit_unchanged(at, clinician, database, browser,
                                                                              clock) -> None:
    seed_consultation(database)
    sign_in(at)
    assert at.title[0].value == "Review queue"

    clock.advance(20)
    again = reload("pages/queue.py")
    assert_clean(again)
    assert again.title[0].value == "Review queue"  # on today's code: the sign-in form
    with database.session() as s:
        assert len(list_events(s, action="user.login")) == 1  # a reload is not a new sign-in

    clock.advance(20)  # 40 minutes since the sign-in, 20 since the reload: activity in any tab counts
    at.run()
    assert at.title[0].value == "Review queue"
    clock.advance(31)  # the idle timeout (30 minutes) still applies across reloads
    later = reload("pages/queue.py")
    assert texts(later.subheader) == ["Clinician sign-in"]
    assert any("signed out after 30 minutes" in i for i in texts(later.info))
    with database.session() as s:
        assert [e.detail["reason"] for e in list_events(s, action="user.logout")] == ["timeout"]
    assert texts(reload("pages/queue.py").subheader) == ["Clinician sign-in"]


def test_sign_out_revokes_the_sign_in_for_every_tab_and_reload(at, clinician, database, browser) -> None:
    sign_in(at)
    other_tab = reload("pages/queue.py")
    assert other_tab.title[0].value == "Review queue"
    at.sidebar.button(key="sign_out").click().run()
    assert texts(reload("pages/queue.py").subheader) == ["Clinician sign-in"]
    other_tab.run()
    assert texts(other_tab.subheader) == ["Clinician sign-in"] and "auth_session" not in other_tab.session_state
    with database.session() as s:
        assert [e.detail["reason"] for e in list_events(s, action="user.logout")] == ["sign_out"]


def test_a_copied_cookie_in_another_client_opens_nothing_and_revokes(at, clinician, database, browser) -> None:
    sign_in(at)
    browser["fingerprint"] = "attackers-machine"  # the same cookie, another user agent or address
    thief = reload("pages/queue.py")
    assert texts(thief.subheader) == ["Clinician sign-in"] and "auth_session" not in thief.session_state
    browser["fingerprint"] = "owner-laptop"
    assert texts(reload("pages/queue.py").subheader) == ["Clinician sign-in"]  # revoked
    with database.session() as s:
        assert [e.detail["reason"] for e in list_events(s, action="user.logout")] == ["client_mismatch"]


def test_a_reload_during_the_save_waits_for_it_and_shows_the_code(at, fake_predictor, browser) -> None:
    """The old session's run, still saving when the page was reloaded, puts the result in the outbox the
    server keeps for this browser; the new session waits for it instead of showing an empty form."""
    import threading

    from pages import _draft as draft

    box = {draft.SAVING: True}
    remembered.RESULTS.put(binding_of(OWNER), box)

    def old_run_finishes() -> None:
        box["result"] = {"code": "7KQ2-M9XD-4TRB-0ZHV-N3WC-8PGF-6YJS", "analyses": [], "pdf_name": "summary.pdf",
                         "pdf": None}
        box.pop(draft.SAVING)

    timer = threading.Timer(3.0, old_run_finishes)  # longer than the new session's runs take
    timer.start()
    try:
        again = reload()
    finally:
        timer.cancel()
    assert shown_access_code(again) == "7KQ2-M9XD-4TRB-0ZHV-N3WC-8PGF-6YJS"
