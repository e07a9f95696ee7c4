"""Which checkpoint serves new predictions in this process (issue 20): the registry's active model, read from the
database at most every ``SCALPSCOPE_MODEL_POLL_S`` seconds, so an activation by an admin in any process reaches
every process (several on one PostgreSQL included) within that time, without a restart.

While no model has been activated the process serves ``SCALPSCOPE_WEIGHTS`` (the fallback the caller passes).
When the database cannot be read the last answer is kept (or the fallback before any answer), so a database
hiccup never changes the model.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from db import model_registry as registry
from db import settings as db_settings
from db.engine import Database
from db.errors import DatabaseError
from db.model_registry import ModelEntry

log = logging.getLogger("scalpscope.models")


@dataclass(frozen=True)
class Serving:
    """The checkpoint to serve: its ``path``, and the registry's active entry (None: ``SCALPSCOPE_WEIGHTS`` while
    no model is active); ``shadow``: the models scored in shadow on new photos."""

    path: Path
    entry: ModelEntry | None = None
    shadow: tuple[ModelEntry, ...] = field(default_factory=tuple)


@dataclass
class _Known:
    read_at: float
    active: ModelEntry | None
    shadow: tuple[ModelEntry, ...]


class ActiveModelWatch:
    """The registry's answer per database, re-read once it is older than ``ttl_s()`` seconds (thread-safe)."""

    def __init__(self, ttl_s: Callable[[], float] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s or (lambda: float(db_settings.MODEL_POLL_S.get()))
        self._clock = clock
        self._known: dict[str, _Known] = {}
        self._lock = threading.Lock()

    def serving(self, database: Database, fallback: Path, models_dir: Path | None = None) -> Serving:
        """What this process serves now: the active model's file in the models folder, else ``fallback``."""
        known = self._current(database)
        shadow = () if known is None else known.shadow
        if known is None or known.active is None:
            return Serving(path=fallback, shadow=shadow)
        folder = models_dir or db_settings.models_dir()
        return Serving(path=folder / known.active.file_name, entry=known.active, shadow=shadow)

    def shadow_models(self, database: Database) -> tuple[ModelEntry, ...]:
        """The models in shadow, as last read (at most ``ttl_s()`` seconds ago)."""
        known = self._current(database)
        return () if known is None else known.shadow

    def forget(self) -> None:
        """Drop every remembered answer (the next call reads the database)."""
        with self._lock:
            self._known.clear()

    def _current(self, database: Database) -> _Known | None:
        key = str(database.engine.url)
        now = self._clock()
        with self._lock:
            known = self._known.get(key)
            if known is not None and now - known.read_at < self._ttl_s():
                return known
        try:
            with database.session() as session:
                fresh = _Known(now, registry.active_model(session), tuple(registry.shadow_models(session)))
        except DatabaseError as exc:
            log.warning("could not read the active model (%s); keeping the one served", exc)
            return known
        with self._lock:
            previous = self._known.get(key)
            if previous is None or (previous.active and previous.active.id) != (fresh.active and fresh.active.id):
                log.info("active model: %s", fresh.active.version if fresh.active else "SCALPSCOPE_WEIGHTS")
            self._known[key] = fresh
        return fresh


WATCH = ActiveModelWatch()


def serving(database: Database, fallback: Path) -> Serving:
    """:meth:`ActiveModelWatch.serving` of the process-wide watch."""
    return WATCH.serving(database, fallback)
