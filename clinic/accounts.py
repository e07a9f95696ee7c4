"""Accounts the app itself creates: the demo clinician of ``SCALPSCOPE_DEMO=1``."""
from __future__ import annotations

from sqlalchemy.orm import Session

from db.errors import ValidationError
from db.users import create_user, get_clinician

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password-123"  # as documented in README.md


def ensure_demo_clinician(session: Session) -> None:
    """Create the demo dermatologist once (idempotent; also when two processes race)."""
    if get_clinician(session, DEMO_USERNAME) is not None:
        return
    try:
        with session.begin_nested():
            create_user(session, DEMO_USERNAME, DEMO_PASSWORD, is_demo=True)
    except ValidationError:  # created by another process meanwhile
        if get_clinician(session, DEMO_USERNAME) is None:
            raise
