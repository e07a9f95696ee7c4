"""Home page and the app frame: disclaimers, turnaround, a fresh database on first start."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect

from db.consultations import claim, record_review
from db.models import Consultation, utcnow
from pages import _resources as res
from tests.app.conftest import assert_clean, seed_consultation, texts
from tests.conftest import REPO_ROOT


def test_home_says_what_it_is_and_is_not(at, app_env):
    assert_clean(at)
    assert texts(at.title) == ["ScalpScope"]
    warning = " ".join(texts(at.warning))
    assert "not a diagnosis" in warning and "not for emergencies" in warning
    assert any("appear here once" in m for m in texts(at.markdown))
    # A fresh start created and migrated the database.
    assert (app_env / "app.db").is_file()


def test_fresh_database_has_the_schema(at, database):
    assert {"consultations", "users", "audit_events"} <= set(inspect(database.engine).get_table_names())


def review_one(database, clinician, hours: float) -> None:
    public_id, _ = seed_consultation(database)
    with database.begin() as session:
        consultation = session.query(Consultation).filter_by(public_id=public_id).one()
        consultation.created_at = utcnow() - timedelta(hours=hours)
        session.flush()
        claim(session, consultation.id, clinician)
        record_review(session, consultation.id, clinician, "psoriasis")


def test_turnaround_from_reviewed_consultations(at, database, clinician):
    """Quoted to patients only from MIN_QUOTED reviewed consultations: a tester read "Of the 1 consultation
    reviewed so far, half were answered within 12 min and nine in ten within 12 min"."""
    from db.stats import MIN_QUOTED

    review_one(database, clinician, 5)
    res._turnaround.clear()
    at.run()
    assert any("appear here once" in m for m in texts(at.markdown))  # one case is not a distribution
    for _ in range(MIN_QUOTED - 1):
        review_one(database, clinician, 5)
    at.run()
    assert any("appear here once" in m for m in texts(at.markdown))  # figures are cached for a minute
    res._turnaround.clear()
    at.run()
    assert any(f"Of the {MIN_QUOTED} consultations reviewed so far" in m and "5.0 h" in m for m in texts(at.markdown))


PATIENT_PAGE_TITLES = {"pages/home.py": "ScalpScope", "pages/new_consultation.py": "New consultation",
                       "pages/my_consultation.py": "My consultation", "pages/model.py": "The model"}


def test_navigation_reaches_every_page_and_nothing_else(at):
    """Every page file is routed (patients' pages open, clinicians' pages ask for a sign-in); helper modules
    (``pages/_*.py``) and unknown paths are not pages; the sidebar carries the disclaimer on every page."""
    page_files = sorted(p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "pages").glob("*.py")
                        if not p.name.startswith("_"))
    assert set(PATIENT_PAGE_TITLES) < set(page_files)
    for page in page_files:
        at.switch_page(page).run()
        assert_clean(at)
        if page in PATIENT_PAGE_TITLES:
            assert texts(at.title)[:1] == [PATIENT_PAGE_TITLES[page]], page
        else:
            assert at.text_input(key="sign_in_username") is not None, page  # the clinician gate
        assert any("Not a diagnosis" in c for c in texts(at.sidebar.caption)), page
    for not_a_page in ("pages/_views.py", "pages/nowhere.py"):
        with pytest.raises(ValueError):
            at.switch_page(not_a_page)
