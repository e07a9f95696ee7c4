"""Fixtures for the db suite: every test using ``database`` runs on SQLite and on a real PostgreSQL.

The PostgreSQL server is started by the tests themselves (``db.testing_pg.temporary_postgres``: initdb +
pg_ctl on a free 127.0.0.1 port, socket and data in a temporary folder) and stopped at the end. Without
the binaries the PostgreSQL half is skipped, unless SCALPSCOPE_REQUIRE_POSTGRES=1 (CI), where it fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from db.engine import Database
from db.models import Base
from db.testing_pg import create_database, pg_bin, temporary_postgres
from db.users import Clinician, create_user
from testing.switches import REQUIRE_POSTGRES
from tests.db.builders import TEST_PASSWORD

PG_BIN = pg_bin()


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2's production parameters cost ~0.2 s a hash; the tests only need the mechanism."""
    monkeypatch.setattr("db.users._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server; yields the URL prefix ``postgresql+psycopg://postgres@127.0.0.1:PORT``."""
    if not (PG_BIN / "initdb").exists():
        reason = f"PostgreSQL binaries not found in {PG_BIN} (apt-get install postgresql-15)"
        if REQUIRE_POSTGRES.get():
            pytest.fail(f"SCALPSCOPE_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    with temporary_postgres(bin_dir=PG_BIN) as server_url:
        yield server_url


def create_pg_database(server_url: str, name: str) -> str:
    return create_database(server_url, name)


@pytest.fixture(scope="session")
def _migrated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Database]]:
    """One migrated database per backend for the whole session (tests empty it instead of re-creating)."""
    made: dict[str, Database] = {}

    def get(backend: str) -> Database:
        if backend not in made:
            if backend == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
            else:
                url = create_pg_database(request.getfixturevalue("postgres_server"), "scalpscope_test")
            made[backend] = Database.from_url(url)
            made[backend].migrate()
        return made[backend]

    yield get
    for database in made.values():
        database.dispose()


def empty_tables(database: Database) -> None:
    tables = list(reversed(Base.metadata.sorted_tables))
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(t.name for t in tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, _migrated: Callable[[str], Database]) -> Database:
    """A migrated, empty database on each backend."""
    db = _migrated(request.param)
    empty_tables(db)
    return db


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A brand-new database with no schema at all."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        url = create_pg_database(request.getfixturevalue("postgres_server"), f"empty_{uuid.uuid4().hex[:12]}")
    db = Database.from_url(url)
    yield db
    db.dispose()


@pytest.fixture
def clinicians(database: Database) -> tuple[Clinician, Clinician, Clinician]:
    """alice and bob (dermatologists) and root (admin)."""
    with database.begin() as s:
        return (
            create_user(s, "alice", TEST_PASSWORD),
            create_user(s, "bob", TEST_PASSWORD),
            create_user(s, "root", TEST_PASSWORD, "admin"),
        )
