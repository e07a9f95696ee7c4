"""Engine set-up, error translation, migrations, settings and import hygiene."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timezone
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from db import settings
from db.consultations import queue_counts
from db.engine import Database, normalise_url
from db.errors import DatabaseBusyError, DatabaseUnavailableError, MigrationRequiredError
from db.models import AppSetting, Base, User
from db.users import create_user
from tests.db.builders import TEST_PASSWORD, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_sqlite_pragmas_on_every_connection(tmp_path: Path) -> None:
    database = Database.from_url(f"sqlite:///{tmp_path / 'sub' / 'x.db'}", busy_timeout_ms=1234)
    for _ in range(2):
        with database.engine.connect() as conn:
            pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert (pragma("foreign_keys"), pragma("journal_mode"), pragma("busy_timeout"), pragma("synchronous")) == (
                1,
                "wal",
                1234,
                1,
            )
        database.engine.dispose()


def test_default_url_uses_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("SCALPSCOPE_DATA_DIR", str(tmp_path / "data"))
    database = Database.from_env()
    assert database.engine.url.database == str(tmp_path / "data" / "scalpscope.db")
    assert (tmp_path / "data").is_dir()
    assert normalise_url("postgres://u@h/d") == normalise_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"


def test_busy_database_gives_database_busy_error(database: Database) -> None:
    """Another connection holds the write lock; our write gives up after a short wait with a named error."""
    if database.dialect == "sqlite":
        impatient = Database.from_url(str(database.engine.url), busy_timeout_ms=100)
        holder = sqlite3.connect(database.engine.url.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        release = holder.rollback
    else:
        impatient = database
        holder = psycopg.connect(database.engine.url.render_as_string().replace("+psycopg", ""))
        holder.execute("LOCK TABLE app_settings IN ACCESS EXCLUSIVE MODE")
        release = holder.rollback
    try:
        with pytest.raises(DatabaseBusyError, match="busy"), impatient.begin() as s:
            if database.dialect == "postgresql":
                s.execute(text("SET LOCAL lock_timeout = '100ms'"))
            s.add(AppSetting(key="other", value="y"))
    finally:
        release()
        holder.close()
        if impatient is not database:
            impatient.dispose()
    with database.begin() as s:  # and the database is fine afterwards
        s.add(AppSetting(key="other", value="y"))


def test_unreachable_postgres_gives_database_unavailable_error() -> None:
    database = Database.from_url(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing")
    with pytest.raises(DatabaseUnavailableError, match="cannot be reached"):
        database.ping()
    with pytest.raises(DatabaseUnavailableError), database.begin() as s:
        queue_counts(s)


def test_missing_schema_gives_migration_required(empty_database: Database) -> None:
    with pytest.raises(MigrationRequiredError, match="python -m db migrate"), empty_database.begin() as s:
        queue_counts(s)
    with pytest.raises(MigrationRequiredError):
        empty_database.require_current_schema()
    empty_database.migrate()
    empty_database.migrate()  # idempotent
    empty_database.require_current_schema()
    with empty_database.begin() as s:
        assert queue_counts(s)["submitted"] == 0


def test_migrations_match_models(database: Database) -> None:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        assert compare_metadata(context, Base.metadata) == []
    assert database.current_revision() == database.head_revision()
    with database.engine.connect() as conn:
        inspector = inspect(conn)
        assert {"ix_consultations_queue"} <= {i["name"] for i in inspector.get_indexes("consultations")}
        assert any(u["column_names"] == ["access_code_hash"] for u in inspector.get_unique_constraints("consultations"))


def test_downgrade_and_upgrade_again(empty_database: Database) -> None:
    empty_database.migrate()
    from alembic import command

    config = empty_database.alembic_config()
    with empty_database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(empty_database.engine).get_table_names()) <= {"alembic_version"}
    empty_database.migrate()
    assert "consultations" in inspect(empty_database.engine).get_table_names()


def test_foreign_keys_enforced(database: Database) -> None:
    from sqlalchemy.exc import IntegrityError

    from db.models import Review

    with pytest.raises(IntegrityError), database.begin() as s:
        s.add(Review(consultation_id=12345, clinician_id=678, diagnosis="psoriasis"))


def test_datetimes_are_aware_utc(database: Database) -> None:
    from datetime import timedelta

    plus_two = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with database.begin() as s:
        create_user(s, "tz", TEST_PASSWORD)
        s.flush()
        user = s.query(User).filter_by(username="tz").one()
        user.locked_until = plus_two
    with database.session() as s:
        locked = s.query(User).filter_by(username="tz").one().locked_until
    assert locked == plus_two and locked.tzinfo == UTC
    with pytest.raises(Exception, match="naive"), database.begin() as s:
        s.query(User).filter_by(username="tz").one().locked_until = datetime(2024, 1, 1)


def test_db_never_imports_streamlit_or_torch() -> None:
    code = (
        "import sys, db, db.engine, db.models, db.consultations, db.users, db.audit, db.stats, db.export, db.__main__;"
        "bad = {'streamlit', 'torch'} & set(sys.modules); assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=60)


def test_every_setting_is_documented() -> None:
    readme = (REPO_ROOT / "db" / "README.md").read_text()
    missing = [s.name for s in settings.SETTINGS if f"`{s.name}`" not in readme]
    assert not missing, f"document these settings in db/README.md: {missing}"
