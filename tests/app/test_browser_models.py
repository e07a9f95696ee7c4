"""Models as versions (issue 20) in a real headless Chromium against ``streamlit run serve.py``: the admin opens the
model page, compares two registered models on the reviewed consultations (progress, then the figures), activates
the candidate with a reason (the page serves it), and rolls back to the earlier model the same way. Screenshots:
``test-artifacts/models-*.png``."""
from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from clinic import models
from db.engine import Database
from db.users import create_user
from testing.live import STEP_TIMEOUT_MS, chromium, live_app
from testing.models import carded_checkpoint
from tests.app.browser import CLINICIAN_ENTRY, require_chromium, settle, shoot, sign_in
from tests.app.conftest import PASSWORD, seed_reviewed
from tests.app.test_browser_walks import DESKTOP, open_menu_entry

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(400)]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The app on a fresh SQLite file with an admin, 'walk-a' active, 'walk-b' a candidate and six reviewed
    consultations; yields its URL."""
    require_chromium()
    database_url = f"sqlite:///{tmp_path / 'models.db'}"
    models_dir = tmp_path / "models"
    made = tmp_path / "made"
    first, second = carded_checkpoint(made, "walk-a", seed=11), carded_checkpoint(made, "walk-b", seed=12,
                                                                                  temperature=5.0)
    database = Database.from_url(database_url)
    database.migrate()
    with database.begin() as session:
        admin = create_user(session, "boss", PASSWORD, "admin")
        reviewer = create_user(session, "derm", PASSWORD)
    a = models.register_checkpoint(database, first, actor=admin.actor, models_dir=models_dir)
    models.register_checkpoint(database, second, actor=admin.actor, models_dir=models_dir)
    models.activate(database, admin, a.id, "the clinic's first model")
    seed_reviewed(database, reviewer, ["psoriasis", "seborrheic_dermatitis"] * 3)
    database.dispose()
    shutil.copy(first, tmp_path / "fallback.pt")
    env = {"DATABASE_URL": database_url, "SCALPSCOPE_WEIGHTS": str(tmp_path / "fallback.pt"),
           "SCALPSCOPE_MODELS_DIR": str(models_dir), "SCALPSCOPE_MODEL_POLL_S": "1", "SCALPSCOPE_DEVICE": "cpu",
           "SCALPSCOPE_BACKEND": "torch"}
    with live_app(env, log_name="models-server.log") as url:
        yield url


def activate(page, version: str, reason: str) -> None:
    from playwright.sync_api import expect

    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text("Model", exact=True))
    box.locator("input").click()
    page.keyboard.type(version)
    page.keyboard.press("Enter")
    expect(box.locator("input")).to_have_value(re.compile(rf"^{version} \("))
    page.get_by_test_id("stTextArea").filter(has_text="Reason").locator("textarea").fill(reason)
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text(f"{version} is now the active model")).to_be_visible()
    expect(page.get_by_text(f"Version {version}", exact=True)).to_be_visible()


def test_compare_activate_and_roll_back(served: str) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with chromium() as browser:
        page = browser.new_context(viewport=DESKTOP).new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        page.goto(served)
        open_menu_entry(page, CLINICIAN_ENTRY)
        sign_in(page, "boss", PASSWORD)
        expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
        open_menu_entry(page, "Model")
        expect(page.get_by_role("heading", name="Registered models")).to_be_visible()
        expect(page.get_by_text("Version walk-a", exact=True)).to_be_visible()

        page.get_by_role("button", name="Compare").click()
        expect(page.get_by_text("Paired DeLong test")).to_be_visible(timeout=120_000)
        expect(page.get_by_text("6 reviewed consultations")).to_be_visible()
        expect(page.get_by_role("cell", name="AUC (95 % CI)")).to_be_visible()
        settle(page)
        shoot(page, "models-compare")

        activate(page, "walk-b", "better on our reviewed cases")
        shoot(page, "models-activated")
        activate(page, "walk-a", "roll back: walk-b flags too many")
        settle(page)
        shoot(page, "models-rolled-back")
