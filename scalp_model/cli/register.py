"""``register``: add a checkpoint (checked with its model card) to the clinic's model registry as a candidate.

The files are copied into ``SCALPSCOPE_MODELS_DIR``; the database is ``--database-url``, else ``DATABASE_URL``,
else the default SQLite file. Audited as ``model.register`` by the operator (``system``). It never activates.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import WeightsError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="checkpoint (.pt) with its model card (.md) beside it")
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL (default: DATABASE_URL)")
    parser.add_argument("--models-dir", type=Path, default=None,
                        help="folder the files are copied into (default: SCALPSCOPE_MODELS_DIR)")


def main(args: argparse.Namespace) -> int:
    from clinic.models import register_checkpoint  # the application layer: database and files
    from db import audit
    from db.engine import Database
    from db.errors import DatabaseError

    database = Database.from_url(args.database_url) if args.database_url else Database.from_env()
    try:
        database.require_current_schema()
        entry = register_checkpoint(database, args.file, actor=audit.SYSTEM, models_dir=args.models_dir)
    except (WeightsError, DatabaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except OSError as exc:
        print(f"error: could not copy the files into the models folder: {exc}", file=sys.stderr)
        return 3
    finally:
        database.dispose()
    print(f"Registered '{entry.version}' (sha256 {entry.sha256[:12]}…, {entry.architecture}, threshold "
          f"{entry.threshold:.2f}) as a candidate, file {entry.file_name}. Activate it on the model page.")
    return 0
