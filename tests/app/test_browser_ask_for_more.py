"""Issue 19's walk of "Ask for more" in a real headless Chromium against ``streamlit run serve.py``: a stored
consultation (the submit itself is walked in test_browser_walks.py); the dermatologist asks for a closer photo
of the hairline; the patient, on a phone, sees the request with the code and sends a photo; the case is first
in the queue, ahead of one that waited longer; the dermatologist sees the round and records a diagnosis from
the extended list; the patient reads it; then (issue 19, item 2) the patient starts a follow-up with the same
code, says it got worse and sends a photo; the follow-up is first in the queue ("follow-up, worse"); the
dermatologist sees both consultations side by side and records the course; the patient reads it with the
follow-up's new code, and the first code still works. Screenshots: ``test-artifacts/ask-*.png``."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from clinic.accounts import DEMO_PASSWORD, DEMO_USERNAME
from sqlalchemy import select

from db.engine import Database
from db.models import Consultation
from testing.live import STEP_TIMEOUT_MS, chromium
from tests.app.browser import CLINICIAN_ENTRY, give_consent, settle, shoot, sign_in
from tests.app.conftest import seed_consultation
from tests.app.test_browser_walks import (  # noqa: F401  (app: the served app fixture)
    DESKTOP, FIRST_PREDICTION_MS, PHONE, app, look_up, open_menu_entry, shown_code)
from tests.factories import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


def pick(page, label: str, typed: str) -> None:
    """Add the option matching ``typed`` to the multiselect labelled ``label``, and wait until its chip shows
    (under load a second pick typed during the first pick's rerun was lost, and the request went without it)."""
    from playwright.sync_api import expect

    box = page.get_by_test_id("stMultiSelect").filter(has_text=label)
    chips = box.locator('[data-testid="stMultiSelectTagsContainer"] [data-tag]')
    before = chips.count()
    for _attempt in range(3):  # a pick typed while the page is still rerunning can be dropped: type it again
        box.locator("input").click()
        page.keyboard.press("ControlOrMeta+a")  # whatever a dropped attempt left in the search box goes
        page.keyboard.type(typed)
        page.keyboard.press("Enter")
        try:
            expect(chips).to_have_count(before + 1, timeout=10_000)
            return
        except AssertionError:
            page.keyboard.press("Escape")
            settle(page)
    expect(chips).to_have_count(before + 1)


def click_row(page, row: int) -> None:
    box = page.locator('[data-testid="stDataFrame"]').bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17 + 35 * row)  # rows of 35 px below the header


