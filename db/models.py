"""Typed SQLAlchemy 2.0 models: the schema in one place (migrations in ``db/migrations`` mirror it).

Enumerated values are plain strings guarded by CHECK constraints (portable, and no PostgreSQL ENUM types
to migrate); the ``StrEnum`` classes below are the single list of allowed values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the data layer uses."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores naive text, so tz is re-attached on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use db.models.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Role(StrEnum):
    DERMATOLOGIST = "dermatologist"
    ADMIN = "admin"


class Status(StrEnum):
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    REVIEWED = "reviewed"
    CLOSED = "closed"


class Diagnosis(StrEnum):
    PSORIASIS = "psoriasis"
    SEBORRHEIC_DERMATITIS = "seborrheic_dermatitis"
    OTHER = "other"
    NEEDS_IN_PERSON_VISIT = "needs_in_person_visit"


class ImageSource(StrEnum):
    PHONE = "phone"
    DERMOSCOPE = "dermoscope"


def _one_of(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), bytes: LargeBinary()}


class AppSetting(Base):
    """Per-database key/value secrets and settings (e.g. the access-code pepper)."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    """A clinician account (dermatologist or admin)."""

    __tablename__ = "users"
    __table_args__ = (_one_of("role", Role, "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.DERMATOLOGIST)
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)


class Consultation(Base):
    """One patient submission: history, consent, images, and its path through the review queue.

    ``priority`` is computed once at submit (see :func:`db.consultations.compute_triage`: minus the minute
    the case is due, :mod:`db.triage`); together
    with ``created_at`` and ``id`` it is the queue's keyset. ``ix_consultations_queue`` (declared below
    the class) holds exactly the queue's order within one status, so a queue page is an index range scan.
    """

    __tablename__ = "consultations"
    __table_args__ = (
        _one_of("status", Status, "status"),
        _one_of("image_source", ImageSource, "image_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    access_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=Status.SUBMITTED)
    priority: Mapped[int] = mapped_column(Integer)
    max_p_psoriasis: Mapped[float | None] = mapped_column(Float)
    any_uncertain: Mapped[bool] = mapped_column(Boolean)
    any_out_of_scope: Mapped[bool] = mapped_column(Boolean)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    claimed_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    age_band: Mapped[str | None] = mapped_column(String(16))
    sex: Mapped[str | None] = mapped_column(String(32))
    duration: Mapped[str | None] = mapped_column(String(32))
    itch: Mapped[str | None] = mapped_column(String(16))
    previous_treatment: Mapped[str | None] = mapped_column(String(200))
    scalp_site: Mapped[str | None] = mapped_column(String(64))
    image_source: Mapped[str] = mapped_column(String(16))
    free_text: Mapped[str | None] = mapped_column(Text)

    consent_version: Mapped[str] = mapped_column(String(32))
    consent_at: Mapped[datetime]
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # One filled form stores one consultation: the form's idempotency key (unique; NULL for older rows and
    # for consultations made outside the app, e.g. seed-demo).
    # Deferred: read only in look-ups by key, and absent from databases before revision 0004.
    submission_key: Mapped[str | None] = mapped_column(String(64), deferred=True)

    claimed_by: Mapped[User | None] = relationship()
    images: Mapped[list[ConsultImage]] = relationship(
        back_populates="consultation", order_by="ConsultImage.position", cascade="all, delete-orphan"
    )
    reviews: Mapped[list[Review]] = relationship(
        back_populates="consultation", order_by="Review.id", cascade="all, delete-orphan"
    )

    @property
    def latest_review(self) -> Review | None:
        return self.reviews[-1] if self.reviews else None


# The queue's order within one status: (status, priority DESC, created_at, id); see list_queue.
Index(
    "ix_consultations_queue",
    Consultation.status,
    Consultation.priority.desc(),
    Consultation.created_at,
    Consultation.id,
)
# Covers db.stats.turnaround (windows on created_at; reads reviewed_at, filters is_demo) without the table.
Index("ix_consultations_turnaround", Consultation.created_at, Consultation.reviewed_at, Consultation.is_demo)
# A second submission of the same form (double click, interrupted run) cannot store a second consultation.
Index("ix_consultations_submission_key", Consultation.submission_key, unique=True)


class ConsultImage(Base):
    """An image exactly as handed over by the caller (already re-encoded, oriented, EXIF/GPS-free)."""

    __tablename__ = "consult_images"
    __table_args__ = (UniqueConstraint("consultation_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes]
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    capture: Mapped[dict[str, Any]] = mapped_column(default=dict)

    consultation: Mapped[Consultation] = relationship(back_populates="images")
    prediction: Mapped[Prediction | None] = relationship(
        back_populates="image", cascade="all, delete-orphan", uselist=False
    )


class Prediction(Base):
    """The model's output for one image, with enough provenance to audit it later."""

    __tablename__ = "predictions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("consult_images.id", ondelete="CASCADE"), unique=True)
    model_version: Mapped[str] = mapped_column(String(64))
    model_sha256: Mapped[str] = mapped_column(String(64))
    p_psoriasis: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    temperature: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(32))
    uncertain: Mapped[bool] = mapped_column(Boolean)
    out_of_scope: Mapped[bool] = mapped_column(Boolean)
    ood_score: Mapped[float | None] = mapped_column(Float)
    overlay_png: Mapped[bytes | None]
    latency_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    image: Mapped[ConsultImage] = relationship(back_populates="prediction")


