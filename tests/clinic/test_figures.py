"""The clinic's figures (issue 19 item 5) on a built set with known timings: exact values."""
from __future__ import annotations

from datetime import timedelta

import pytest

from clinic import figures
from db.audit import list_events
from db.engine import Database
from db.figures import AgreementRow, Durations
from db.users import Clinician
from tests.clinic import figure_cases


def test_last_30_days(database: Database, clinician: Clinician) -> None:
    figure_cases.build(database, clinician)
    result = figures.clinic_figures(database, days=30)
    assert (result.consultations, result.with_request) == (8, 3)
    assert result.request_share == pytest.approx(3 / 8)
    assert result.turnaround_first_photos == Durations(4, timedelta(hours=5), timedelta(hours=7.4))
    assert result.turnaround_after_request == Durations(3, timedelta(hours=6), timedelta(hours=10.8))
    assert result.answer_time == Durations(3, timedelta(hours=4), timedelta(hours=8.8))
    # model (first-round photos, label_for at 0.5) vs dermatologist: ps/ps, seb/seb, ps/seb, ps/ps, seb/seb
    agreement = result.agreement
    assert (agreement.cases, agreement.agreed, agreement.outside) == (5, 4, 2)
    assert agreement.kappa == pytest.approx((0.8 - 0.48) / 0.52)


def test_all_time_includes_the_old_case(database: Database, clinician: Clinician) -> None:
    figure_cases.build(database, clinician)
    result = figures.clinic_figures(database, days=None)
    assert result.consultations == 9
    assert result.turnaround_first_photos == Durations(5, timedelta(hours=4), timedelta(hours=7.2))
    assert (result.agreement.cases, result.agreement.agreed) == (6, 5)


def test_small_numbers_give_no_figure(database: Database, clinician: Clinician) -> None:
    empty = figures.clinic_figures(database, days=90)
    assert empty.consultations == 0 and empty.request_share is None
    assert empty.answer_time == Durations(0, None, None) and not figures.enough(empty.answer_time)
    two = figures.agreement([AgreementRow(0.9, 0.5, "psoriasis"), AgreementRow(0.1, 0.5, "psoriasis")])
    assert (two.cases, two.agreed, two.kappa) == (2, 1, None)


def test_the_view_is_audited(database: Database, clinician: Clinician) -> None:
    figures.record_view(database, clinician, days=30)
    with database.session() as s:
        events = [e for e in list_events(s) if e.action == "figures.view"]
    assert [e.detail for e in events] == [{"days": 30}]
