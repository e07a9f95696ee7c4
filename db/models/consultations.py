"""A consultation and what hangs from it: images, the model's output per image, reviews, and requests for
more information (issue 19) with the patient's answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.accounts import User
from db.models.base import MAX_DIAGNOSIS_OTHER, Base, Course, Diagnosis, ImageSource, Status, one_of, utcnow


class Consultation(Base):
    """One patient submission: history, consent, images, and its path through the review queue.

    ``priority`` is computed once at submit (see :func:`db.consultations.compute_triage`: minus the minute
    the case is due, :mod:`db.triage`); together
    with ``created_at`` and ``id`` it is the queue's keyset. ``ix_consultations_queue`` (declared below
    the class) holds exactly the queue's order within one status, so a queue page is an index range scan.
    """

    __tablename__ = "consultations"
    __table_args__ = (
        one_of("status", Status, "status"),
        one_of("image_source", ImageSource, "image_source"),
        one_of("reported_course", Course, "reported_course"),
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
    # A follow-up (issue 19, migration 0008): the earlier consultation whose access code the patient gave when
    # starting this one (NULL: a first consultation); its own earlier ones follow the same link. The patient's
    # own word on the course since then (``Course``, optional; NULL for a first consultation).
    follow_up_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultations.id", ondelete="SET NULL"), index=True)
    reported_course: Mapped[str | None] = mapped_column(String(8))
    # The language the patient's session used when submitting (issue 21, migration 0011): a Babel locale
    # identifier ("en", "zh_CN"); NULL for consultations stored before it was recorded or outside the app.
    language: Mapped[str | None] = mapped_column(String(16))

    claimed_by: Mapped[User | None] = relationship()
    images: Mapped[list[ConsultImage]] = relationship(
        back_populates="consultation", order_by="ConsultImage.position", cascade="all, delete-orphan"
    )
    reviews: Mapped[list[Review]] = relationship(
        back_populates="consultation", order_by="Review.id", cascade="all, delete-orphan"
    )
    requests: Mapped[list[InfoRequest]] = relationship(
        back_populates="consultation", order_by="InfoRequest.round", cascade="all, delete-orphan"
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
    # The request this photo answered (NULL: sent with the consultation); migration 0007.
    request_id: Mapped[int | None] = mapped_column(ForeignKey("info_requests.id", ondelete="CASCADE"))

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
    __table_args__ = (
        one_of("diagnosis", Diagnosis, "diagnosis"),
        CheckConstraint("diagnosis <> 'other' OR diagnosis_other IS NOT NULL", name="other_specified"),
        one_of("course", Course, "course"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    diagnosis: Mapped[str] = mapped_column(String(32))
    # The condition in the clinician's words when ``diagnosis`` is "other" (required then, NULL otherwise);
    # rows from before migration 0006 say that it was not specified.
    diagnosis_other: Mapped[str | None] = mapped_column(String(MAX_DIAGNOSIS_OTHER))
    notes: Mapped[str] = mapped_column(Text, default="")
    agrees_with_ai: Mapped[bool | None] = mapped_column(Boolean)
    # A follow-up's course since the earlier consultation (``Course``; required for a follow-up, NULL for a
    # first consultation and for reviews before migration 0008).
    course: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    consultation: Mapped[Consultation] = relationship(back_populates="reviews")
    clinician: Mapped[User] = relationship()



class InfoRequest(Base):
    """A dermatologist's request for more information (issue 19) and, once answered, the patient's answer.

    ``round`` counts the requests of one consultation from 1; ``needs``: :class:`~db.models.base.Need`
    values; ``message``: the dermatologist's words to the patient. The photos sent with the answer are
    ``ConsultImage`` rows with this ``request_id``.
    """

    __tablename__ = "info_requests"
    __table_args__ = (UniqueConstraint("consultation_id", "round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    needs: Mapped[list[str]] = mapped_column(JSON)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    answer_text: Mapped[str | None] = mapped_column(Text)

    consultation: Mapped[Consultation] = relationship(back_populates="requests")
    requested_by: Mapped[User] = relationship()