def test_walk_of_a_request_for_more(app, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    url, database_url = app
    photo = tmp_path / "hairline.jpg"
    photo.write_bytes(image_bytes("JPEG", 640, 480, seed=5))
    later_photo = tmp_path / "three-months-later.jpg"
    later_photo.write_bytes(image_bytes("JPEG", 640, 480, seed=9))
    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with chromium() as browser:
        clinician = browser.new_context(viewport=DESKTOP).new_page()
        clinician.set_default_timeout(STEP_TIMEOUT_MS)
        clinician.goto(url)
        open_menu_entry(clinician, CLINICIAN_ENTRY)
        sign_in(clinician, DEMO_USERNAME, DEMO_PASSWORD)
        expect(clinician.get_by_role("heading", name="Review queue")).to_be_visible()
        database = Database.from_url(database_url)
        try:
            older, _ = seed_consultation(database, p=0.3)
            public_id, code = seed_consultation(database, p=0.8)
        finally:
            database.engine.dispose()
        clinician.reload()
        expect(clinician.locator('[data-testid="stDataFrame"]')).to_be_visible()
        settle(clinician)
        click_row(clinician, 1)  # the second row: the newer case
        expect(clinician.get_by_role("heading", name=f"Consultation {public_id}")).to_be_visible()
        clinician.get_by_text("Ask the patient for more information").click()
        pick(clinician, "What is needed", "closer")
        pick(clinician, "What is needed", "hairline")
        clinician.keyboard.press("Escape")  # the options list closes
        shoot(clinician, "ask-00-request-form")
        clinician.get_by_test_id("stTextArea").filter(has_text="Message to the patient").locator("textarea").fill(
            "A closer photo of your hairline, please.")
        clinician.get_by_role("button", name="Send the request").click()
        expect(clinician.get_by_text(re.compile("Request 1 sent"))).to_be_visible()
        shoot(clinician, "ask-01-requested")

        patient = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
        patient.set_default_timeout(STEP_TIMEOUT_MS)
        patient.goto(url)
        look_up(patient, code)
        expect(patient.get_by_text("The dermatologist needs more information from you")).to_be_visible()
        expect(patient.get_by_text("a photo of your hairline")).to_be_visible()
        patient.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(photo)
        patient.get_by_test_id("stTextArea").filter(has_text="Your answer").locator("textarea").fill(
            "Here is the hairline.")
        patient.get_by_role("button", name="Send my answer").click()
        expect(patient.get_by_text(re.compile("reached the dermatologist"))).to_be_visible(timeout=FIRST_PREDICTION_MS)
        shoot(patient, "ask-02-answered")

        open_menu_entry(clinician, "Queue")
        expect(clinician.get_by_role("heading", name="Review queue")).to_be_visible()
        first = clinician.get_by_test_id("stSelectbox").filter(has_text="Consultation")
        # the first row, ahead of the case that waited longer, and why
        expect(first.locator("input")).to_have_value(
            re.compile(rf"^#1 · {re.escape(public_id)} · Waiting · patient answered a request"))
        settle(clinician)
        click_row(clinician, 0)
        expect(clinician.get_by_role("heading", name=f"Consultation {public_id}")).to_be_visible()
        expect(clinician.get_by_text(re.compile("Round 1: asked by"))).to_be_visible()
        expect(clinician.get_by_role("strong").filter(has_text="Patient's answer")).to_be_visible()
        diagnosis = clinician.locator('[data-testid="stRadio"]').filter(has_text="Diagnosis")
        diagnosis.get_by_text("Tinea capitis (fungal infection of the scalp)", exact=True).click()
        clinician.get_by_role("button", name="Save", exact=True).click()
        expect(clinician.get_by_text(re.compile(r"Review of .+ saved"))).to_be_visible()
        shoot(clinician, "ask-03-reviewed")

        look_up(patient, code)
        expect(patient.get_by_text("Reviewed by a dermatologist")).to_be_visible()
        expect(patient.locator("p").filter(has_text="Dermatologist's conclusion:").first).to_contain_text(
            "Tinea capitis (fungal infection of the scalp)")
        shoot(patient, "ask-04-patient-reads")

        # Follow-up over time: the same code starts a follow-up, which gets its own code.
        patient.get_by_role("button", name="Start a follow-up").click()
        expect(patient.get_by_role("heading", name="New consultation")).to_be_visible()
        expect(patient.get_by_text(re.compile("A follow-up of your consultation of"))).to_be_visible()
        patient.get_by_test_id("stRadio").filter(has_text="Since then, your scalp is").get_by_text(
            "worse", exact=True).click()
        settle(patient)
        give_consent(patient)
        patient.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(later_photo)
        expect(patient.get_by_text("three-months-later.jpg ·")).to_be_visible()
        settle(patient)
        patient.get_by_role("button", name="Submit for review").click()
        expect(patient.get_by_text("Your consultation has been sent")).to_be_visible(timeout=FIRST_PREDICTION_MS)
        expect(patient.get_by_text(re.compile("This is a follow-up of your consultation of"))).to_be_visible()
        later_code = shown_code(patient)
        assert later_code != code
        shoot(patient, "ask-05-follow-up-sent")
        database = Database.from_url(database_url)
        try:
            with database.session() as s:
                later_id = s.scalar(select(Consultation.public_id).where(Consultation.follow_up_of_id.is_not(None)))
        finally:
            database.engine.dispose()

        open_menu_entry(clinician, "Queue")
        expect(clinician.get_by_role("heading", name="Review queue")).to_be_visible()
        first = clinician.get_by_test_id("stSelectbox").filter(has_text="Consultation")
        # due within 48 h at most (the patient says it got worse; the model's flags may shorten it further): ahead
        # of the case waiting since the start
        expect(first.locator("input")).to_have_value(
            re.compile(rf"^#1 · {re.escape(later_id)} · Waiting · due in .* · follow-up, worse( · |$)"))
        settle(clinician)
        click_row(clinician, 0)
        expect(clinician.get_by_role("heading", name=f"Consultation {later_id}")).to_be_visible()
        panel = clinician.locator(".st-key-history_panel")
        expect(panel.get_by_text("Conclusion:")).to_be_visible()
        expect(panel).to_contain_text("Tinea capitis (fungal infection of the scalp)")
        expect(panel).to_contain_text("The patient says: worse")
        expect(panel.locator("img")).to_have_count(3)  # the first consultation's photo and answer, this one's photo
        columns = panel.get_by_test_id("stColumn")
        expect(columns).to_have_count(2)
        expect(columns.nth(1)).to_contain_text("this consultation")
        earlier_box, later_box = columns.nth(0).bounding_box(), columns.nth(1).bounding_box()
        assert earlier_box["x"] + earlier_box["width"] <= later_box["x"] + 1  # side by side, earlier first
        assert abs(earlier_box["y"] - later_box["y"]) < 2
        shoot(clinician, "ask-06-follow-up-side-by-side")
        diagnosis = clinician.locator('[data-testid="stRadio"]').filter(has_text="Diagnosis")
        diagnosis.get_by_text("Tinea capitis (fungal infection of the scalp)", exact=True).click()
        clinician.locator('[data-testid="stRadio"]').filter(has_text="Since the earlier consultation").get_by_text(
            "Worse", exact=True).click()
        clinician.get_by_role("button", name="Save", exact=True).click()
        expect(clinician.get_by_text(re.compile(rf"Review of {re.escape(later_id)} saved"))).to_be_visible()

        look_up(patient, later_code)
        expect(patient.get_by_text("Reviewed by a dermatologist")).to_be_visible()
        expect(patient.get_by_text(re.compile("the dermatologist finds your scalp"))).to_contain_text("worse")
        expect(patient.get_by_text("Earlier consultations in this series")).to_be_visible()
        shoot(patient, "ask-07-follow-up-read")
        look_up(patient, code)  # the first code keeps working
        expect(patient.get_by_text("Reviewed by a dermatologist")).to_be_visible()
        expect(patient.get_by_text("Earlier consultations in this series")).to_have_count(0)
    assert older != public_id
