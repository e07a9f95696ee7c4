"""The one module that owns engines, sessions, migrations and driver-error translation.

Make one :class:`Database` per process (``Database.from_env()``) and frame each unit of work with
``with db.begin() as session:``; data functions elsewhere in ``db`` take that session as an argument.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from db import settings
from db.errors import (
    BackupUnsupportedError,
    DatabaseBusyError,
    DatabaseError,
    DatabaseUnavailableError,
    MigrationRequiredError,
    ValidationError,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# PostgreSQL SQLSTATEs: lock/serialisation conflicts are "busy", connection-class errors "unavailable".
_PG_BUSY = {"40001", "40P01", "55P03", "57014"}
_PG_UNAVAILABLE_PREFIXES = ("08", "57P")
_PG_UNDEFINED_TABLE = {"42P01", "42703"}
_SQLITE_BEGIN = "scalpscope_sqlite_begin"
_MIGRATION_LOCK_ID = 0x5CA1_95C0  # any constant; serialises concurrent start-ups on PostgreSQL


def _classify(exc: DBAPIError) -> DatabaseError | None:
    """Map a driver error to a named error, or None when it is not an operational condition."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    message = str(orig).lower()
    if isinstance(orig, sqlite3.Error):
        if "locked" in message or "busy" in message:
            return DatabaseBusyError()
        if "no such table" in message or "no such column" in message:
            return MigrationRequiredError()
        if "unable to open" in message or "disk i/o" in message or "readonly" in message:
            return DatabaseUnavailableError(f"The SQLite database cannot be opened or written: {orig}")
        return None
    if sqlstate in _PG_BUSY:
        return DatabaseBusyError()
    if sqlstate in _PG_UNDEFINED_TABLE:
        return MigrationRequiredError()
    if isinstance(exc, OperationalError) and (sqlstate is None or sqlstate.startswith(_PG_UNAVAILABLE_PREFIXES)):
        return DatabaseUnavailableError()
    return None


# A value the database itself refused (PostgreSQL: NUL in text, a string longer than its column, a number
# out of range). The data functions check their input first; this is the net under them.
DATA_REFUSED = ("The database refused a value: it is too long or holds characters that cannot be stored "
                "(such as NUL). Nothing was saved; correct the text and try again.")


@contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise driver OperationalErrors (and missing-table errors) as named :mod:`db.errors`;
    a refused value (``DataError``) becomes a :class:`ValidationError` with a plain message."""
    try:
        yield
    except DataError as exc:
        raise ValidationError(DATA_REFUSED) from exc
    except (OperationalError, ProgrammingError) as exc:
        named = _classify(exc)
        if named is None:
            if isinstance(exc, OperationalError):
                raise DatabaseError(f"Database error: {exc.orig}") from exc
            raise
        raise named from exc


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, enforced foreign keys and a busy timeout on every connection; SQLAlchemy emits BEGIN so
    reads are transactional and SAVEPOINT works (the pysqlite default defers BEGIN to the first write)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(connection.get_execution_options().get(_SQLITE_BEGIN, "BEGIN"))


def normalise_url(url: str) -> str:
    """Accept ``postgres://`` / ``postgresql://`` and use the psycopg 3 driver that is installed."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass
class Database:
    """An engine and its sessionmaker, made once per process and shared (both are thread-safe)."""

    engine: Engine
    session_factory: sessionmaker[Session]

    @classmethod
    def from_url(cls, url: str, *, busy_timeout_ms: int | None = None, echo: bool = False) -> Database:
        """Build the engine for ``url``; nothing connects until first use (see :meth:`ping`)."""
        sa_url = make_url(normalise_url(url))
        if sa_url.get_backend_name() == "sqlite":
            timeout_ms = busy_timeout_ms if busy_timeout_ms is not None else int(settings.BUSY_TIMEOUT_MS.get())
            if sa_url.database and sa_url.database != ":memory:":
                Path(sa_url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(sa_url, echo=echo, connect_args={"timeout": timeout_ms / 1000})
            _configure_sqlite(engine, timeout_ms)
        else:
            connect_args = {"connect_timeout": 5} if sa_url.get_backend_name() == "postgresql" else {}
            engine = create_engine(sa_url, echo=echo, pool_pre_ping=True, connect_args=connect_args)
        return cls(engine, sessionmaker(engine, expire_on_commit=False))

    @classmethod
    def from_env(cls) -> Database:
        """``DATABASE_URL`` or the default SQLite file (see :mod:`db.settings`)."""
        return cls.from_url(settings.default_database_url())

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for reading (``with db.session() as s:``); takes no SQLite write lock and commits
        nothing by itself. Use :meth:`begin` for anything that writes, audit events included."""
        with translate_errors(), self.session_factory() as session:
            yield session

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on error, named errors for driver failures.

        On SQLite the unit of work holds the write lock from its start, so keep it short; use
        :meth:`session` for long read-only work. Errors with ``keeps_changes`` (failed logins) commit
        what was recorded before re-raising.
        Objects stay readable after the block (``expire_on_commit=False``); lazy relationships do not.
        """
        with translate_errors(), self.session_factory() as session:
            try:
                if self.dialect == "sqlite":
                    # Take SQLite's single write lock up front (waiting up to the busy timeout): a deferred
                    # transaction that reads and then writes fails at once if another writer got in between.
                    session.connection(execution_options={_SQLITE_BEGIN: "BEGIN IMMEDIATE"})
                yield session
            except DatabaseError as exc:
                if exc.keeps_changes:
                    session.commit()
                else:
                    session.rollback()
                raise
            except BaseException:
                session.rollback()
                raise
            session.commit()

    def ping(self) -> None:
        """Connect once, raising DatabaseUnavailableError/DatabaseBusyError instead of driver errors."""
        with translate_errors(), self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    # --- migrations -------------------------------------------------------------------------------
    def alembic_config(self) -> Config:
        """An Alembic config built in code (no alembic.ini needed), bound to this engine."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        return config

    def migrate(self, revision: str = "head") -> None:
        """Apply migrations up to ``revision`` (idempotent; run at start-up)."""
        config = self.alembic_config()
        with translate_errors(), self.engine.connect() as connection:
            # Two processes starting together must not both create the tables: take the write lock first.
            connection.execution_options(**{_SQLITE_BEGIN: "BEGIN IMMEDIATE"})
            with connection.begin():
                if self.dialect == "postgresql":
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})")
                config.attributes["connection"] = connection
                command.upgrade(config, revision)

    def current_revision(self) -> str | None:
        with translate_errors(), self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def require_current_schema(self) -> None:
        """Raise MigrationRequiredError unless the schema is at the newest revision."""
        if self.current_revision() != self.head_revision():
            raise MigrationRequiredError()

    # --- operations -------------------------------------------------------------------------------
    def backup(self, target: str | Path) -> Path:
        """Consistent copy of a live SQLite database via sqlite3's online backup API."""
        if self.dialect != "sqlite":
            raise BackupUnsupportedError()
        target = Path(target)
        if target.exists():
            raise DatabaseError(f"{target} already exists; choose a new file name.")
        target.parent.mkdir(parents=True, exist_ok=True)
        raw = self.engine.raw_connection()
        destination = sqlite3.connect(target)
        try:
            raw.driver_connection.backup(destination)  # type: ignore[union-attr]
        finally:
            destination.close()
            raw.close()
        return target

    def dispose(self) -> None:
        self.engine.dispose()
