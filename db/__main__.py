"""Operator command line: ``python -m db {migrate,create-user,unlock-user,reset-password,export-training,backup,seed-demo} ...``.

The database is ``--database-url`` (before or after the command), else ``DATABASE_URL``, else the
default SQLite file. Commands that need the schema create it on a brand-new database (as the app
does); a database at an older revision is refused until ``python -m db migrate`` is run.
Exit status: 0 ok, 1 a named database error (message on stderr), 2 bad usage.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from config import ConfigurationError
from db import audit, settings
from db.demo import seed_demo
from db.engine import Database
from db.errors import DatabaseError
from db.export import export_training
from db.models import Role
from db.users import MIN_PASSWORD_LENGTH, create_user, reset_password, unlock_user


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m db", description="ScalpScope database administration.")
    parser.add_argument(
        "--database-url",
        default=None,
        help=f"SQLAlchemy URL (default: ${settings.DATABASE_URL.name} or SQLite in the data folder)",
    )
    # Also accepted after the command name (``python -m db seed-demo 1000 --database-url URL``).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", default=argparse.SUPPRESS, help="SQLAlchemy URL (as before the command)")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("migrate", parents=[common], help="create or upgrade the schema to the newest revision")

    user = commands.add_parser(
        "create-user", parents=[common], help="add a clinician account (password asked without echo)"
    )
    user.add_argument("username")
    user.add_argument(
        "--role", choices=[r.value for r in Role], default=Role.DERMATOLOGIST.value, help="default: %(default)s"
    )
    user.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    user.add_argument("--demo", action="store_true", help="mark as a demo account")

    unlock = commands.add_parser(
        "unlock-user", parents=[common], help="end an account's lock-out after failed sign-ins (audited)"
    )
    unlock.add_argument("username")

    reset = commands.add_parser(
        "reset-password", parents=[common], help="set a new password for an account, ending any lock-out (audited)"
    )
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")

    export = commands.add_parser(
        "export-training", parents=[common], help="write reviewed images as an ImageFolder tree + groups.csv"
    )
    export.add_argument("directory", help="new or empty folder")
    export.add_argument("--include-demo", action="store_true", help="also export demo consultations")
    export.add_argument("--other-diagnoses", action="store_true",
                        help="also the other coded diagnoses, under DIR/other_diagnoses/<code>/ + other_diagnoses.csv")

    backup = commands.add_parser("backup", parents=[common], help="online backup of a SQLite database to a new file")
    backup.add_argument("file")

    seed = commands.add_parser(
        "seed-demo", parents=[common], help="add N synthetic consultations, all marked is_demo (see db/demo/)"
    )
    seed.add_argument("n", type=int, help="number of consultations, e.g. 200 or 100000")
    seed.add_argument("--seed", type=int, default=None, help="random seed for the content (default: random)")
    seed.add_argument("--weeks", type=float, default=6.0, help="spread submit times over this many weeks (%(default)s)")
    return parser


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass(f"Password (at least {MIN_PASSWORD_LENGTH} characters): ")
    if password != getpass.getpass("Repeat password: "):
        raise SystemExit("Passwords do not match.")
    return password


def _ready(database: Database) -> None:
    """Make a brand-new database usable, as the app does at start-up; refuse an older schema.

    A database with no schema at all (no Alembic revision, e.g. the first ``create-user`` on a fresh
    machine) is migrated to the newest revision, with a line on stderr. A database at an older revision
    keeps raising ``MigrationRequiredError``: upgrading live data stays the operator's explicit
    ``python -m db migrate``.
    """
    if database.current_revision() is None:
        database.migrate()
        print(f"New database: created the schema (revision {database.current_revision()}).", file=sys.stderr)
        return
    database.require_current_schema()


def _progress(done: int, total: int) -> None:
    if total >= 20_000 and (done % 10_000 == 0 or done == total):
        print(f"  {done:,} / {total:,}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    try:
        database = Database.from_url(args.database_url) if args.database_url else Database.from_env()
    except ConfigurationError as exc:  # e.g. SCALPSCOPE_DB_BUSY_TIMEOUT_MS=soon: say which setting, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "migrate":
            database.migrate()
            print(f"Schema at revision {database.current_revision()}.")
        elif args.command == "create-user":
            password = _read_password(args.password_stdin)
            _ready(database)
            with database.begin() as session:
                clinician = create_user(session, args.username, password, args.role, is_demo=args.demo)
            print(f"Created {clinician.role} {clinician.username!r}.")
        elif args.command == "unlock-user":
            _ready(database)
            with database.begin() as session:
                was_locked = unlock_user(session, args.username)
            print(f"Unlocked {args.username!r}." if was_locked else f"{args.username!r} was not locked; "
                  "its failure count is reset.")
        elif args.command == "reset-password":
            password = _read_password(args.password_stdin)
            _ready(database)
            with database.begin() as session:
                reset_password(session, args.username, password)
            print(f"New password set for {args.username!r}; the account is unlocked.")
        elif args.command == "export-training":
            _ready(database)
            with database.session() as session:
                summary = export_training(session, args.directory, include_demo=args.include_demo,
                                          other_diagnoses=args.other_diagnoses)
            with database.begin() as session:
                audit.record(session, audit.SYSTEM, "export.training", detail=summary.audit_detail())
            counts = ", ".join(f"{label}: {n}" for label, n in summary.per_label.items())
            print(f"Exported {summary.images} images of {summary.consultations} consultations: {counts}.")
        elif args.command == "backup":
            print(f"Backed up to {database.backup(args.file)}.")
        elif args.command == "seed-demo":
            _ready(database)
            summary = seed_demo(database, args.n, seed=args.seed, weeks=args.weeks, progress=_progress)
            counts = ", ".join(f"{status}: {n}" for status, n in summary.per_status.items())
            print(
                f"Seeded {summary.consultations} demo consultations ({summary.images} images, {summary.reviews} "
                f"reviews) in {summary.seconds:.1f} s: {counts}."
            )
            for code, public_id, status in summary.sample_codes:
                print(f"  access code {code}  ({status}, consultation {public_id})")
    except (DatabaseError, ConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
