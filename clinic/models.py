"""Models as versions (issue 20): registering a checkpoint, activating (and so rolling back) a registered model,
shadow runs; each call one unit of work (rules and audit rows in :mod:`db.model_registry`, file checks in
:mod:`scalp_model.serving.registry_files`)."""
from __future__ import annotations

from pathlib import Path

from clinic import active_model
from db import model_registry as registry
from db import settings as db_settings
from db.engine import Database
from db.errors import DatabaseError
from db.model_registry import ModelEntry, ModelGoneError
from db.users import Clinician
from i18n import N_, worded
from scalp_model.serving.registry_files import copy_into, inspect_for_registry

__all__ = ["AdminOnlyError", "ModelEntry", "ModelGoneError", "activate", "list_models", "model_path",
           "incoming_folder", "poll_seconds", "register_as", "register_checkpoint", "registrable_files",
           "set_shadow"]


class AdminOnlyError(DatabaseError):
    """Only an administrator registers, activates or runs models in shadow."""

    default_message = N_("Only an administrator can change the registered models.")


def register_checkpoint(database: Database, path: Path | str, *, actor: str,
                        models_dir: Path | None = None) -> ModelEntry:
    """Check ``path`` and its model card, copy both (and its plots) into the models folder
    (``SCALPSCOPE_MODELS_DIR``) and register it as a candidate, audited as ``model.register`` by ``actor``.

    Raises ``WeightsError`` subclasses for a checkpoint or card that cannot be used (nothing is copied or
    stored), ``ValidationError`` for a file or version already registered, ``OSError`` when the folder is not
    writable.
    """
    facts = inspect_for_registry(path)
    with database.session() as session:  # refuse a duplicate before copying anything
        for entry in registry.list_models(session):
            if facts.sha256 == entry.sha256 or facts.version == entry.version:
                raise worded(registry.ValidationError, N_(
                    "This file (same sha256) is already registered as '{version}'. A new model needs its own version "
                    "and file.") if facts.sha256 == entry.sha256 else N_(
                    "This version is already registered as '{version}'. A new model needs its own version and file."),
                    version=entry.version)
    stored = copy_into(facts, models_dir or db_settings.models_dir())
    with database.begin() as session:
        return registry.register_model(session, version=facts.version, sha256=facts.sha256,
                                       architecture=facts.architecture, file_name=stored.name,
                                       threshold=facts.threshold, card=facts.card, figures=facts.figures, actor=actor)


def register_as(database: Database, clinician: Clinician, path: Path | str) -> ModelEntry:
    """:func:`register_checkpoint` by a signed-in administrator; raises :class:`AdminOnlyError` otherwise."""
    _require_admin(clinician)
    return register_checkpoint(database, path, actor=clinician.actor)


def list_models(database: Database) -> list[ModelEntry]:
    """Every registered model, the active one first (a read of the registry, no patient data: not audited)."""
    with database.session() as session:
        return registry.list_models(session)


def activate(database: Database, clinician: Clinician, model_id: int, reason: str) -> ModelEntry:
    """Make ``model_id`` the model of new predictions in every app process (within ``SCALPSCOPE_MODEL_POLL_S``
    seconds), retiring the active one; audited as ``model.activate`` with ``reason``. Rolling back is activating
    the earlier model. Raises :class:`AdminOnlyError`, ``ValidationError`` (no reason, already active),
    ``ModelGoneError`` and ``DatabaseBusyError`` (another activation at the same moment)."""
    _require_admin(clinician)
    with database.begin() as session:
        entry = registry.activate_model(session, model_id, actor=clinician.actor, reason=reason)
    active_model.WATCH.forget()  # this process serves it from its next request on
    return entry


def set_shadow(database: Database, clinician: Clinician, model_id: int, on: bool) -> ModelEntry:
    """Start or stop scoring new consultations' photos with ``model_id`` in shadow (stored, never shown to a
    patient or used for triage); audited as ``model.shadow``. Raises :class:`AdminOnlyError`,
    ``ValidationError`` (the active model) and ``ModelGoneError``."""
    _require_admin(clinician)
    with database.begin() as session:
        entry = registry.set_shadow(session, model_id, on, actor=clinician.actor)
    active_model.WATCH.forget()
    return entry


def registrable_files(serving: Path, models_dir: Path | None = None) -> list[Path]:
    """Checkpoints an admin can register from the model page: the ``*.pt`` files in the models folder's
    ``incoming/`` (where an operator puts a checkpoint and its card) and ``serving`` (the configured
    ``SCALPSCOPE_WEIGHTS``); ``serving`` first, then by name. A file already registered is refused when
    registered again."""
    incoming = incoming_folder(models_dir)
    found = sorted(incoming.glob("*.pt")) if incoming.is_dir() else []
    return [path for path in dict.fromkeys([serving, *found]) if path.is_file()]


def incoming_folder(models_dir: Path | None = None) -> Path:
    """Where an operator puts checkpoints (with their cards) for an admin to register: ``incoming/`` in the
    models folder."""
    return (models_dir or db_settings.models_dir()) / "incoming"


def poll_seconds() -> float:
    """``SCALPSCOPE_MODEL_POLL_S``: within this many seconds every app process serves a newly activated model."""
    return float(db_settings.MODEL_POLL_S.get())


def model_path(entry: ModelEntry, models_dir: Path | None = None) -> Path:
    """Where ``entry``'s checkpoint lies in the models folder."""
    return (models_dir or db_settings.models_dir()) / entry.file_name


def _require_admin(clinician: Clinician) -> None:
    if not clinician.is_admin:
        raise AdminOnlyError()
