"""Environment settings read by ``db``, registered with :mod:`config` (name, default, parser, help).

``db/README.md`` documents them (``tests/db/test_engine.py`` and ``tests/test_config.py`` check it).
An empty value means unset.
"""

from __future__ import annotations

from pathlib import Path

from config import Setting, parsers, register

REPO_ROOT = Path(__file__).resolve().parent.parent

DATABASE_URL = register(
    "DATABASE_URL",
    None,
    parsers.TEXT,
    "SQLAlchemy URL of the database. Empty: SQLite file scalpscope.db in SCALPSCOPE_DATA_DIR. "
    "PostgreSQL: postgresql+psycopg://user:password@host:5432/dbname.",
)
DATA_DIR = register(
    "SCALPSCOPE_DATA_DIR",
    REPO_ROOT / "data",
    parsers.PATH,
    "Folder holding the default SQLite database (created when missing).",
)
CODE_PEPPER = register(
    "SCALPSCOPE_CODE_PEPPER",
    None,
    parsers.TEXT,
    "Secret key for hashing patient access codes (HMAC-SHA256). Empty: a random per-database secret "
    "kept in the app_settings table. Changing it invalidates every issued access code.",
)
BUSY_TIMEOUT_MS = register(
    "SCALPSCOPE_DB_BUSY_TIMEOUT_MS",
    5000,
    parsers.POSITIVE_INTEGER,
    "How long a SQLite write waits for another writer before DatabaseBusyError, in milliseconds.",
)
MODELS_DIR = register(
    "SCALPSCOPE_MODELS_DIR",
    None,
    parsers.PATH,
    "Folder of the registered models' checkpoints and cards (issue 20). Empty: models/ in SCALPSCOPE_DATA_DIR.",
)
MODEL_POLL_S = register(
    "SCALPSCOPE_MODEL_POLL_S",
    3.0,
    parsers.POSITIVE_NUMBER,
    "Seconds an app process keeps its answer to 'which model is active' before asking the database again; a "
    "model activated by an admin serves new predictions in every process within this time.",
)
# For the test suite's throwaway PostgreSQL servers (db/testing_pg.py).
PG_BIN = register(
    "SCALPSCOPE_PG_BIN",
    Path("/usr/lib/postgresql/15/bin"),
    parsers.PATH,
    "Folder of the PostgreSQL server binaries (initdb, pg_ctl) the tests start a throwaway server with.",
    test_switch=True,
)

SETTINGS: tuple[Setting, ...] = (DATABASE_URL, DATA_DIR, CODE_PEPPER, BUSY_TIMEOUT_MS, MODELS_DIR, MODEL_POLL_S)


def default_database_url() -> str:
    """``DATABASE_URL`` if set, else the SQLite file in the data folder."""
    url = DATABASE_URL.get()
    if url:
        return url
    return f"sqlite:///{DATA_DIR.get().resolve() / 'scalpscope.db'}"


def models_dir() -> Path:
    """``SCALPSCOPE_MODELS_DIR``, else ``models`` in the data folder (not created here)."""
    configured = MODELS_DIR.get()
    return configured if configured is not None else DATA_DIR.get() / "models"
