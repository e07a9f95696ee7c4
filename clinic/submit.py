"""A patient's submission end to end: photos → quality, prediction, map, out-of-scope → stored and audited in
one unit of work. No Streamlit here; the New consultation page calls :func:`submit_consultation`."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from db import consultations
from db.consultations import FollowUpOf, NewImage, PatientHistory, Submission
from db.engine import Database
from scalp_model.serving.predictor import Analysis, Predictor

from clinic import shadow
from clinic.photos import Photo, read_photo

MAX_PHOTOS = consultations.MAX_IMAGES  # photos a patient sends at once (the store refuses more)
Progress = Callable[[int, int], None]  # (photos done, photos in all), before each photo and once at the end


@dataclass(frozen=True)
class Upload:
    """Raw bytes as the browser sent them; ``origin`` is "upload" or "camera"."""

    data: bytes
    origin: str = "upload"


@dataclass(frozen=True, eq=False)
class Submitted:
    """What the patient is shown once: the access code, the stored consultation's public id and, per photo
    in the order sent, the analysis (working copy, quality, prediction) and its stored copy and map."""

    code: str
    public_id: str
    model_version: str
    analyses: tuple[Analysis, ...]
    images: tuple[NewImage, ...]


def analyse(photos: Sequence[Photo], predictor: Predictor, progress: Progress | None = None
            ) -> tuple[list[Analysis], list[NewImage]]:
    """The model's output and map of each photo (one forward pass each) and the image records to store."""
    analyses, images = [], []
    for index, photo in enumerate(photos):
        if progress is not None:
            progress(index, len(photos))
        analysis = Analysis(photo.decoded, photo.quality, predictor.predict(photo.decoded.image))
        width, height = photo.stored_size
        images.append(NewImage(photo.stored, photo.stored_mime, width, height, photo.capture(),
                               overlay_png=analysis.overlay_png()))
        analyses.append(analysis)
    return analyses, images


def submit_consultation(history: PatientHistory | Mapping[str, Any], uploads: Sequence[Photo | Upload],
                        consent_version: str, *, database: Database, predictor: Predictor,
                        is_demo: bool = False, submission: Submission | None = None,
                        progress: Progress | None = None, follow_up_of: FollowUpOf | None = None,
                        language: str | None = None) -> Submitted:
    """Read, analyse, store and audit one consultation; return what the patient sees once.

    ``uploads``: photos already read for the form's preview (:func:`clinic.photos.read_photo`, not decoded
    again) or raw :class:`Upload` bytes (decoded here, once each). Storing and the ``consultation.submit``
    audit row are one transaction: on any error nothing is stored. With ``submission`` (the form's key and
    code) a repeated or interrupted submit returns the consultation already stored, with the same code.
    With ``follow_up_of`` (an earlier consultation's access code and the patient's course) it is stored as a
    follow-up of that consultation (issue 19), with its own new code; the earlier code keeps working.
    ``language``: the patient's language, stored with the consultation (issue 21).
    Once stored, the photos are scored in the background by the models running in shadow (:mod:`clinic.shadow`;
    stored apart, never in what is returned). Raises ``UnknownAccessCodeError`` for an earlier code that matches nothing; raises ``ScalpScopeError`` for an unreadable photo, ``db.errors.ValidationError`` for answers outside
    the form's lists, ``db.errors.DatabaseError`` subclasses when the database refuses.
    """
    photos = [item if isinstance(item, Photo) else read_photo(item.data, item.origin) for item in uploads]
    analyses, images = analyse(photos, predictor, progress)
    if progress is not None:
        progress(len(photos), len(photos))
    with database.begin() as session:
        consultation, code = consultations.submit_consultation(
            session, history, consent_version, images, [a.prediction for a in analyses],
            is_demo=is_demo, submission=submission, follow_up_of=follow_up_of, language=language)
        public_id = consultation.public_id
        image_ids = [image.id for image in consultation.images][:len(photos)]
    shadow.score_later(database, image_ids, [photo.decoded.image for photo in photos])  # never shown, not awaited
    return Submitted(code, public_id, predictor.version, tuple(analyses), tuple(images))
