"""The two walks of issue 18's "done when", in a real headless Chromium against ``streamlit run serve.py``.

- A patient on a phone (390x844): Home, New consultation, consent, history, a photo, Submit; the access code
  is shown, its copy button puts it on the clipboard, a reload keeps the result page, the PDF downloads and
  its first line is the code; My consultation finds the consultation with the code.
- A clinician on a desktop: sign in, a reload keeps the sign-in, the queue, a click on a row opens the case,
  review, save; the patient then reads the outcome with the code. The clinician's cookie copied into
  another client opens nothing and revokes the sign-in.

Screenshots go to ``test-artifacts/walk-*.png``. Skipped without /usr/bin/chromium unless
``SCALPSCOPE_REQUIRE_BROWSER=1`` (CI), where a missing browser fails.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from clinic.accounts import DEMO_PASSWORD, DEMO_USERNAME
from db.engine import Database
from scalp_model.settings import DEFAULT_WEIGHTS
from testing.live import STEP_TIMEOUT_MS, chromium, live_app
from testing.pages import pdf_lines
from tests.app.browser import CLINICIAN_ENTRY, give_consent, require_chromium, settle, shoot, sign_in, wait_until
from tests.app.conftest import seed_consultation
from tests.factories import image_bytes, make_checkpoint

FIRST_PREDICTION_MS = 180_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 1000}
CODE = re.compile(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){6}")
NOTES = "Scalp psoriasis. Use the prescribed shampoo twice a week."

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(URL, database URL) of a served app in demo mode on a fresh SQLite file."""
    require_chromium()
    weights = DEFAULT_WEIGHTS if DEFAULT_WEIGHTS.is_file() else make_checkpoint(tmp_path / "tiny.pt")
    database_url = f"sqlite:///{tmp_path / 'walk.db'}"
    env = {"DATABASE_URL": database_url, "SCALPSCOPE_DEMO": "1", "SCALPSCOPE_WEIGHTS": str(weights),
           "SCALPSCOPE_DEVICE": "cpu"}
    with live_app(env, log_name="walk-server.log") as url:
        yield url, database_url


