"""Typed SQLAlchemy 2.0 models: the schema (migrations in ``db/migrations`` mirror it), one module per
aggregate — :mod:`~db.models.base` (``Base``, the clock, enumerated values), :mod:`~db.models.accounts`,
:mod:`~db.models.consultations`, :mod:`~db.models.reader_study`, :mod:`~db.models.templates`,
:mod:`~db.models.registry`. Every name is
importable from here (``from db.models import Consultation``), as Alembic's env and the callers do.
"""

from db.models.accounts import AppSetting, AuditEvent, User
from db.models.base import (
    MAX_DIAGNOSIS_OTHER,
    NAMING_CONVENTION,
    Base,
    Course,
    Diagnosis,
    ImageSource,
    Need,
    Role,
    Status,
    UTCDateTime,
    one_of,
    utcnow,
)
from db.models.consultations import Consultation, ConsultImage, InfoRequest, Prediction, Review
from db.models.reader_study import Reading, ReaderStudy, StudyCase, StudyLabel, StudyReader, StudySource
from db.models.registry import MAX_MODEL_VERSION, ModelScore, ModelState, RegisteredModel
from db.models.templates import MAX_TEMPLATE_TITLE, NoteTemplate

__all__ = [
    "MAX_DIAGNOSIS_OTHER", "NAMING_CONVENTION", "AppSetting", "AuditEvent", "Base", "ConsultImage", "Course", "Consultation", "Diagnosis",
    "ImageSource", "InfoRequest", "MAX_MODEL_VERSION", "MAX_TEMPLATE_TITLE", "ModelScore", "ModelState", "Need", "NoteTemplate", "Prediction", "Reading", "RegisteredModel", "ReaderStudy", "Review", "Role", "Status", "StudyCase", "StudyLabel",
    "StudyReader", "StudySource", "UTCDateTime", "User", "one_of", "utcnow",
]
