"""Follow-ups (issue 19): what the reviewer sees of a patient's earlier consultations, one unit of work."""
from __future__ import annotations

from db import consultations
from db.consultations import Series
from db.engine import Database
from db.models import Consultation, Course
from db.users import Clinician

COURSES = tuple(c.value for c in Course)  # better, same, worse


def earlier_consultations(database: Database, case: Consultation, clinician: Clinician) -> Series:
    """The consultations of ``case``'s patient submitted before it (the series its follow-up links make:
    images, the model's output and the reviews loaded), oldest first, and how many came after it. Each one
    shown is audited as ``consultation.history_view``, in the same unit of work as the read."""
    with database.begin() as session:
        return consultations.earlier_for_clinician(session, case, clinician)
