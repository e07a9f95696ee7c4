"""Many patients at once: 8 sessions x 25 consultations through the real page, predictor and database.

``testing.load`` (also behind ``scripts/load_test.py``) does the work (AppTest sessions in threads sharing the cached predictor and one
SQLite file); see its docstring. No consultation may fail or get lost, and every stored map must be the
map of its own photo.
"""
from __future__ import annotations

import pytest

from testing.load import run_load
from tests.hardening.conftest import report

SESSIONS, CONSULTATIONS = 8, 25

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]


def test_eight_sessions_at_once(app_env) -> None:
    result = run_load(SESSIONS, CONSULTATIONS, max_seconds=240)
    report(result.summary())
    problems = result.errors + result.lost + result.mismatched
    assert result.ok, problems[:10]
    assert len(result.submitted) == SESSIONS * CONSULTATIONS
    assert len({s.code for s in result.submitted}) == len(result.submitted)
