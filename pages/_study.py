"""What the reader-study pages share: the admin gate and the adapters between ``scalp_model`` and
``db.reader_study`` (labelled folder → candidate cases; candidate → stored case with the model's output).

The model runs once per case, here, when a study is created: readers and the results page only read
what was stored.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import streamlit as st

from db.reader_study import LabelledImage, NewStudyCase
from db.users import Clinician
from pages import _auth as auth
from scalp_model.serving.cam import overlay_png
from scalp_model.serving.checkpoint import CLASS_NAMES
from scalp_model.training.data import scan_dataset
from scalp_model.errors import ScalpScopeError
from scalp_model.serving.predictor import Predictor
from scalp_model.serving.preprocess import decode_image, sanitized_bytes
from security.folders import FolderRefused, confined_file, confined_folder

STORED_SIDE = 2048  # as consultation photos: the reader sees the picture at up to this size


def require_admin() -> Clinician:
    """The signed-in admin; otherwise the sign-in form (or a notice) and stop."""
    clinician = auth.require_clinician()
    if not clinician.is_admin:
        st.title("Reader studies")
        st.warning("Only administrators set up reader studies and see their results. Invited readers find "
                   "their cases under **Reader study**.", icon=":material/lock:")
        st.page_link("pages/reader_study.py", label="Open the reader study", icon=":material/quiz:")
        st.stop()
    return clinician


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


def build_cases(items: Sequence[LabelledImage], predictor: Predictor,
                progress: Callable[[int, int], None] | None = None) -> tuple[list[NewStudyCase], list[str]]:
    """Decode, sanitise and predict each candidate once; returns (cases, problems with the skipped ones).

    The stored picture is re-encoded without metadata (as consultation photos); the map is the model's
    Grad-CAM of its predicted class, blended over the picture the model saw.
    """
    cases, problems = [], []
    for index, item in enumerate(items):
        if progress is not None:
            progress(index, len(items))
        try:
            working = decode_image(item.data)
            stored = decode_image(item.data, working_size=STORED_SIDE)
        except ScalpScopeError as exc:
            problems.append(f"{item.source_ref}: {exc}")
            continue
        prediction = predictor.predict(working.image)
        data, mime = sanitized_bytes(stored.image, max_side=STORED_SIDE)
        width, height = stored.image.size
        cases.append(NewStudyCase(
            data=data, mime=mime, width=width, height=height, truth=item.truth, source_ref=item.source_ref,
            p_psoriasis=prediction.p_psoriasis, overlay_png=overlay_png(working.image, prediction.cam),
        ))
    if progress is not None:
        progress(len(items), len(items))
    return cases, problems
