"""Password hashing, failed-login counting and lock-out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from db import users
from db.audit import list_events
from db.engine import Database
from db.errors import SIGN_IN_FAILED, AccountLockedError, InvalidCredentialsError, ValidationError
from db.models import User, utcnow
from db.users import LOCKOUT, MAX_FAILED_LOGINS, authenticate, create_user, list_clinicians
from tests.db.builders import TEST_PASSWORD


def login(database: Database, username: str, password: str, now=None):  # type: ignore[no-untyped-def]
    with database.begin() as s:
        return authenticate(s, username, password, now=now)


def test_password_stored_as_argon2_hash(database: Database) -> None:
    with database.begin() as s:
        clinician = create_user(s, "  Carol ", TEST_PASSWORD, "admin")
    assert clinician.username == "carol" and clinician.is_admin and clinician.actor == "clinician:carol"
    with database.session() as s:
        stored = s.scalar(select(User.password_hash).where(User.username == "carol"))
    assert stored.startswith("$argon2id$") and TEST_PASSWORD not in stored
    assert login(database, "CAROL", TEST_PASSWORD) == clinician


@pytest.mark.parametrize(
    "username, password, role, message",
    [
        ("x", TEST_PASSWORD, "dermatologist", "not allowed"),
        ("dave", "short", "dermatologist", "at least"),
        ("dave", TEST_PASSWORD, "nurse", "Role"),
        ("alice", TEST_PASSWORD, "dermatologist", "already exists"),
    ],
)
def test_create_user_rejects(database: Database, clinicians, username, password, role, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match=message), database.begin() as s:
        create_user(s, username, password, role)


def test_lockout_after_repeated_failures(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(InvalidCredentialsError):
            login(database, "alice", "wrong password!!", now)
    with pytest.raises(AccountLockedError) as locked:
        login(database, "alice", "wrong password!!", now)
    assert locked.value.locked_until == now + LOCKOUT
    with pytest.raises(AccountLockedError) as still_locked:
        login(database, "alice", TEST_PASSWORD, now + timedelta(minutes=1))
    assert str(still_locked.value) == str(InvalidCredentialsError()) == SIGN_IN_FAILED  # no hint that alice exists
    # The message states the policy in words; it must say what db.users enforces.
    assert f"after {MAX_FAILED_LOGINS} failed attempts" in SIGN_IN_FAILED
    assert f"for {LOCKOUT.total_seconds() / 60:.0f} minutes" in SIGN_IN_FAILED
    assert login(database, "bob", TEST_PASSWORD, now).username == "bob"  # others unaffected
    assert login(database, "alice", TEST_PASSWORD, now + LOCKOUT + timedelta(seconds=1)).username == "alice"
    with database.session() as s:
        alice = s.scalar(select(User).where(User.username == "alice"))
        assert alice.failed_logins == 0 and alice.locked_until is None
        reasons = [e.detail.get("reason") for e in list_events(s, action="user.login_failed")]
    assert reasons == ["bad_password"] * (MAX_FAILED_LOGINS - 1) + ["locked_now", "locked"]


def test_unknown_user_is_a_plain_failure_and_not_logged_by_name(database: Database) -> None:
    with pytest.raises(InvalidCredentialsError, match="Wrong username or password"):
        login(database, "my-secret-password", "whatever")
    with database.session() as s:
        [event] = list_events(s)
    assert event.actor == "anonymous" and "my-secret-password" not in str(event.detail)


def test_outdated_hash_is_upgraded_on_login(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    weak = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1).hash(TEST_PASSWORD)
    with database.begin() as s:
        s.execute(update(User).where(User.username == "bob").values(password_hash=weak))
    login(database, "bob", TEST_PASSWORD)
    with database.session() as s:
        upgraded = s.scalar(select(User.password_hash).where(User.username == "bob"))
    assert upgraded != weak and not users._hasher.check_needs_rehash(upgraded)
    with database.session() as s:
        assert [c.username for c in list_clinicians(s)] == ["alice", "bob", "root"]
