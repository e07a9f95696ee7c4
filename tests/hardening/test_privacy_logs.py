"""Logs carry no patient data: no access code, no history or notes, no password, no photo metadata.

Once in-process (every logger captured, ScalpScope's own at DEBUG) while AppTest walks the whole flow,
and once in a real server's stderr while Chromium looks a code up and a clinician signs in (wrongly,
then rightly) and opens a consultation. Stored photos without EXIF/GPS: ``test_hostile_app.py``.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from db.consultations import claim, record_review
from db.engine import Database
from db.errors import SIGN_IN_FAILED
from db.models import Consultation
from db.users import create_user
from tests.app.conftest import PASSWORD, assert_clean, seed_consultation, shown_access_code, sign_in
from tests.hostile import _gps_jpeg
from tests.app.browser import ARTIFACTS, launch_chromium, require_chromium, streamlit_server

FREE_TEXT = "History: started after chemotherapy at St Elsewhere"
TREATMENT = "Ketoconazole 2% from Dr Nick"
NOTES = "Notes: scalp psoriasis, see you on 3 March"
WRONG_PASSWORD = "Wrong-Password-Typed-By-Mistake-42"
OUR_LOGGERS = ("scalpscope", "db", "scalp_model", "pages")


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.records.append(f"{record.name} {record.levelname} {text}")


@pytest.fixture
def every_log() -> Iterator[Collect]:
    """A handler on the root logger and on Streamlit's (which does not propagate); ours at DEBUG."""
    handler = Collect()
    loggers = [logging.getLogger(), logging.getLogger("streamlit")]
    levels = {name: logging.getLogger(name).level for name in OUR_LOGGERS}
    for logger in loggers:
        logger.addHandler(handler)
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def leaks(text: str, code: str) -> list[str]:
    private = [code, code.replace("-", ""), FREE_TEXT, TREATMENT, NOTES, PASSWORD, WRONG_PASSWORD, "HostileTestCamera"]
    return [p for p in private if p and p in text]


def test_app_logs_carry_no_patient_data(at, clinician, database, every_log) -> None:
    from tests.app.test_clinician import fill_review, open_review
    from tests.app.test_my_consultation import look_up

    at.switch_page("pages/new_consultation.py").run()
    at.checkbox(key="nc_consent").check()
    at.text_input(key="nc_treatment").input(TREATMENT)
    at.text_area(key="nc_text").input(FREE_TEXT)
    at.file_uploader(key="nc_files").set_value([("gps.jpg", _gps_jpeg(), "image/jpeg"),
                                                ("bad.jpg", b"not a photo", "image/jpeg")])
    at.run()  # one refused photo: an error is shown (and logged)
    at.file_uploader(key="nc_files").set_value([("gps.jpg", _gps_jpeg(), "image/jpeg")])
    at.run()
    at.button(key="nc_submit").click().run()  # the real predictor
    assert_clean(at)
    code = shown_access_code(at)
    sign_in(at, password=WRONG_PASSWORD)
    sign_in(at, username=WRONG_PASSWORD, password=PASSWORD)
    sign_in(at)
    with database.session() as session:
        public_id = session.scalar(select(Consultation.public_id))
    open_review(at, public_id).run()
    fill_review(at, public_id, "psoriasis", NOTES, "yes")
    at.button(key=f"FormSubmitter:review_{public_id}-Save").click().run()
    look_up(at, code)
    assert NOTES in [t.value for t in at.text]
    logged = "\n".join(every_log.records)
    assert every_log.records, "nothing was logged: the capture is broken"
    assert any("InvalidImageError" in r for r in every_log.records)  # errors are logged, by name only
    assert not leaks(logged, code), leaks(logged, code)


# --- a real server's stderr -------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(300)
def test_server_stderr_carries_no_patient_data(tmp_path: Path, tiny_checkpoint: Path) -> None:
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    url = f"sqlite:///{tmp_path / 'privacy.db'}"
    database = Database.from_url(url)
    database.migrate()
    with database.begin() as session:
        doctor = create_user(session, "dr.who", PASSWORD)
    _, code = seed_consultation(database, free_text=FREE_TEXT)
    seed_consultation(database, free_text=FREE_TEXT)  # stays open for the queue
    with database.begin() as session:
        first = session.scalar(select(Consultation.id).order_by(Consultation.id))
        claim(session, first, doctor)
        record_review(session, first, doctor, "psoriasis", NOTES)
    database.dispose()

    env = {"DATABASE_URL": url, "SCALPSCOPE_WEIGHTS": str(tiny_checkpoint), "SCALPSCOPE_DEVICE": "cpu"}
    with streamlit_server(env, "privacy-server.log") as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            expect.set_options(timeout=45_000)
            patient = browser.new_context().new_page()
            patient.set_default_timeout(45_000)
            patient.goto(f"{server}/my_consultation")
            patient.get_by_label("Access code").fill(code)
            patient.get_by_role("button", name="Show my consultation").click()
            expect(patient.get_by_text(NOTES)).to_be_visible()

            clinician = browser.new_context().new_page()
            clinician.set_default_timeout(45_000)
            clinician.goto(f"{server}/queue")
            for password in (WRONG_PASSWORD, PASSWORD):
                clinician.get_by_label("Username").fill("dr.who")
                clinician.get_by_label("Password", exact=True).fill(password)
                clinician.get_by_role("button", name="Sign in", exact=True).click()
                if password == WRONG_PASSWORD:
                    expect(clinician.get_by_text(SIGN_IN_FAILED)).to_be_visible()
            expect(clinician.get_by_role("heading", name="Review queue")).to_be_visible()
            clinician.get_by_role("button", name="Review next").click()
            expect(clinician.get_by_text(FREE_TEXT)).to_be_visible()
        finally:
            browser.close()
    logged = (ARTIFACTS / "privacy-server.log").read_text(errors="replace")
    assert re.search(r"127\.0\.0\.1:\d+", logged)  # the server's own output was captured
    assert not leaks(logged, code), leaks(logged, code)