class Review(Base):
    """A clinician's diagnosis for a consultation."""

    __tablename__ = "reviews"
    __table_args__ = (_one_of("diagnosis", Diagnosis, "diagnosis"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    diagnosis: Mapped[str] = mapped_column(String(32))
    notes: Mapped[str] = mapped_column(Text, default="")
    agrees_with_ai: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    consultation: Mapped[Consultation] = relationship(back_populates="reviews")
    clinician: Mapped[User] = relationship()


class AuditEvent(Base):
    """Who did what, when. ``detail`` never holds access codes, passwords or patient free text."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_consultation", "consultation_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(64))
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


# --- reader study (issue 8; migration 0003) ----------------------------------------------------------
class StudyLabel(StrEnum):
    """The two answers of a reader study, and the two truths a study case can have."""

    PSORIASIS = "psoriasis"
    SEBORRHEIC_DERMATITIS = "seborrheic_dermatitis"


class StudySource(StrEnum):
    CONSULTATIONS = "consultations"  # reviewed consultations; truth = the dermatologist's diagnosis
    FOLDER = "folder"  # an ImageFolder tree psoriasis/, seborrheic_dermatitis/ on the server


class ReaderStudy(Base):
    """A reader study after Yu et al. 2022: every invited reader reads every case unaided, then aided.

    The model's output for each case is computed once, at creation, by the checkpoint recorded here.
    """

    __tablename__ = "reader_studies"
    __table_args__ = (_one_of("source", StudySource, "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    source: Mapped[str] = mapped_column(String(16))
    seed: Mapped[int] = mapped_column(Integer)
    washout_days: Mapped[float] = mapped_column(Float, default=0.0)
    model_version: Mapped[str] = mapped_column(String(64))
    model_sha256: Mapped[str] = mapped_column(String(64))
    threshold: Mapped[float] = mapped_column(Float)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User] = relationship()
    cases: Mapped[list[StudyCase]] = relationship(
        back_populates="study", order_by="StudyCase.position", cascade="all, delete-orphan"
    )
    readers: Mapped[list[StudyReader]] = relationship(
        back_populates="study", order_by="StudyReader.id", cascade="all, delete-orphan"
    )


class StudyCase(Base):
    """One image of a study with its truth and the model's output (sanitised JPEG, no metadata)."""

    __tablename__ = "study_cases"
    __table_args__ = (UniqueConstraint("study_id", "position"), _one_of("truth", StudyLabel, "truth"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("reader_studies.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    truth: Mapped[str] = mapped_column(String(32))
    source_ref: Mapped[str] = mapped_column(String(255))  # never shown to readers: it may name the truth
    data: Mapped[bytes]
    sha256: Mapped[str] = mapped_column(String(64))
    mime: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    p_psoriasis: Mapped[float] = mapped_column(Float)
    overlay_png: Mapped[bytes | None]

    study: Mapped[ReaderStudy] = relationship(back_populates="cases")


class StudyReader(Base):
    """An invited reader: a seed and the two case orders drawn from it (lists of study_cases ids)."""

    __tablename__ = "study_readers"
    __table_args__ = (UniqueConstraint("study_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("reader_studies.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    seed: Mapped[int] = mapped_column(Integer)
    unaided_order: Mapped[list[int]] = mapped_column(JSON)
    aided_order: Mapped[list[int]] = mapped_column(JSON)
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)

    study: Mapped[ReaderStudy] = relationship(back_populates="readers")
    user: Mapped[User] = relationship()
    readings: Mapped[list[Reading]] = relationship(
        back_populates="reader", order_by="Reading.id", cascade="all, delete-orphan"
    )


class Reading(Base):
    """One reader's answer for one case in one pass (1 unaided, 2 aided); ``sequence`` is 1-based."""

    __tablename__ = "readings"
    __table_args__ = (
        UniqueConstraint("study_reader_id", "case_id", "pass_number"),
        CheckConstraint("pass_number IN (1, 2)", name="pass_number"),
        CheckConstraint("confidence BETWEEN 1 AND 5", name="confidence"),
        _one_of("diagnosis", StudyLabel, "diagnosis"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_reader_id: Mapped[int] = mapped_column(ForeignKey("study_readers.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("study_cases.id", ondelete="CASCADE"))
    pass_number: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    diagnosis: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float | None] = mapped_column(Float)  # time on the case's screen, when known
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    reader: Mapped[StudyReader] = relationship(back_populates="readings")
    case: Mapped[StudyCase] = relationship()
