"""The patient's status page explains each state and roughly when (issue 19, item 4)."""
from __future__ import annotations

from datetime import timedelta

from db.stats import Turnaround
from pages import _views as views
from tests.app.conftest import assert_clean, seed_consultation, texts
from tests.app.test_my_consultation import look_up


def test_every_state_says_what_happens_next() -> None:
    measured = Turnaround(12, timedelta(hours=6), timedelta(hours=30))
    for status in ("submitted", "in_review", "awaiting_patient", "reviewed", "closed"):
        text = views.what_next(status, measured)
        assert text.startswith("**What happens next:** ") and len(text) > 60, status
    assert "within 6.0 h of being sent, and 9 in 10 within 30.0 h" in views.what_next("submitted", measured)
    assert "ahead of new ones" in views.what_next("awaiting_patient", measured)
    assert "cannot yet say" in views.what_next("submitted", Turnaround(0, None, None))
    one = Turnaround(1, timedelta(minutes=12), timedelta(minutes=12))  # one case quoted as "half ... 9 in 10"
    assert "cannot yet say" in views.what_next("submitted", one)
    assert "within" not in views.what_next("closed", measured)


def test_the_waiting_page_says_what_happens_next(at, database) -> None:
    _, code = seed_consultation(database)
    look_up(at, code)
    assert_clean(at)
    assert any(m.startswith("**What happens next:** A dermatologist will open") and "cannot yet say" in m
               for m in texts(at.markdown))
