"""The queue page's "Figures for the clinic" (issue 19 item 5) shows the built set's numbers, audited."""
from __future__ import annotations

from db.audit import list_events
from tests.app.conftest import (  # noqa: F401  (fixtures)
    _fast_password_hashing,
    _navigation_mode,
    app_env,
    assert_clean,
    at,
    clinician,
    database,
    sign_in,
    texts,
)
from tests.clinic import figure_cases


def metrics(at) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {m.label: m.value for m in at.metric}


def figure_views(database) -> list[int | None]:  # type: ignore[no-untyped-def]
    with database.session() as s:
        return [e.detail.get("days") for e in list_events(s, action="figures.view")]


def test_the_queue_shows_the_clinic_figures(at, clinician, database) -> None:  # type: ignore[no-untyped-def]
    figure_cases.build(database, clinician)
    sign_in(at)
    assert_clean(at)
    assert [e.label for e in at.expander] == ["Figures for the clinic"]
    shown = metrics(at)
    assert shown["Needed more information"] == "38%"  # 3 of 8
    assert shown["Patients' answer time (median)"] == "4.0 h"
    assert shown["Dermatologist–model agreement (Cohen's κ)"] == "0.62"
    captions = texts(at.caption)
    assert "3 of n = 8 consultations" in captions
    assert "n = 3 answers; 90th percentile 8.8 h" in captions
    assert "n = 5 cases, 4 agree; 2 outside the model's two classes." in captions
    assert ("decided from the first photos: median 5.0 h (n = 4) · after a request for more: median 6.0 h (n = 3)"
            in captions)
    assert figure_views(database) == [30]
    at.selectbox(key="q_fig_period").select("all time").run()
    assert_clean(at)
    assert metrics(at)["Dermatologist–model agreement (Cohen's κ)"] == "0.67"  # 6 cases, 5 agree
    assert "1 of n = 9 consultations" not in texts(at.caption) and "3 of n = 9 consultations" in texts(at.caption)
    assert figure_views(database) == [30, None]


def test_few_cases_say_so(at, clinician, database) -> None:  # type: ignore[no-untyped-def]
    sign_in(at)
    assert_clean(at)
    shown = metrics(at)
    assert shown["Needed more information"] == "not enough cases"
    assert shown["Dermatologist–model agreement (Cohen's κ)"] == "not enough cases"
