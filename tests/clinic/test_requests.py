"""clinic.requests: the dermatologist asks for more, the patient answers with a photo read, checked and
analysed as at submit, and the case comes back first in the queue (issue 19, item 1)."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image

from clinic.cases import QueueFilter, follow_up, next_waiting, open_case, queue_page
from clinic.requests import answer, ask_patient
from clinic.submit import Upload
from db.audit import list_events
from db.consultations import submit_consultation
from db.engine import Database
from db.errors import InvalidTransitionError, ValidationError
from db.models import Status, utcnow
from tests.db.builders import HISTORY, new_image, new_prediction


def photo_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (190, 120, 100)).save(buffer, "JPEG")
    return buffer.getvalue()


def stored(database: Database, age_h: float = 0.0) -> tuple[str, str]:
    with database.begin() as s:
        consultation, code = submit_consultation(s, HISTORY, "v1", [new_image()], [new_prediction(0.6)],
                                                 now=utcnow() - timedelta(hours=age_h))
        return consultation.public_id, code


def test_ask_answer_and_back_first_in_the_queue(database, clinician, predictor) -> None:
    old, _ = stored(database, age_h=100)  # overdue: first in the queue until an answer comes back
    asked, code = stored(database, age_h=1)
    round_ = ask_patient(database, open_case(database, asked, clinician), clinician, ["closer", "hairline"],
                         "Please send a closer photo of your hairline.")
    assert round_ == 1
    assert next_waiting(database, QueueFilter()) == old  # the asked case left the waiting cases
    view = follow_up(database, code)
    assert view.status == Status.AWAITING_PATIENT and view.request.needs == ("closer", "hairline")
    assert view.request.message == "Please send a closer photo of your hairline."

    with pytest.raises(ValidationError, match="photos"):
        answer(database, code, "no photo", [], predictor=predictor)
    assert answer(database, code, "Here it is.", [Upload(photo_bytes(), "camera")], predictor=predictor) == 1
    assert predictor.calls == 1
    page = queue_page(database, QueueFilter(), limit=10)
    assert [c.public_id for c in page.items][:2] == [asked, old]  # ahead of the overdue case
    case = open_case(database, asked, clinician)
    assert case.status == Status.SUBMITTED and case.claimed_by_id is None
    assert [(r.round, r.answer_text) for r in case.requests] == [(1, "Here it is.")]
    extra = [i for i in case.images if i.request_id == case.requests[0].id]
    assert len(extra) == 1 and extra[0].position == 1 and extra[0].prediction is not None
    assert extra[0].prediction.overlay_png and extra[0].capture["source"] == "camera"
    assert "quality" in extra[0].capture
    with pytest.raises(InvalidTransitionError):  # nothing asked any more
        answer(database, code, "again", [Upload(photo_bytes())], predictor=predictor)


def test_a_request_can_be_repeated_and_everything_is_audited(database, clinician, predictor) -> None:
    public_id, code = stored(database)
    ask_patient(database, open_case(database, public_id, clinician), clinician, ["question"], "Does it itch?")
    answer(database, code, "Yes, at night.", [], predictor=predictor)
    assert ask_patient(database, open_case(database, public_id, clinician), clinician, ["nails"],
                       "A photo of your nails, please.") == 2
    answer(database, code, "", [Upload(photo_bytes())], predictor=predictor)
    case = open_case(database, public_id, clinician)
    assert [(r.round, r.needs, r.answer_text) for r in case.requests] == [
        (1, ["question"], "Yes, at night."), (2, ["nails"], None)]
    with database.session() as s:
        actions = [e.action for e in list_events(s, consultation_id=case.id)]
        details = [e.detail for e in list_events(s, consultation_id=case.id, action="consultation.answer")]
    assert actions.count("consultation.request_info") == 2 and actions.count("consultation.answer") == 2
    assert actions.count("consultation.claim") == 2
    assert [(d["round"], d["images"]) for d in details] == [(1, 0), (2, 1)]
    assert all("Yes" not in str(d) for d in details)  # the patient's words are not in the audit trail


def test_a_question_needs_an_answer_and_a_request_needs_a_message(database, clinician, predictor) -> None:
    public_id, code = stored(database)
    case = open_case(database, public_id, clinician)
    with pytest.raises(ValidationError):
        ask_patient(database, case, clinician, ["closer"], "  ")
    with pytest.raises(ValidationError):
        ask_patient(database, case, clinician, [], "Please.")
    with pytest.raises(ValidationError):
        ask_patient(database, case, clinician, ["scalp_biopsy"], "Please.")
    ask_patient(database, open_case(database, public_id, clinician), clinician, ["question"], "Since when?")
    with pytest.raises(ValidationError, match="question"):
        answer(database, code, "", [Upload(photo_bytes())], predictor=predictor)
