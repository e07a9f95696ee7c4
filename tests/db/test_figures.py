"""The clinic's figures computed by the database (db.figures: interval arithmetic, percentiles, the window by
submission time) on both backends, on the built set of tests/clinic/figure_cases with known timings."""
from __future__ import annotations

from datetime import timedelta

import pytest

from clinic import figures
from db.engine import Database
from db.figures import Durations
from tests.clinic import figure_cases


def test_figures_on_each_backend(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    figure_cases.build(database, clinicians[0])
    month = figures.clinic_figures(database, days=30)
    assert (month.consultations, month.with_request) == (8, 3)
    assert month.turnaround_first_photos == Durations(4, timedelta(hours=5), timedelta(hours=7.4))
    assert month.turnaround_after_request == Durations(3, timedelta(hours=6), timedelta(hours=10.8))
    assert month.answer_time == Durations(3, timedelta(hours=4), timedelta(hours=8.8))
    assert (month.agreement.cases, month.agreement.agreed, month.agreement.outside) == (5, 4, 2)
    assert month.agreement.kappa == pytest.approx((0.8 - 0.48) / 0.52)
    ever = figures.clinic_figures(database, days=None)
    assert ever.consultations == 9
    assert ever.turnaround_first_photos == Durations(5, timedelta(hours=4), timedelta(hours=7.2))
