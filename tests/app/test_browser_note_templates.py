"""Management-note templates (issue 19, item 3) in a real headless Chromium against ``streamlit run serve.py``:
the dermatologist writes a template under *Note templates*, picks it above the review form, inserts it into the
notes for the patient, adds a line of their own and saves; the stored review holds both. Screenshots:
``test-artifacts/templates-*.png``."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from clinic.accounts import DEMO_PASSWORD, DEMO_USERNAME
from db.engine import Database
from db.models import Consultation, Review
from testing.live import STEP_TIMEOUT_MS, chromium
from tests.app.browser import CLINICIAN_ENTRY, settle, shoot, sign_in
from tests.app.conftest import seed_consultation
from tests.app.test_browser_walks import DESKTOP, app, open_menu_entry  # noqa: F401  (app: the served app fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

BODY = "Use the tar shampoo twice a week for 4 weeks."
OWN_LINE = "Send new photos if it spreads."


def test_a_template_inserted_edited_and_saved(app) -> None:  # noqa: F811
    from playwright.sync_api import expect

    url, database_url = app
    expect.set_options(timeout=STEP_TIMEOUT_MS)
    database = Database.from_url(database_url)
    with chromium() as browser:
        page = browser.new_context(viewport=DESKTOP).new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        page.goto(url)
        open_menu_entry(page, CLINICIAN_ENTRY)
        sign_in(page, DEMO_USERNAME, DEMO_PASSWORD)
        expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
        try:
            public_id, _ = seed_consultation(database)
        finally:
            database.engine.dispose()
        page.reload()
        expect(page.locator('[data-testid="stDataFrame"]')).to_be_visible()
        settle(page)
        box = page.locator('[data-testid="stDataFrame"]').bounding_box()
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row
        expect(page.get_by_role("heading", name=f"Consultation {public_id}")).to_be_visible()
        expect(page.get_by_text("No note templates yet")).to_be_visible()

        page.get_by_test_id("stExpander").filter(has_text="Note templates").locator("summary").click()
        page.get_by_label("Title", exact=True).fill("Mild psoriasis")
        page.get_by_test_id("stTextArea").filter(has_text="Text for the patient").locator("textarea").fill(BODY)
        page.get_by_text("Shared with the clinic").click()
        page.get_by_role("button", name="Create template").click()
        expect(page.get_by_text("Template \u201cMild psoriasis\u201d saved.")).to_be_visible()
        settle(page)

        picker = page.get_by_test_id("stSelectbox").filter(has_text="Note template")
        picker.locator("input").click()
        page.keyboard.type("Mild")
        page.keyboard.press("Enter")
        expect(picker.locator("input")).to_have_value("Mild psoriasis · shared")
        settle(page)
        page.get_by_role("button", name="Insert").click()
        notes = page.get_by_test_id("stTextArea").filter(has_text="Notes for the patient").locator("textarea")
        expect(notes).to_have_value(BODY)
        settle(page)
        notes.fill(f"{BODY}\n{OWN_LINE}")  # the dermatologist edits the inserted text before saving
        page.locator('[data-testid="stRadio"]').filter(has_text="Diagnosis").get_by_text(
            re.compile("^Psoriasis")).first.click()
        shoot(page, "templates-00-inserted-and-edited")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_text(re.compile(r"Review of .+ saved"))).to_be_visible()
        shoot(page, "templates-01-saved")
    database = Database.from_url(database_url)
    try:
        with database.session() as s:
            case = s.scalars(select(Consultation).where(Consultation.public_id == public_id)).one()
            assert s.scalars(select(Review.notes).where(Review.consultation_id == case.id)).one() == f"{BODY}\n{OWN_LINE}"
    finally:
        database.engine.dispose()
