"""Environment settings read by ``db``, declared once with name, default and help.

``tests/db/test_settings.py`` fails when a setting here is missing from ``db/README.md``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str

    def get(self) -> str:
        """The environment value, or the default when unset or empty."""
        return os.environ.get(self.name) or self.default


DATABASE_URL = Setting(
    "DATABASE_URL",
    "",
    "SQLAlchemy URL of the database. Empty: SQLite file scalpscope.db in SCALPSCOPE_DATA_DIR. "
    "PostgreSQL: postgresql+psycopg://user:password@host:5432/dbname.",
)
DATA_DIR = Setting(
    "SCALPSCOPE_DATA_DIR",
    str(REPO_ROOT / "data"),
    "Folder holding the default SQLite database (created when missing).",
)
CODE_PEPPER = Setting(
    "SCALPSCOPE_CODE_PEPPER",
    "",
    "Secret key for hashing patient access codes (HMAC-SHA256). Empty: a random per-database secret "
    "kept in the app_settings table. Changing it invalidates every issued access code.",
)
BUSY_TIMEOUT_MS = Setting(
    "SCALPSCOPE_DB_BUSY_TIMEOUT_MS",
    "5000",
    "How long a SQLite write waits for another writer before DatabaseBusyError, in milliseconds.",
)

SETTINGS: tuple[Setting, ...] = (DATABASE_URL, DATA_DIR, CODE_PEPPER, BUSY_TIMEOUT_MS)


def default_database_url() -> str:
    """``DATABASE_URL`` if set, else the SQLite file in the data folder."""
    url = DATABASE_URL.get()
    if url:
        return url
    return f"sqlite:///{Path(DATA_DIR.get()).expanduser().resolve() / 'scalpscope.db'}"
