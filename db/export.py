"""The path back into training: reviewed images as an ImageFolder tree plus a groups file.

Layout: ``DIR/<label>/<public_id>_<position>.<ext>`` and ``DIR/groups.csv`` with header
``file,label,group,source,course``: group = the public id of the patient's first consultation (its own
for a consultation that is no follow-up; for a follow-up, the first consultation of its series, issue 19),
so a group-aware split never puts images of one patient, visit or follow-up, on both sides; source = phone
or dermoscope; course = the dermatologist's better / same / worse for a follow-up, empty otherwise (the
training runs read ``file``, ``group`` and ``source`` by name and ignore the other columns).

Only psoriasis and seborrheic dermatitis are training labels. With ``other_diagnoses`` the images of every
other coded diagnosis (tinea capitis, alopecia areata, lichen planopilaris, contact dermatitis, other,
needs an in-person visit) are written beside them, under ``DIR/other_diagnoses/<code>/`` and listed in
``DIR/other_diagnoses.csv`` (same header, label = the code), so a training run that reads the two class
folders and ``groups.csv`` is unchanged. The text a clinician gave with "other" is not exported.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from db.consultations import MIME_EXTENSIONS
from db.errors import ValidationError
from db.models import Consultation, ConsultImage, Diagnosis, Review, Status
from security.exports import safe_row

TRAINING_LABELS = (Diagnosis.PSORIASIS, Diagnosis.SEBORRHEIC_DERMATITIS)
_SYSTEM_NAMES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r", "__macosx", "$recycle.bin",
                           "system volume information", "@eadir", "lost+found"})
GROUPS_HEADER = ("file", "label", "group", "source", "course")
OTHER_DIAGNOSES = "other_diagnoses"  # folder and CSV (``.csv``) of the diagnoses that are not training labels


@dataclass(frozen=True)
class ExportSummary:
    directory: Path
    images: int
    consultations: int
    per_label: dict[str, int]

    def audit_detail(self) -> dict[str, object]:
        return {"images": self.images, "consultations": self.consultations, "per_label": self.per_label}


def _is_hidden_or_system(name: str) -> bool:
    return name.startswith(".") or name.lower() in _SYSTEM_NAMES


def export_training(session: Session, directory: str | Path, *, include_demo: bool = False,
                    other_diagnoses: bool = False) -> ExportSummary:
    """Write every image of reviewed/closed consultations whose latest diagnosis is a training label
    (with ``other_diagnoses``: every coded diagnosis, the others under ``other_diagnoses/<code>/``).

    Refuses a non-empty ``directory`` so stale files never mix into a new export. Only reads, streaming
    images in batches: run it in ``db.session()`` (no write lock held while files are written) and
    audit it afterwards in a short ``db.begin()``, as ``python -m db export-training`` does.
    """
    directory = Path(directory)
    # Hidden and system files (.DS_Store, Thumbs.db) do not make a folder "not empty"; the folder commands of
    # scalp_model skip them too (scalp_model.training.data.is_hidden_or_system, not imported here: it loads torch).
    if directory.exists() and any(not _is_hidden_or_system(p.name) for p in directory.iterdir()):
        raise ValidationError(f"{directory} is not empty; export into a new folder.")
    query = _reviewed_images(include_demo, None if other_diagnoses else TRAINING_LABELS)
    for label in TRAINING_LABELS:
        (directory / label).mkdir(parents=True, exist_ok=True)
    per_label = dict.fromkeys((label.value for label in TRAINING_LABELS), 0)
    groups: set[str] = set()
    first_of = _first_consultations(session)
    with (directory / "groups.csv").open("w", newline="") as handle, \
            _OtherWriter(directory if other_diagnoses else None) as others:
        writer = csv.writer(handle)
        writer.writerow(GROUPS_HEADER)
        for image, diagnosis, public_id, source, consultation_id, course in session.execute(query):
            training = diagnosis in TRAINING_LABELS
            folder = diagnosis if training else f"{OTHER_DIAGNOSES}/{diagnosis}"
            relative = f"{folder}/{public_id}_{image.position}{MIME_EXTENSIONS[image.mime]}"
            (directory / folder).mkdir(parents=True, exist_ok=True)
            (directory / relative).write_bytes(image.data)
            session.expunge(image)  # keep memory flat on large exports
            row = safe_row((relative, diagnosis, first_of.get(consultation_id, public_id), source,
                            course or ""))  # an id may start with '-'
            (writer if training else others.writer()).writerow(row)
            per_label[diagnosis] = per_label.get(diagnosis, 0) + 1
            groups.add(public_id)
    return ExportSummary(directory, sum(per_label.values()), len(groups), per_label)


def _first_consultations(session: Session) -> dict[int, str]:
    """{follow-up's id: public id of the first consultation of its chain}, for every follow-up (issue 19);
    read once, from the links alone (a small table: only follow-ups have one)."""
    links = dict(session.execute(select(Consultation.id, Consultation.follow_up_of_id)
                                 .where(Consultation.follow_up_of_id.is_not(None))).all())
    first: dict[int, int] = {}
    for start in links:
        current, seen = start, {start}
        while current in links and links[current] not in seen:
            current = links[current]
            seen.add(current)
        first[start] = current
    public = dict(session.execute(select(Consultation.id, Consultation.public_id)
                                  .where(Consultation.id.in_(set(first.values())))).all()) if first else {}
    return {follow_up: public[root] for follow_up, root in first.items() if root in public}


def _reviewed_images(include_demo: bool, diagnoses: tuple[str, ...] | None) -> Select[Any]:
    """(image, latest diagnosis, public id, source, consultation id, course) of reviewed/closed consultations,
    by case and position."""
    latest_review = (
        select(Review.consultation_id, func.max(Review.id).label("review_id"))
        .group_by(Review.consultation_id)
        .subquery()
    )
    query = (
        select(ConsultImage, Review.diagnosis, Consultation.public_id, Consultation.image_source, Consultation.id,
               Review.course)
        .join(Consultation, ConsultImage.consultation_id == Consultation.id)
        .join(latest_review, latest_review.c.consultation_id == Consultation.id)
        .join(Review, Review.id == latest_review.c.review_id)
        .where(Consultation.status.in_((Status.REVIEWED, Status.CLOSED)))
        .order_by(Consultation.id, ConsultImage.position)
        .execution_options(yield_per=32)
    )
    if diagnoses is not None:
        query = query.where(Review.diagnosis.in_(diagnoses))
    if not include_demo:
        query = query.where(Consultation.is_demo.is_(False))
    return query


class _OtherWriter:
    """``other_diagnoses.csv``, opened at its first row (no file when there is none or ``directory`` is None)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.handle: TextIO | None = None
        self._writer: Any = None

    def __enter__(self) -> _OtherWriter:
        return self

    def writer(self) -> Any:
        if self._writer is None:
            assert self.directory is not None, "other diagnoses are only queried when asked for"
            self.handle = (self.directory / f"{OTHER_DIAGNOSES}.csv").open("w", newline="")
            self._writer = csv.writer(self.handle)
            self._writer.writerow(GROUPS_HEADER)
        return self._writer

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()
