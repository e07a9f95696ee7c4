"""A built set of consultations with known timings for the clinic's figures (shared by tests/clinic and
tests/app). Within the last 30 days: 4 decided from the first photos (2, 4, 6, 8 h), 3 after a request
(answered in 2, 4, 10 h; reviewed 1 h after the answer: 4, 6, 12 h from submission), 1 still waiting; one
more reviewed case 100 days ago (1 h)."""
from __future__ import annotations

from datetime import timedelta

from db.consultations import answer_request, claim, record_review, request_information, submit_consultation
from db.engine import Database
from db.models import utcnow
from db.users import Clinician
from tests.db.builders import HISTORY, new_image, new_prediction

FIRST_PHOTOS = ((0.9, "psoriasis", 2), (0.2, "seborrheic_dermatitis", 4), (0.8, "seborrheic_dermatitis", 6),
                (0.1, "tinea_capitis", 8))  # P(psoriasis), diagnosis, hours to review
AFTER_REQUEST = ((0.7, "psoriasis", 2), (0.3, "seborrheic_dermatitis", 4), (0.6, "other", 10))  # ..., answer h


def _review(database: Database, case_id: int, clinician: Clinician, diagnosis: str, at) -> None:  # type: ignore[no-untyped-def]
    with database.begin() as s:
        claim(s, case_id, clinician, now=at)
        record_review(s, case_id, clinician, diagnosis, specified="folliculitis" if diagnosis == "other" else None,
                      now=at)


def build(database: Database, clinician: Clinician) -> None:
    """Store the set described above (the answers' photos have P = 0.05: not the model's first-round view)."""
    now = utcnow().replace(microsecond=0)
    t0 = now - timedelta(days=5)
    for p, diagnosis, hours in FIRST_PHOTOS:
        with database.begin() as s:
            case, _ = submit_consultation(s, HISTORY, "v1", [new_image()], [new_prediction(p)], now=t0)
            case_id = case.id
        _review(database, case_id, clinician, diagnosis, t0 + timedelta(hours=hours))
    for p, diagnosis, answer_h in AFTER_REQUEST:
        asked = t0 + timedelta(hours=1)
        with database.begin() as s:
            case, code = submit_consultation(s, HISTORY, "v1", [new_image()], [new_prediction(p)], now=t0)
            case_id = case.id
            claim(s, case_id, clinician, now=asked)
            request_information(s, case_id, clinician, ["closer"], "Closer, please.", now=asked)
        with database.begin() as s:
            answer_request(s, code, "Here.", [new_image()], [new_prediction(0.05)],
                           now=asked + timedelta(hours=answer_h))
        _review(database, case_id, clinician, diagnosis, asked + timedelta(hours=answer_h + 1))
    old = now - timedelta(days=100)
    with database.begin() as s:
        case, _ = submit_consultation(s, HISTORY, "v1", [new_image()], [new_prediction(0.9)], now=old)
        case_id = case.id
    _review(database, case_id, clinician, "psoriasis", old + timedelta(hours=1))
    with database.begin() as s:
        submit_consultation(s, HISTORY, "v1", [new_image()], [new_prediction(0.4)], now=now)
