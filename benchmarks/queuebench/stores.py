"""The databases measured: a fresh SQLite file, a private (or given) PostgreSQL; their sizes on disk."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select

from db.engine import Database
from db.models import ConsultImage, Prediction
from db.testing_pg import create_database, temporary_postgres


@contextmanager
def sqlite_database(workdir: Path) -> Iterator[Database]:
    """A new SQLite database ``bench.db`` in ``workdir`` (any old one removed)."""
    path = workdir / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    database = Database.from_url(f"sqlite:///{path}")
    try:
        yield database
    finally:
        database.dispose()


@contextmanager
def postgres_database(target: str) -> Iterator[Database]:
    """``auto``: a private PostgreSQL server (fsync on), removed afterwards; else the database at the URL."""
    if target == "auto":
        # fsync stays on (durable=True): review saves and look-ups commit, and their latency should count it.
        with temporary_postgres(durable=True, settings=["shared_buffers=256MB"]) as server:
            database = Database.from_url(create_database(server, "scalpscope_bench"))
            try:
                yield database
            finally:
                database.dispose()
        return
    database = Database.from_url(target)
    try:
        yield database
    finally:
        database.dispose()


def database_bytes(database: Database) -> int:
    """Bytes on disk: the SQLite file after a WAL checkpoint, or ``pg_database_size``."""
    if database.dialect == "sqlite":
        with database.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            path = conn.engine.url.database
        return sum(os.path.getsize(f"{path}{s}") for s in ("", "-wal") if os.path.exists(f"{path}{s}"))
    with database.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one())


def blob_bytes(database: Database) -> int:
    """Bytes of image and overlay data stored (what a realistic photo would replace)."""
    with database.session() as s:
        images = s.scalar(select(func.coalesce(func.sum(ConsultImage.size_bytes), 0))) or 0
        overlays = s.scalar(select(func.coalesce(func.sum(func.length(Prediction.overlay_png)), 0))) or 0
    return int(images) + int(overlays)


def analyze(database: Database) -> None:
    """PostgreSQL: VACUUM ANALYZE after a bulk load (autovacuum would do it shortly; measure settled plans)."""
    if database.dialect == "postgresql":
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
