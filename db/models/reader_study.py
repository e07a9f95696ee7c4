"""The reader study (issue 8; migration 0003)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.accounts import User
from db.models.base import Base, one_of, utcnow


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
    __table_args__ = (one_of("source", StudySource, "source"),)

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
    __table_args__ = (UniqueConstraint("study_id", "position"), one_of("truth", StudyLabel, "truth"))

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
        one_of("diagnosis", StudyLabel, "diagnosis"),
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