def open_menu_entry(page, title: str) -> None:
    """A page of the sidebar menu, also on a phone, where the sidebar starts folded away."""
    from playwright.sync_api import expect

    sidebar = page.get_by_test_id("stSidebar")
    folded = sidebar.get_attribute("data-collapsed") == "true"
    if folded:
        page.get_by_test_id("stExpandSidebarButton").click()
    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name=title).click()
    if folded and sidebar.get_attribute("data-collapsed") == "false":  # over the page on a phone: fold it
        page.get_by_test_id("stSidebarHeader").hover()
        page.get_by_test_id("stSidebarCollapseButton").locator("button").click()
        expect(sidebar).to_have_attribute("data-collapsed", "true")


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the select box labelled ``label`` (typed into its search field, then Enter)."""
    # By its exact label: has_text matches within words ("Age" is in the sidebar's "Language" box too).
    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))
    box.locator("input").click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")
    from playwright.sync_api import expect

    expect(box.locator("input")).to_have_value(option)


def look_up(page, code: str) -> None:
    open_menu_entry(page, "My consultation")
    page.get_by_label("Access code").fill(code)
    page.get_by_role("button", name="Show my consultation").click()


def shown_code(page) -> str:
    code = page.locator(".st-key-access_code code").inner_text().strip()
    assert CODE.fullmatch(code), code
    return code


def test_phone_walk_of_the_patient_flow(app, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    url, _ = app
    photo = tmp_path / "scalp.jpg"
    photo.write_bytes(image_bytes("JPEG", 640, 480, seed=3))
    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with chromium() as browser:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, accept_downloads=True)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
        page = context.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        page.goto(url)

        # Home: the main action first.
        page.get_by_role("link", name=re.compile("Start a new consultation")).first.click()
        expect(page.get_by_role("heading", name="New consultation")).to_be_visible()
        give_consent(page)
        choose(page, "Age", "40–64")
        choose(page, "Itch", "severe")
        page.get_by_label("Anything else the dermatologist should know?").fill("Worse in winter.")
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(photo)
        expect(page.get_by_text("scalp.jpg ·")).to_be_visible()
        settle(page)
        shoot(page, "walk-phone-01-form")
        page.get_by_role("button", name="Submit for review").click()
        expect(page.get_by_text("Your consultation has been sent")).to_be_visible(timeout=FIRST_PREDICTION_MS)
        code = shown_code(page)

        # The code stays on one line inside the screen, and its copy button puts it on the clipboard.
        wait_until(page, "() => { const c = document.querySelector('.st-key-access_code code'); "
                         "return c.getClientRects().length === 1 "
                         "&& c.getBoundingClientRect().right <= document.documentElement.clientWidth; }",
                   timeout_s=10)
        page.evaluate("navigator.clipboard.writeText('')")
        page.locator(".st-key-access_code").get_by_role("button", name="Copy to clipboard").click()
        wait_until(page, "async (code) => (await navigator.clipboard.readText()) === code", code, timeout_s=10)
        settle(page)
        shoot(page, "walk-phone-02-result")

        # A reload keeps the result page (same browser session, same code).
        page.reload()
        expect(page.get_by_text("Your consultation has been sent")).to_be_visible()
        assert shown_code(page) == code

        # The PDF: offered right after the code, and its first line is the code.
        download_button = page.get_by_role("button", name="Download PDF summary")
        with page.expect_download() as download:
            download_button.click()
        pdf = Path(download.value.path()).read_bytes()
        assert pdf.startswith(b"%PDF-") and code not in download.value.suggested_filename
        assert pdf_lines(pdf)[0] == f"Access code: {code}"
        shoot(page, "walk-phone-03-after-reload")

        # My consultation, with the code.
        look_up(page, code)
        expect(page.get_by_text("The dermatologist has not written a conclusion yet")).to_be_visible()
        assert page.get_by_label("Access code").input_value() == code
        shoot(page, "walk-phone-04-my-consultation")


def test_desktop_walk_of_the_clinician_flow(app) -> None:
    from playwright.sync_api import expect

    url, database_url = app
    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with chromium() as browser:
        clinician = browser.new_context(viewport=DESKTOP).new_page()
        clinician.set_default_timeout(STEP_TIMEOUT_MS)
        clinician.goto(url)
        open_menu_entry(clinician, CLINICIAN_ENTRY)
        sign_in(clinician, DEMO_USERNAME, DEMO_PASSWORD)
        expect(clinician.get_by_role("heading", name="Review queue")).to_be_visible()

        database = Database.from_url(database_url)  # migrated by the server by now (the sign-in used it)
        try:
            public_id, code = seed_consultation(database, p=0.8, free_text="Itches after washing.")
        finally:
            database.engine.dispose()

        # A reload keeps the sign-in.
        clinician.reload()
        expect(clinician.get_by_role("heading", name="Review queue")).to_be_visible()
        expect(clinician.get_by_role("heading", name="Clinician sign-in")).to_have_count(0)
        table = clinician.locator('[data-testid="stDataFrame"]')
        expect(table).to_be_visible()
        settle(clinician)
        shoot(clinician, "walk-desktop-01-queue")

        # A click on the (only) row opens the case.
        box = table.bounding_box()
        clinician.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row, below the 35 px header
        expect(clinician.get_by_role("heading", name=f"Consultation {public_id}")).to_be_visible()
        diagnosis = clinician.locator('[data-testid="stRadio"]').filter(has_text="Diagnosis")
        diagnosis.get_by_text("Psoriasis", exact=True).click()
        clinician.get_by_role("textbox", name="Notes for the patient").fill(NOTES)
        shoot(clinician, "walk-desktop-02-review")
        clinician.get_by_role("button", name="Save and next").click()
        expect(clinician.get_by_text(re.compile(r"Review of .+ saved"))).to_be_visible()
        shoot(clinician, "walk-desktop-03-saved")

        # The patient (own browser, a phone) reads the outcome with the code.
        patient = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
        patient.set_default_timeout(STEP_TIMEOUT_MS)
        patient.goto(url)
        look_up(patient, code)
        expect(patient.get_by_text("Reviewed by a dermatologist")).to_be_visible()
        expect(patient.get_by_text(NOTES)).to_be_visible()
        shoot(patient, "walk-desktop-04-patient-outcome")

        # The clinician's cookie copied into another client (another user agent) opens nothing, and the
        # sign-in it carried is revoked: the clinician's own reload asks for a sign-in again.
        thief = browser.new_context(viewport=DESKTOP, user_agent="Mozilla/5.0 (another client)")
        thief.add_cookies(clinician.context.cookies())
        stolen = thief.new_page()
        stolen.set_default_timeout(STEP_TIMEOUT_MS)
        stolen.goto(f"{url}/queue")
        expect(stolen.get_by_role("heading", name="Clinician sign-in")).to_be_visible()
        expect(stolen.get_by_role("heading", name="Review queue")).to_have_count(0)
        clinician.reload()
        expect(clinician.get_by_role("heading", name="Clinician sign-in")).to_be_visible()
