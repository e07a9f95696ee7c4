"""The model registry (issue 20): registered checkpoints, the one active model, shadow runs and stored scores.

Rules: a model is registered as a ``candidate``; activating one (an admin, with a reason) retires the active one
in the same transaction, so once a model has been activated exactly one is active (a partial unique index keeps
it at most one even when two admins activate at once: the later one is refused). Rolling back is activating the
earlier model again. Only a non-active model runs in ``shadow``. Every change is one audit row:
``model.register`` (id, version, sha256), ``model.activate`` (id, version, the replaced one, the reason),
``model.shadow`` (id, on/off). Functions take the caller's session; no torch here (files are checked by
:mod:`scalp_model.serving.registry_files`, the unit of work is framed by :mod:`clinic.models`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db import audit
from db.errors import DatabaseBusyError, NotFoundError, ValidationError
from db.models import MAX_MODEL_VERSION, ModelScore, ModelState, RegisteredModel, utcnow
from db.validation import check_text

MAX_REASON = 500  # characters of an activation's reason
SCORE_SOURCES = ("shadow", "rescore")


class ModelGoneError(NotFoundError):
    """No registered model has this id."""

    default_message = "This model is not in the registry."


@dataclass(frozen=True)
class ModelEntry:
    """A registered model as plain values (safe to keep in a UI session). ``file_name``: the checkpoint's file
    in the models folder; ``figures``: its recorded held-out metrics; ``card``: its model card (Markdown)."""

    id: int
    version: str
    sha256: str
    architecture: str
    file_name: str
    threshold: float
    state: str
    shadow: bool
    registered_by: str
    registered_at: datetime
    activated_at: datetime | None
    figures: dict[str, Any]
    card: str

    @property
    def is_active(self) -> bool:
        return self.state == ModelState.ACTIVE


@dataclass(frozen=True)
class StoredScore:
    """A registered model's output for one stored photo: P(psoriasis) 0..1, out of scope, and the gate's score."""

    image_id: int
    p_psoriasis: float
    out_of_scope: bool
    ood_score: float | None = None


def register_model(session: Session, *, version: str, sha256: str, architecture: str, file_name: str,
                   threshold: float, card: str, figures: dict[str, Any], actor: str,
                   now: datetime | None = None) -> ModelEntry:
    """Add a checkpoint as a ``candidate``, audited as ``model.register``. Raises ``ValidationError`` when the
    version is empty or too long, the threshold outside 0..1, or a registered model has this sha256 or version."""
    version = (version or "").strip()
    check_text("The model's version", version, MAX_MODEL_VERSION, required=True)
    if not 0.0 <= threshold <= 1.0:
        raise ValidationError(f"The model's threshold must be between 0 and 1 (it is {threshold}).")
    same = session.execute(select(RegisteredModel.version, RegisteredModel.sha256).where(
        (RegisteredModel.sha256 == sha256) | (RegisteredModel.version == version))).first()
    if same is not None:
        what = "file (same sha256)" if same.sha256 == sha256 else "version"
        raise ValidationError(f"This {what} is already registered as '{same.version}'. A new model needs its own "
                              "version and file.")
    row = RegisteredModel(version=version, sha256=sha256, architecture=architecture, file_name=file_name,
                          threshold=float(threshold), card=card, figures=dict(figures), state=ModelState.CANDIDATE,
                          shadow=False, registered_by=actor, registered_at=now or utcnow())
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:  # registered by someone else meanwhile
        raise ValidationError(f"The version '{version}' or this file was registered meanwhile.") from exc
    audit.record(session, actor, "model.register", detail={"model_id": row.id, "version": version, "sha256": sha256})
    return _entry(row)


def list_models(session: Session) -> list[ModelEntry]:
    """Every registered model, the active one first, then the newest registrations first."""
    rows = session.scalars(select(RegisteredModel).order_by(RegisteredModel.registered_at.desc(),
                                                            RegisteredModel.id.desc())).all()
    entries = [_entry(row) for row in rows]
    return sorted(entries, key=lambda e: not e.is_active)


def get_model(session: Session, model_id: int) -> ModelEntry:
    """The registered model ``model_id``; raises :class:`ModelGoneError`."""
    row = session.get(RegisteredModel, model_id)
    if row is None:
        raise ModelGoneError()
    return _entry(row)


def active_model(session: Session) -> ModelEntry | None:
    """The active model, or None while none has been activated (the app then serves ``SCALPSCOPE_WEIGHTS``)."""
    row = session.scalars(select(RegisteredModel).where(RegisteredModel.state == ModelState.ACTIVE)).first()
    return None if row is None else _entry(row)


def shadow_models(session: Session) -> list[ModelEntry]:
    """The models running in shadow (never the active one), oldest registration first."""
    rows = session.scalars(select(RegisteredModel).where(RegisteredModel.shadow.is_(True),
                                                         RegisteredModel.state != ModelState.ACTIVE)
                           .order_by(RegisteredModel.id)).all()
    return [_entry(row) for row in rows]


def activate_model(session: Session, model_id: int, *, actor: str, reason: str,
                   now: datetime | None = None) -> ModelEntry:
    """Make ``model_id`` the active model (new predictions use it) and retire the one active before, in this
    unit of work; audited as ``model.activate`` with the reason. Rolling back is activating the earlier model.

    Raises ``ValidationError`` for an empty or too long reason or a model already active, :class:`ModelGoneError`,
    and ``DatabaseBusyError`` when another activation committed meanwhile (nothing changes; try again).
    """
    reason = (reason or "").strip()
    check_text("The reason", reason, MAX_REASON, multiline=True, required=True)
    target = get_model(session, model_id)
    if target.is_active:
        raise ValidationError(f"'{target.version}' is already the active model.")
    previous = active_model(session)
    now = now or utcnow()
    try:
        with session.begin_nested():
            session.execute(update(RegisteredModel).where(RegisteredModel.state == ModelState.ACTIVE)
                            .values(state=ModelState.RETIRED).execution_options(synchronize_session=False))
            session.execute(update(RegisteredModel).where(RegisteredModel.id == model_id)
                            .values(state=ModelState.ACTIVE, shadow=False, activated_at=now)
                            .execution_options(synchronize_session=False))
    except IntegrityError as exc:  # another admin's activation committed between our read and our write
        raise DatabaseBusyError("Another administrator changed the active model at the same moment; nothing was "
                                "changed. Reload the page and try again.") from exc
    audit.record(session, actor, "model.activate", detail={
        "model_id": model_id, "version": target.version, "sha256": target.sha256,
        "previous_model_id": None if previous is None else previous.id,
        "previous_version": None if previous is None else previous.version, "reason": reason})
    session.expire_all()
    return get_model(session, model_id)


def set_shadow(session: Session, model_id: int, on: bool, *, actor: str) -> ModelEntry:
    """Start (``on``) or stop running ``model_id`` in shadow on new consultations, audited as ``model.shadow``
    (nothing changed: no write, no audit row). Raises ``ValidationError`` for the active model (it already scores
    every photo) and :class:`ModelGoneError`."""
    target = get_model(session, model_id)
    if target.is_active and on:
        raise ValidationError(f"'{target.version}' is the active model: it already scores every new photo.")
    if target.shadow == bool(on):
        return target
    session.execute(update(RegisteredModel).where(RegisteredModel.id == model_id).values(shadow=bool(on))
                    .execution_options(synchronize_session=False))
    audit.record(session, actor, "model.shadow", detail={"model_id": model_id, "version": target.version,
                                                         "shadow": bool(on)})
    session.expire_all()
    return get_model(session, model_id)


def store_scores(session: Session, model_id: int, scores: Iterable[StoredScore], *, source: str,
                 now: datetime | None = None) -> int:
    """Store ``model_id``'s scores of stored photos (one per photo; a photo already scored by this model keeps
    its first score). Returns how many were added. Raises ``ValidationError`` for an unknown ``source``."""
    if source not in SCORE_SOURCES:
        raise ValidationError(f"Unknown score source {source!r}; allowed: {SCORE_SOURCES}.")
    scores = list(scores)
    known = scored_image_ids(session, model_id, [s.image_id for s in scores])
    now = now or utcnow()
    fresh = {s.image_id: s for s in scores if s.image_id not in known}
    session.add_all(ModelScore(model_id=model_id, image_id=s.image_id, p_psoriasis=float(s.p_psoriasis),
                               out_of_scope=bool(s.out_of_scope), ood_score=s.ood_score, source=source,
                               created_at=now) for s in fresh.values())
    session.flush()
    return len(fresh)


def scored_image_ids(session: Session, model_id: int, image_ids: Sequence[int] | None = None) -> set[int]:
    """The photos ``model_id`` has a stored score for (among ``image_ids`` when given)."""
    query = select(ModelScore.image_id).where(ModelScore.model_id == model_id)
    if image_ids is not None:
        if not image_ids:
            return set()
        query = query.where(ModelScore.image_id.in_(list(image_ids)))
    return set(session.scalars(query))


def stored_scores(session: Session, model_id: int, image_ids: Sequence[int] | None = None) -> dict[int, StoredScore]:
    """``{image id: score}`` of ``model_id``'s stored scores (among ``image_ids`` when given)."""
    query = select(ModelScore).where(ModelScore.model_id == model_id)
    if image_ids is not None:
        query = query.where(ModelScore.image_id.in_(list(image_ids)))
    return {row.image_id: StoredScore(row.image_id, row.p_psoriasis, row.out_of_scope, row.ood_score)
            for row in session.scalars(query)}


def _entry(row: RegisteredModel) -> ModelEntry:
    return ModelEntry(id=row.id, version=row.version, sha256=row.sha256, architecture=row.architecture,
                      file_name=row.file_name, threshold=row.threshold, state=row.state, shadow=row.shadow,
                      registered_by=row.registered_by, registered_at=row.registered_at,
                      activated_at=row.activated_at, figures=dict(row.figures or {}), card=row.card)
