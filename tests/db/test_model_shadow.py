"""Shadow runs (issue 20) on SQLite and PostgreSQL: the tests of ``tests/clinic/test_shadow.py`` run here against
both backends (this suite's ``database`` fixture)."""
from __future__ import annotations

from tests.clinic.test_shadow import (  # noqa: F401 - collected here with both backends
    admin,
    checkpoints,
    loaded,
    test_a_failing_shadow_model_never_stops_a_submission,
    test_shadow_scores_are_stored_and_never_shown,
)
