"""Named errors whose messages a clinician, a patient or an operator can act on.

Everything ``db`` raises on purpose derives from :class:`DatabaseError`, so the app can turn all of them
into a friendly message in one place while genuine bugs still surface. Driver-level failures are
translated into these in exactly one place: :func:`db.engine.translate_errors`.
"""

from __future__ import annotations

from datetime import datetime


class DatabaseError(Exception):
    """Base class for errors whose message is safe to show to a user.

    ``keeps_changes`` marks errors that report bookkeeping which must survive the failure (a failed
    login is counted even though the login fails): :meth:`db.engine.Database.begin` commits the unit
    of work before re-raising those, and rolls back for every other exception.
    """

    keeps_changes: bool = False
    default_message = "The database could not complete the request."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)


class DatabaseBusyError(DatabaseError):
    """SQLite stayed locked by another writer for longer than the busy timeout (or a PostgreSQL lock
    or serialisation conflict): retrying shortly usually works."""

    default_message = "The database is busy with another request. Please try again in a moment."


class DatabaseUnavailableError(DatabaseError):
    """The database server cannot be reached, or the database file cannot be opened."""

    default_message = "The database cannot be reached. Check that the server is running and DATABASE_URL is right."


class MigrationRequiredError(DatabaseError):
    """The schema is missing or older than the code: run ``python -m db migrate``."""

    default_message = "The database schema is out of date. Run `python -m db migrate`."


class ValidationError(DatabaseError, ValueError):
    """A value handed to a data function is outside what the schema allows."""


class NotFoundError(DatabaseError, LookupError):
    """The requested row does not exist (or the caller may not know whether it does)."""

    default_message = "Not found."


class UnknownAccessCodeError(NotFoundError):
    """No consultation has this access code. Deliberately says nothing more."""

    default_message = "No consultation matches this access code. Check the code and try again."


class InvalidTransitionError(DatabaseError):
    """A consultation cannot move from its current status to the requested one."""

    def __init__(self, public_id: str, current: str, wanted: str, reason: str = "") -> None:
        self.public_id, self.current, self.wanted = public_id, current, wanted
        detail = f" ({reason})" if reason else ""
        super().__init__(f"Consultation {public_id} is '{current}' and cannot become '{wanted}'{detail}.")


# One message for every failed sign-in. A separate "account locked" message would tell whoever tries five
# passwords on a name whether that name is an account (unknown names never lock), so the lock-out is named
# as a possibility instead; the audit trail keeps the real reason.
SIGN_IN_FAILED = ("Wrong username or password, or the account is locked after 5 failed attempts in a row "
                  "(for 15 minutes). Try again later or ask an administrator.")


class InvalidCredentialsError(DatabaseError):
    """Unknown username or wrong password; which of the two is never revealed."""

    keeps_changes = True
    default_message = SIGN_IN_FAILED


class AccountLockedError(DatabaseError):
    """Too many failed logins: the account is locked until ``locked_until`` (UTC).

    Its message is the same as for a wrong password (see ``SIGN_IN_FAILED``); ``locked_until`` is for
    operators and tests, never for the sign-in form.
    """

    keeps_changes = True
    default_message = SIGN_IN_FAILED

    def __init__(self, locked_until: datetime) -> None:
        self.locked_until = locked_until
        super().__init__()


class ClientThrottledError(DatabaseError):
    """Too many failed sign-ins from one client address: its attempts are refused for a while without
    checking any password, so it cannot go on locking accounts. Says nothing about any account."""

    keeps_changes = True
    default_message = ("Too many failed sign-ins from this network address. Wait 15 minutes and try again, "
                       "or ask an administrator.")


class BackupUnsupportedError(DatabaseError):
    """The built-in online backup only exists for SQLite."""

    default_message = (
        "`python -m db backup` only backs up SQLite databases. For PostgreSQL use "
        "`pg_dump --format=custom --file=BACKUP.dump \"$DATABASE_URL\"` (drop the '+psycopg' from the URL)."
    )
