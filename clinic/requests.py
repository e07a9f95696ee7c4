"""Ask for more (issue 19): the dermatologist's request for more information and the patient's answer, each
one unit of work. The answer's photos take the first submission's path: :func:`clinic.photos.read_photo`
(one decode, quality) and :func:`clinic.submit.analyse` (model, map)."""
from __future__ import annotations

from collections.abc import Sequence

from db import consultations
from db.engine import Database
from db.models import Consultation, Need, Status
from db.users import Clinician
from scalp_model.serving.predictor import Predictor

from clinic.photos import Photo, read_photo
from clinic.submit import Upload, analyse

NEEDS = tuple(n.value for n in Need)
MAX_MESSAGE = consultations.MAX_MESSAGE


def ask_patient(database: Database, case: Consultation, clinician: Clinician, needs: Sequence[str],
                message: str) -> int:
    """Claim the case if it is still waiting and ask its patient for more (``needs``: :data:`NEEDS` values,
    and a message); returns the request's round. Raises ``InvalidTransitionError`` when another clinician
    claimed or reviewed it meanwhile, ``ValidationError`` for nothing chosen or no message."""
    with database.begin() as session:
        if case.status == Status.SUBMITTED:
            consultations.claim(session, case.id, clinician)
        return consultations.request_information(session, case.id, clinician, needs, message).round


def answer(database: Database, code: str, text: str, uploads: Sequence[Photo | Upload], *,
           predictor: Predictor) -> int:
    """The patient's answer to the open request of the consultation with this access code: photos read and
    analysed as at submit, then stored with the text and the audit row in one transaction; returns the
    number of photos stored. Raises ``ScalpScopeError`` for an unreadable photo, ``UnknownAccessCodeError``,
    ``InvalidTransitionError`` (nothing asked, or answered meanwhile), ``ValidationError``."""
    photos = [item if isinstance(item, Photo) else read_photo(item.data, item.origin) for item in uploads]
    analyses, images = analyse(photos, predictor)
    with database.begin() as session:
        consultations.answer_request(session, code, text, images, [a.prediction for a in analyses])
    return len(images)
