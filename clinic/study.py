"""Reader studies: candidate cases from a labelled folder or from reviewed consultations, the model's output
computed once per case (:func:`build_study_cases`), and the study stored; readers and the results page only
read what was stored. No Streamlit here; the reader-study pages call these functions."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from db import reader_study
from db.engine import Database
from db.models import ReaderStudy
from db.reader_study import LabelledImage, NewStudyCase
from db.users import Clinician
from scalp_model.serving.cam import overlay_png
from scalp_model.serving.checkpoint import CLASS_NAMES
from scalp_model.training.data import scan_dataset
from scalp_model.errors import ScalpScopeError
from scalp_model.serving.predictor import Predictor
from security.folders import FolderRefused, confined_file, confined_folder

from clinic.photos import read_photo

Progress = Callable[[int, int], None]  # (cases done, cases in all)


def folder_images(typed: str, root: Path, max_bytes: int) -> tuple[Path, list[LabelledImage], list[str]]:
    """(real folder, images, problems) of an ImageFolder tree (``psoriasis/``, ``seborrheic_dermatitis/``)
    inside ``root``, truth from each image's folder.

    The folder must resolve inside ``root`` (security.folders); any refusal (outside, missing, not a
    folder, no images) raises FolderRefused with one message. Files whose real path leaves ``root``
    (symlinks), that are not regular files or are larger than ``max_bytes`` are skipped, named in problems.
    """
    folder = confined_folder(typed, root)
    try:
        samples = scan_dataset(folder, CLASS_NAMES)
    except (OSError, ValueError) as exc:
        raise FolderRefused(root) from exc
    items, problems = [], []
    for sample in samples:
        real = confined_file(folder / sample.file, root)
        if real is None:
            problems.append(f"file:{sample.file}: not a file inside the reader-study folder")
        elif real.stat().st_size > max_bytes:
            problems.append(f"file:{sample.file}: larger than {max_bytes // 2**20} MB")
        else:
            items.append(LabelledImage(real.read_bytes(), CLASS_NAMES[sample.label], f"file:{sample.file}"))
    return folder, items, problems


def folder_candidates(database: Database, admin: Clinician, typed: str, root: Path, max_bytes: int
                      ) -> tuple[Path, list[LabelledImage], list[str]]:
    """:func:`folder_images`, with a refused folder audited (``study.folder_refused``) before FolderRefused
    is raised again."""
    try:
        return folder_images(typed, root, max_bytes)
    except FolderRefused:
        with database.begin() as session:
            reader_study.record_folder_refused(session, admin, typed)
        raise


def consultation_candidates(database: Database, *, include_demo: bool = False, limit: int | None = None,
                            seed: int | None = None) -> list[LabelledImage]:
    """One case per reviewed consultation (see ``db.reader_study.labelled_consultation_images``)."""
    with database.begin() as session:
        return reader_study.labelled_consultation_images(session, include_demo=include_demo, limit=limit,
                                                         seed=seed)


def build_study_cases(items: Sequence[LabelledImage], predictor: Predictor, progress: Progress | None = None
                      ) -> tuple[list[NewStudyCase], list[str]]:
    """Read (one decode each), sanitise and predict each candidate; returns (cases, problems with the
    skipped ones, as "<source_ref>: <why>").

    The stored picture is re-encoded without metadata at up to 2048 px (as consultation photos); the map is
    the model's Grad-CAM of its predicted class, blended over the working copy the model saw.
    """
    cases, problems = [], []
    for index, item in enumerate(items):
        if progress is not None:
            progress(index, len(items))
        try:
            photo = read_photo(item.data)
        except ScalpScopeError as exc:
            problems.append(f"{item.source_ref}: {exc}")
            continue
        prediction = predictor.predict(photo.decoded.image)
        width, height = photo.stored_size
        cases.append(NewStudyCase(
            data=photo.stored, mime=photo.stored_mime, width=width, height=height, truth=item.truth,
            source_ref=item.source_ref, p_psoriasis=prediction.p_psoriasis,
            overlay_png=overlay_png(photo.decoded.image, prediction.cam)))
    if progress is not None:
        progress(len(items), len(items))
    return cases, problems


def create_study(database: Database, admin: Clinician, name: str, cases: Sequence[NewStudyCase],
                 reader_ids: Iterable[int], *, source: str, predictor: Predictor, seed: int | None = None,
                 washout_days: float = 0.0, folder: Path | None = None) -> ReaderStudy:
    """Store the study with the predictor's provenance (version, sha256, threshold); audited."""
    with database.begin() as session:
        return reader_study.create_study(
            session, admin, name, cases, list(reader_ids), source=source, model_version=predictor.version,
            model_sha256=predictor.sha256, threshold=predictor.meta.threshold, seed=seed,
            washout_days=washout_days, folder=None if folder is None else str(folder))
