"""Running one ``db`` data function in its own unit of work, for pages that need nothing more than that
(account administration, reader-study reading and results), as datasette's ``execute`` / ``execute_write``.

``db`` functions take the session first; these run ``fn(session, *args, **kwargs)`` and return its result.
ORM objects stay readable afterwards (``expire_on_commit=False``); relationships not loaded inside do not.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from db.engine import Database

P = ParamSpec("P")
T = TypeVar("T")


def read(database: Database, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn`` in a read transaction: no SQLite write lock, nothing committed (a write inside is rolled back)."""
    with database.session() as session:
        return fn(session, *args, **kwargs)


def write(database: Database, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn`` in one unit of work: committed when it returns, rolled back when it raises (which propagates)."""
    with database.begin() as session:
        return fn(session, *args, **kwargs)
