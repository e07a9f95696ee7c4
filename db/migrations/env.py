"""Alembic environment: runs on the connection handed over by ``Database.migrate()``, or on
``DATABASE_URL`` / the default SQLite file when invoked as ``alembic -c db/alembic.ini ...``."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from db.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things in place
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from db.engine import Database

    database = Database.from_env()
    try:
        with database.engine.begin() as connection:
            _run(connection)
    finally:
        database.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run `python -m db migrate`.")
run_migrations_online()
