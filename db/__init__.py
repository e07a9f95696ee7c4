"""ScalpScope's data layer: SQLAlchemy 2.0 models, one :class:`Database` owning engine and sessions,
and data functions that take a session. Never imports Streamlit or torch."""

from db.engine import Database
from db.errors import DatabaseError

__all__ = ["Database", "DatabaseError"]
