"""Consultations: submission, the clinician queue, status transitions and the patient's view.

Every function takes the caller's session; the caller frames the unit of work with
``with db.begin() as s:``. Status moves ``submitted -> in_review -> reviewed -> closed`` (a claim can be
released back to ``submitted``; ``in_review -> awaiting_patient -> submitted`` when the dermatologist asks the
patient for more and the patient answers); each move is a conditional UPDATE, so two clinicians racing for the
same consultation cannot both win, and each writes an audit event.

One module per job: :mod:`~db.consultations.inputs` (answers, images, the model-output protocol),
:mod:`~db.consultations.submit`, :mod:`~db.consultations.queue`, :mod:`~db.consultations.transitions`
(clinician reads and moves), :mod:`~db.consultations.requests` (asking the patient for more, the answer),
:mod:`~db.consultations.history` (follow-ups: a patient's consultations over time) and
:mod:`~db.consultations.patient`; every public name is importable from here.
"""

from __future__ import annotations

from db.consultations.inputs import (
    AGE_BANDS,
    CONSENT_TEXT,
    COURSES,
    CONSENT_VERSION,
    DURATIONS,
    ITCH_LEVELS,
    MAX_CONSENT_VERSION,
    MAX_FREE_TEXT,
    MAX_IMAGES,
    MAX_NOTES,
    MAX_TREATMENT,
    MIME_EXTENSIONS,
    OPEN_STATUSES,
    SCALP_SITE_SEPARATOR,
    SCALP_SITES,
    SEXES,
    Estimate,
    FollowUpOf,
    ModelOutput,
    NewImage,
    PatientHistory,
)
from db.consultations.history import Series, chain, earlier_for_clinician, series_ids
from db.consultations.patient import (
    AskedOfPatient,
    EarlierConsultation,
    PatientFollowUp,
    PatientView,
    find_by_code,
    lookup_by_code,
)
from db.consultations.queue import (
    FIND_MIN_CHARS,
    QueueCursor,
    QueuePage,
    find_by_public_id,
    latest_review,
    list_queue,
    progress_phrases,
    progress_text,
    queue_counts,
    record_queue_view,
)
from db.consultations.requests import MAX_MESSAGE, answer_request, open_request, request_information
from db.consultations.submit import (
    Submission,
    Triage,
    compute_triage,
    new_public_id,
    prediction_row,
    submit_consultation,
)
from db.consultations.transitions import (
    claim,
    close,
    get_consultation_for_clinician,
    record_review,
    release,
)

__all__ = [
    "COURSES", "EarlierConsultation", "FollowUpOf", "Series", "chain", "earlier_for_clinician", "series_ids",
    "MAX_MESSAGE", "AskedOfPatient", "PatientFollowUp", "answer_request", "find_by_code", "open_request", "request_information",
    "AGE_BANDS", "CONSENT_TEXT", "CONSENT_VERSION", "DURATIONS", "FIND_MIN_CHARS", "ITCH_LEVELS", "MAX_CONSENT_VERSION", "MAX_FREE_TEXT",
    "MAX_IMAGES", "MAX_NOTES", "MAX_TREATMENT", "MIME_EXTENSIONS", "OPEN_STATUSES", "SCALP_SITES",
    "SCALP_SITE_SEPARATOR", "SEXES", "Estimate", "ModelOutput", "NewImage", "PatientHistory", "PatientView",
    "QueueCursor", "QueuePage", "Submission", "Triage", "claim", "close", "compute_triage", "find_by_public_id",
    "get_consultation_for_clinician", "latest_review", "list_queue", "lookup_by_code", "new_public_id",
    "prediction_row", "progress_phrases", "progress_text", "queue_counts", "record_queue_view", "record_review", "release",
    "submit_consultation",
]
