"""What every page shares: settings, the one predictor, the one database, and error display.

The two shared getters live here and nowhere else, so the checkpoint is loaded and the database
migrated once per process and shared by every session (``Predictor`` and ``Database`` are thread-safe).
They are :class:`security.shared.SharedResource` objects, not ``st.cache_resource``: Streamlit clears its
caches for the whole process when any browser sends a ``clear_cache`` message. Pages use ``from pages import _resources as res`` and call ``res.get_predictor()`` and
``res.get_database()`` at the moment they need them; tests replace those two attributes.

Settings come from the environment. Top-level values in ``.streamlit/secrets.toml`` are copied into the
environment by Streamlit when :func:`secrets` first reads them (``app.py`` does that on every run), so
``DATABASE_URL`` or ``SCALPSCOPE_WEIGHTS`` may live in either place.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import streamlit as st

from clinic.accounts import DEMO_PASSWORD, DEMO_USERNAME, ensure_demo_clinician
from clinic import active_model, shadow
from config import ConfigurationError, Setting, check_all
from config import app as app_settings
from db import settings as db_settings
from db.consultations import CONSENT_VERSION
from db.engine import Database
from db.errors import DatabaseError, DatabaseUnavailableError, MigrationRequiredError
from db.models import utcnow
from db.stats import Turnaround, turnaround
from scalp_model import settings as model_settings
from scalp_model.errors import ScalpScopeError, WeightsError
from scalp_model.serving.predictor import Predictor
from security.shared import shared_resource
from i18n import _
from pages import _browser  # noqa: F401 - registers the audit trail's origin (where a request comes from)
from pages import _language  # noqa: F401 - registers the session's language for i18n._
from pages import _messages as messages
from pages._messages import UNKNOWN_CODE
from security.text import plain

log = logging.getLogger("scalpscope.app")

# The consent a patient accepts (text and version: db.consultations.CONSENT_TEXT / CONSENT_VERSION).
__all__ = ["CONSENT_VERSION", "DEMO_PASSWORD", "DEMO_USERNAME", "UNKNOWN_CODE", "ensure_demo_clinician"]

# The app's settings are registered in config/app.py (with the registry's one parser per kind).
DEMO, SESSION_TIMEOUT_MIN = app_settings.DEMO, app_settings.SESSION_TIMEOUT_MIN
OIDC_USERNAME_CLAIM, STUDY_ROOT = app_settings.OIDC_USERNAME_CLAIM, app_settings.STUDY_ROOT
APP_SETTINGS: tuple[Setting, ...] = (DEMO, SESSION_TIMEOUT_MIN, OIDC_USERNAME_CLAIM, STUDY_ROOT)

USER_ERRORS = (ScalpScopeError, DatabaseError, ConfigurationError)
_SETUP_ERRORS = (WeightsError, DatabaseUnavailableError, MigrationRequiredError, ConfigurationError)


# --- settings ---------------------------------------------------------------------------------------
def secrets() -> Mapping[str, Any]:
    """``st.secrets`` as a plain dict, or ``{}`` when there is no secrets file (never an error)."""
    try:
        return st.secrets.to_dict()
    except FileNotFoundError:
        return {}


def demo_mode() -> bool:
    """``SCALPSCOPE_DEMO`` is on."""
    return bool(DEMO.get())


def session_timeout_s() -> float:
    """``SCALPSCOPE_SESSION_TIMEOUT_MIN`` in seconds."""
    return SESSION_TIMEOUT_MIN.get() * 60


def study_root() -> Path:
    """``SCALPSCOPE_STUDY_ROOT``, else ``reader-studies`` in the data folder (created when missing)."""
    configured = STUDY_ROOT.get()
    root = configured if configured is not None else db_settings.DATA_DIR.get() / "reader-studies"
    if configured is None:
        root.mkdir(parents=True, exist_ok=True)
    return root


def oidc_configured() -> bool:
    """True when ``[auth]`` in secrets.toml configures ``st.login``."""
    auth = secrets().get("auth")
    return isinstance(auth, Mapping) and bool(auth.get("redirect_uri"))


# --- shared resources -------------------------------------------------------------------------------
@shared_resource(max_entries=4)  # the active model, the one before it (predictions in flight) and shadow models
def _load_predictor(path: str, device: str) -> Predictor:
    predictor = Predictor.from_path(path, device=None if device == "auto" else device)
    log.info("model %s loaded from %s on %s", predictor.version, path, predictor.device)
    return predictor


def serving_model() -> active_model.Serving:
    """What serves new predictions: the registry's active model (re-read every ``SCALPSCOPE_MODEL_POLL_S``
    seconds, so an activation reaches this process without a restart), else ``SCALPSCOPE_WEIGHTS``; the
    latter too while the database cannot be opened."""
    fallback = model_settings.weights_path()
    try:
        database = get_database()
    except DatabaseError as exc:
        log.warning("serving %s: the model registry cannot be read (%s)", fallback, exc)
        return active_model.Serving(path=fallback)
    return active_model.serving(database, fallback)


def _shadow_predictor(path: Path) -> Predictor:
    return _load_predictor(str(path), model_settings.DEVICE.get())


shadow.set_predictor_loader(_shadow_predictor)  # models in shadow score new photos (clinic.shadow)


def get_predictor() -> Predictor:
    """The process-wide predictor of the active model (:func:`serving_model`); raises a ``WeightsError`` when
    unusable."""
    key = (str(serving_model().path), model_settings.DEVICE.get())
    if _load_predictor.has(*key):
        return _load_predictor(*key)
    with st.spinner(_("Loading the model…")):
        return _load_predictor(*key)


@shared_resource(max_entries=4)
def _open_database(url: str, demo: bool) -> Database:
    database = Database.from_url(url)
    database.migrate()
    if demo:
        with database.begin() as session:
            ensure_demo_clinician(session)
    log.info("database ready (%s)", database.dialect)
    return database


def get_database() -> Database:
    """The process-wide database for ``DATABASE_URL`` (default: SQLite under data/), migrated on first use."""
    return _open_database(db_settings.default_database_url(), demo_mode())


@shared_resource(max_entries=16, ttl_s=60)
def _turnaround(url: str, days: int | None) -> Turnaround:
    since = None if days is None else utcnow() - timedelta(days=days)
    with _open_database(url, demo_mode()).session() as session:  # a read: no write lock
        return turnaround(session, since=since)


def cached_turnaround(days: int | None = None) -> Turnaround:
    """``db.stats.turnaround`` for submits in the last ``days`` (None: all time), at most a minute old.

    It reads every reviewed consultation in the window, so pages must not run it on every rerun.
    """
    return _turnaround(db_settings.default_database_url(), days)


# --- errors -----------------------------------------------------------------------------------------
def show_error(exc: BaseException, *, operator: bool = False) -> None:
    """One ``st.error`` for a named error, never a traceback.

    Set-up problems (missing weights, database down) are explained to operators; patients get a plain
    sentence and the operator's detail folded away.
    """
    log.warning("%s: %s", type(exc).__name__, exc)
    if isinstance(exc, _SETUP_ERRORS) and not operator:
        st.error(_(messages.SETUP_PROBLEM), icon=":material/error:")
        with st.expander(_(messages.OPERATOR_DETAILS)):
            st.write(plain(exc))
    else:
        # Messages may quote what someone typed (a study name, a file name): never rendered as Markdown.
        # In another language than English: the message in that language, or its kind's sentence (the core's
        # English message is in the log line above).
        translated = messages.translated(exc)
        st.error(plain(translated if translated is not None else exc), icon=":material/error:")


CONFIGURATION_PROBLEM = ("ScalpScope is not set up correctly, so it cannot serve this page. Nothing you sent has "
                         "been stored. The site operator can fix it with the details below.")


def check_configuration() -> bool:
    """Parse every registered setting (``config.check_all``); for bad ones show one plain message each
    (what is wrong and what is accepted, never a traceback) and return False. ``app.py`` stops then."""
    problems = check_all()
    if not problems:
        return True
    st.error(CONFIGURATION_PROBLEM, icon=":material/settings:")
    for problem in problems:
        log.error("configuration: %s", problem)
        st.error(plain(problem))
    return False


@contextmanager
def friendly_errors(*, operator: bool = False, stop: bool = True) -> Iterator[None]:
    """Show a ``ScalpScopeError`` or database error as ``st.error`` (then stop the page unless told not to).

    Anything else is a bug and propagates to Streamlit's own error handling.
    """
    try:
        yield
    except USER_ERRORS as exc:
        show_error(exc, operator=operator)
        if stop:
            st.stop()
