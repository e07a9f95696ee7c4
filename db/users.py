"""Clinician accounts: argon2 password hashes, failed-login counting, temporary lock-out and unlock.

Two limits work together. An account is locked for 15 minutes after 5 failed sign-ins in a row (whoever
made them); a client address with 10 failed sign-ins in 15 minutes is refused before any password is
checked, so one client can lock at most two accounts in that time instead of every account it can name.
An administrator can unlock an account at once (:func:`unlock_user`, the Accounts page, ``python -m db
unlock-user``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import audit
from db.errors import AccountLockedError, ClientThrottledError, InvalidCredentialsError, NotFoundError, ValidationError
from db.models import AuditEvent, Role, User, utcnow

MAX_FAILED_LOGINS = 5  # db.errors.SIGN_IN_FAILED names these two numbers
LOCKOUT = timedelta(minutes=15)
MAX_CLIENT_FAILURES = 2 * MAX_FAILED_LOGINS  # failed sign-ins from one client address per CLIENT_WINDOW
CLIENT_WINDOW = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

_hasher = PasswordHasher()  # thread-safe; parameters are argon2-cffi's current recommendation


@cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both failures take the same time."""
    return _hasher.hash("not-a-real-password-just-timing")


@dataclass(frozen=True)
class Clinician:
    """A logged-in clinician: plain values, safe to keep in a UI session and to pass between threads."""

    id: int
    username: str
    role: str
    is_demo: bool

    @property
    def actor(self) -> str:
        return audit.clinician_actor(self.username)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @classmethod
    def from_user(cls, user: User) -> Clinician:
        return cls(id=user.id, username=user.username, role=user.role, is_demo=user.is_demo)


def normalise_username(username: str) -> str:
    return username.strip().lower()


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str = Role.DERMATOLOGIST,
    *,
    is_demo: bool = False,
    actor: str = audit.SYSTEM,
) -> Clinician:
    """Add an account; the password is stored only as an argon2id hash."""
    username = normalise_username(username)
    if not USERNAME_PATTERN.fullmatch(username):
        raise ValidationError(
            f"Username {username!r} is not allowed: use 2-64 characters from a-z, 0-9, '.', '_', '-' "
            "starting with a letter or digit."
        )
    if role not in set(Role):
        raise ValidationError(f"Role {role!r} is not one of {[r.value for r in Role]}.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValidationError(f"A user called {username!r} already exists.")
    user = User(username=username, role=role, password_hash=_hasher.hash(password), is_demo=is_demo)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", detail={"username": username, "role": role})
    return Clinician.from_user(user)


def client_failures(session: Session, client: str, *, now: datetime | None = None) -> int:
    """Failed sign-ins recorded for ``client`` (an address) in the last :data:`CLIENT_WINDOW`."""
    since = (now or utcnow()) - CLIENT_WINDOW
    return session.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "user.login_failed", AuditEvent.created_at >= since,
            AuditEvent.detail["client"].as_string() == client)
    ) or 0


def authenticate(session: Session, username: str, password: str, *, client: str | None = None,
                 now: datetime | None = None) -> Clinician:
    """Check a password, counting failures; the 5th failure in a row locks the account for 15 minutes.

    ``client`` (default: the address of the request being served, see :func:`db.audit.current_origin`)
    with :data:`MAX_CLIENT_FAILURES` failed sign-ins in :data:`CLIENT_WINDOW` is refused with
    ClientThrottledError before the account is looked at. Raises InvalidCredentialsError,
    AccountLockedError or ClientThrottledError, all ``keeps_changes`` errors, so inside
    ``with db.begin()`` the failure count and its audit event are committed before the error propagates.
    """
    now = now or utcnow()
    origin = audit.current_origin()
    if client is None and origin is not None:
        client = origin.client
    if client is not None and origin is None:
        origin = audit.Origin(client=client)
    if client is not None and client_failures(session, client, now=now) >= MAX_CLIENT_FAILURES:
        audit.record(session, audit.ANONYMOUS, "user.login_failed", detail={"reason": "client_throttled"},
                     origin=origin)
        raise ClientThrottledError()
    username = normalise_username(username)
    user = session.scalar(select(User).where(User.username == username).with_for_update())
    if user is None:
        _verify(_dummy_hash(), password)
        # The typed name is not logged: people sometimes type their password into the username box.
        audit.record(session, audit.ANONYMOUS, "user.login_failed", detail={"reason": "unknown_user"}, origin=origin)
        raise InvalidCredentialsError()
    actor = audit.clinician_actor(user.username)
    if user.locked_until is not None and user.locked_until > now:
        audit.record(session, actor, "user.login_failed", detail={"reason": "locked"}, origin=origin)
        raise AccountLockedError(user.locked_until)
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.failed_logins = 0
            user.locked_until = now + LOCKOUT
            audit.record(session, actor, "user.login_failed", detail={"reason": "locked_now"}, origin=origin)
            raise AccountLockedError(user.locked_until)
        audit.record(session, actor, "user.login_failed", detail={"reason": "bad_password"}, origin=origin)
        raise InvalidCredentialsError()
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    audit.record(session, actor, "user.login", origin=origin)
    return Clinician.from_user(user)


