"""Reader studies (issue 8): the paper's "without, then with, the model" reading, inside the service.

An admin creates a study from labelled images (reviewed consultations, or an ImageFolder tree on the
server) whose model outputs the caller computed once with the shared predictor (``db`` never runs the
model), and invites readers (existing accounts). Every reader reads every case twice:

* pass 1, unaided: diagnosis (psoriasis / seborrheic dermatitis) and confidence 1-5;
* pass 2, aided: the same, with the model's probability and Grad-CAM map on screen.

Each reader gets a seed (derived from the study's seed and the account) and two stored orders drawn
from it (:func:`reading_orders`). Wash-out: pass 2 opens only when pass 1 is complete (and, when the
study sets ``washout_days``, that many days after the last unaided reading); its order is an
independent shuffle that never starts with the case that ended pass 1. :func:`record_reading` accepts
only the case that is next in the reader's order, so progress is the stored readings themselves:
a reader can stop and resume anywhere, in any browser.

One module per job: :mod:`~db.reader_study.design` (limits, scale, seeds and orders),
:mod:`~db.reader_study.cases` (candidate cases), :mod:`~db.reader_study.setup` (create, invite, list),
:mod:`~db.reader_study.reading` (the reader's next case, answers) and :mod:`~db.reader_study.results`
(plain values, CSV); every public name is importable from here.

Every function takes the caller's session (``with db.begin() as s:``). Statistics live in
``scalp_model.metrics.reader_study``; this module owns the reading scale (:func:`ordinal_score`).
"""

from __future__ import annotations

from db.reader_study.design import (
    AIDED,
    CONFIDENCE_LEVELS,
    CONSULTATION_REF,
    MAX_CASES,
    MAX_NAME_LENGTH,
    MAX_WASHOUT_DAYS,
    MIME_TYPES,
    MIN_CASES,
    ReadingOrderError,
    SEED_LIMIT,
    StudyPermissionError,
    UNAIDED,
    ordinal_score,
    reader_seed,
    reading_orders,
)
from db.reader_study.cases import (
    LabelledImage,
    NewStudyCase,
    count_labelled_consultations,
    labelled_consultation_images,
)
from db.reader_study.setup import (
    StudySummary,
    create_study,
    invite_readers,
    list_studies,
    record_folder_refused,
)
from db.reader_study.reading import (
    CaseView,
    ReaderProgress,
    ReaderStep,
    next_step,
    record_case_view,
    record_reading,
    studies_for_reader,
)
from db.reader_study.results import (
    CSV_COLUMNS,
    CaseRecord,
    ReadingRecord,
    StudyData,
    load_study,
    readings_csv,
    record_export,
    record_results_view,
)

__all__ = [
    "AIDED",
    "CONFIDENCE_LEVELS",
    "CONSULTATION_REF",
    "CSV_COLUMNS",
    "CaseRecord",
    "CaseView",
    "LabelledImage",
    "MAX_CASES",
    "MAX_NAME_LENGTH",
    "MAX_WASHOUT_DAYS",
    "MIME_TYPES",
    "MIN_CASES",
    "NewStudyCase",
    "ReaderProgress",
    "ReaderStep",
    "ReadingOrderError",
    "ReadingRecord",
    "SEED_LIMIT",
    "StudyData",
    "StudyPermissionError",
    "StudySummary",
    "UNAIDED",
    "count_labelled_consultations",
    "create_study",
    "invite_readers",
    "labelled_consultation_images",
    "list_studies",
    "load_study",
    "next_step",
    "ordinal_score",
    "reader_seed",
    "reading_orders",
    "readings_csv",
    "record_case_view",
    "record_export",
    "record_folder_refused",
    "record_reading",
    "record_results_view",
    "studies_for_reader",
]
