"""The hardening suites reuse the app suites' fixtures (temporary SQLite, tiny checkpoint, AppTest helpers)
and print their measured figures at the end of the run (``report(line)``)."""
from __future__ import annotations

from tests.app.conftest import (  # noqa: F401 - fixtures are found by name
    _fast_password_hashing,
    _navigation_mode,
    app_env,
    at,
    clinician,
    database,
    fake_predictor,
)

FIGURES: list[str] = []


def report(line: str) -> None:
    """A figure for the summary at the end of the pytest run (reliability figures for README.md)."""
    FIGURES.append(line)


def pytest_terminal_summary(terminalreporter) -> None:
    if FIGURES:
        terminalreporter.section("hardening figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
