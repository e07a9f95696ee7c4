"""The schema's shared pieces: the declarative ``Base`` (naming convention, UTC datetimes), the clock and the
enumerated values.

Enumerated values are plain strings guarded by CHECK constraints (portable, and no PostgreSQL ENUM types
to migrate); the ``StrEnum`` classes below are the single list of allowed values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, Dialect, LargeBinary, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

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
    AWAITING_PATIENT = "awaiting_patient"  # the dermatologist asked for more information (migration 0007)


class Diagnosis(StrEnum):
    """A review's coded conclusion. ``OTHER`` needs ``Review.diagnosis_other`` (the condition, in words);
    the extended codes came with migration 0006 (issue 19)."""

    PSORIASIS = "psoriasis"
    SEBORRHEIC_DERMATITIS = "seborrheic_dermatitis"
    OTHER = "other"
    NEEDS_IN_PERSON_VISIT = "needs_in_person_visit"
    TINEA_CAPITIS = "tinea_capitis"
    ALOPECIA_AREATA = "alopecia_areata"
    LICHEN_PLANOPILARIS = "lichen_planopilaris"
    CONTACT_DERMATITIS = "contact_dermatitis"


class Need(StrEnum):
    """What a dermatologist can ask the patient for (an ``InfoRequest``'s ``needs``)."""

    SAME_AREA = "same_area"  # another photo of the same area
    CLOSER = "closer"  # a closer photo
    HAIRLINE = "hairline"
    NAILS = "nails"
    ELBOWS = "elbows"
    KNEES = "knees"
    QUESTION = "question"  # an answer to the question in the message


class Course(StrEnum):
    """How a condition went since the earlier consultation (issue 19, follow-ups): the dermatologist's
    judgement in ``Review.course`` and, optionally, the patient's own in ``Consultation.reported_course``
    (migration 0008)."""

    BETTER = "better"
    SAME = "same"
    WORSE = "worse"


MAX_DIAGNOSIS_OTHER = 200  # characters of the condition named with "other"


class ImageSource(StrEnum):
    PHONE = "phone"
    DERMOSCOPE = "dermoscope"


def one_of(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    """A CHECK constraint named ``name`` allowing exactly the values of ``values`` in ``column``."""
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), bytes: LargeBinary()}