SIGN_OUT_REASONS = frozenset({"sign_out", "timeout", "client_mismatch"})


def record_sign_in(session: Session, clinician: Clinician, method: str) -> None:
    """Audit a sign-in checked elsewhere (single sign-on through ``st.login``)."""
    audit.record(session, clinician.actor, "user.login", detail={"method": method})


def record_sign_out(session: Session, clinician: Clinician, reason: str) -> None:
    """Audit the end of a clinician's session: ``sign_out`` (the button), ``timeout`` (idle too long) or
    ``client_mismatch`` (the session was reached from a browser without its cookie)."""
    if reason not in SIGN_OUT_REASONS:
        raise ValidationError(f"Unknown sign-out reason {reason!r}.")
    audit.record(session, clinician.actor, "user.logout", detail={"reason": reason})


@dataclass(frozen=True)
class LockedAccount:
    username: str
    locked_until: datetime


def locked_accounts(session: Session, *, now: datetime | None = None) -> list[LockedAccount]:
    """Accounts locked right now, by name."""
    now = now or utcnow()
    users = session.scalars(select(User).where(User.locked_until > now).order_by(User.username))
    return [LockedAccount(u.username, u.locked_until) for u in users]


def unlock_user(session: Session, username: str, *, actor: Clinician | None = None) -> bool:
    """End an account's lock-out and reset its failure count; audited as ``user.unlock``.

    ``actor`` must be an admin (None: the operator's command line). Returns whether it was locked.
    """
    if actor is not None and not actor.is_admin:
        raise ValidationError("Only an administrator can unlock accounts.")
    user = session.scalar(select(User).where(User.username == normalise_username(username)).with_for_update())
    if user is None:
        raise NotFoundError(f"No account called {normalise_username(username)!r}.")
    was_locked = user.locked_until is not None and user.locked_until > utcnow()
    user.locked_until = None
    user.failed_logins = 0
    audit.record(session, actor.actor if actor else audit.SYSTEM, "user.unlock",
                 detail={"username": user.username, "was_locked": was_locked})
    return was_locked


def reset_password(session: Session, username: str, new_password: str, *, actor: Clinician | None = None) -> None:
    """Give an account a new password (at least :data:`MIN_PASSWORD_LENGTH` characters), which also ends
    its lock-out and resets its failure count; audited as ``user.password_reset`` (never the password).

    ``actor`` must be an admin (None: the operator's command line).
    """
    if actor is not None and not actor.is_admin:
        raise ValidationError("Only an administrator can reset passwords.")
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")
    user = session.scalar(select(User).where(User.username == normalise_username(username)).with_for_update())
    if user is None:
        raise NotFoundError(f"No account called {normalise_username(username)!r}.")
    user.password_hash = _hasher.hash(new_password)
    user.locked_until = None
    user.failed_logins = 0
    audit.record(session, actor.actor if actor else audit.SYSTEM, "user.password_reset",
                 detail={"username": user.username})


def get_clinician(session: Session, username: str) -> Clinician | None:
    user = session.scalar(select(User).where(User.username == normalise_username(username)))
    return Clinician.from_user(user) if user else None


def list_clinicians(session: Session) -> list[Clinician]:
    return [Clinician.from_user(u) for u in session.scalars(select(User).order_by(User.username))]


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
