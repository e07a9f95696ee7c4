"""Fixtures for the application layer: a migrated SQLite database, clinicians, and a fake predictor."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from db.engine import Database
from db.users import Clinician, create_user
from tests.app.conftest import FakePredictor
from tests.db.builders import TEST_PASSWORD


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("db.users._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database.from_url(f"sqlite:///{tmp_path / 'clinic.db'}")
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def clinician(database: Database) -> Clinician:
    with database.begin() as session:
        return create_user(session, "dr.clinic", TEST_PASSWORD)


@pytest.fixture
def predictor() -> FakePredictor:
    return FakePredictor()
