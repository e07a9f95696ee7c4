"""The model registry (issue 20): one row per registered checkpoint, and the scores registered models gave the
clinic's stored photos (shadow runs and comparisons)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, one_of, utcnow

MAX_MODEL_VERSION = 64  # characters of a version (as predictions.model_version)


class ModelState(StrEnum):
    """A registered model's state: registered and not serving (``candidate``), the one serving new predictions
    (``active``), served before and replaced by another (``retired``)."""

    CANDIDATE = "candidate"
    ACTIVE = "active"
    RETIRED = "retired"


class RegisteredModel(Base):
    """A checkpoint in the registry. ``file_name`` is the checkpoint's file in the models folder
    (``SCALPSCOPE_MODELS_DIR``), its model card beside it with the same stem; ``card`` is the card's text and
    ``figures`` the checkpoint's recorded held-out metrics, both as registered. At most one row is ``active``
    (a partial unique index); ``shadow`` marks a non-active model scored on new photos without being shown."""

    __tablename__ = "model_registry"
    __table_args__ = (
        one_of("state", ModelState, "state"),
        Index("uq_model_registry_one_active", "state", unique=True,
              sqlite_where=text("state = 'active'"), postgresql_where=text("state = 'active'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(MAX_MODEL_VERSION), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    architecture: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(String(255))
    threshold: Mapped[float] = mapped_column(Float)
    card: Mapped[str] = mapped_column(Text)
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default=ModelState.CANDIDATE)
    shadow: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_by: Mapped[str] = mapped_column(String(128))
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None]


class ModelScore(Base):
    """What a registered model said about one stored photo: written by a shadow run for a new consultation
    (``source`` "shadow") or by a comparison's re-scoring (``source`` "rescore"); one row per model and photo,
    so a comparison computes each model's scores once. Never shown to a patient, never used for triage."""

    __tablename__ = "model_scores"
    __table_args__ = (UniqueConstraint("model_id", "image_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model_registry.id", ondelete="CASCADE"))
    image_id: Mapped[int] = mapped_column(ForeignKey("consult_images.id", ondelete="CASCADE"), index=True)
    p_psoriasis: Mapped[float] = mapped_column(Float)
    out_of_scope: Mapped[bool] = mapped_column(Boolean)
    ood_score: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
