"""Accounts the app itself creates (the demo clinician of ``SCALPSCOPE_DEMO=1``) and single sign-on."""
from __future__ import annotations

from sqlalchemy.orm import Session

from db.engine import Database
from db.errors import ValidationError
from db.users import Clinician, create_user, get_clinician, record_sign_in

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


def single_sign_on(database: Database, username: str) -> Clinician | None:
    """The clinician account an identity provider's claim names, its sign-in audited (``via="oidc"``), in one
    unit of work; None (nothing audited) when the claim is empty or names no account."""
    with database.begin() as session:
        clinician = get_clinician(session, username) if username else None
        if clinician is not None:
            record_sign_in(session, clinician, "oidc")
        return clinician
