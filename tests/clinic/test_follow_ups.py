"""clinic: a follow-up submitted with the earlier code (photos read and analysed as any submission, one unit of
work), what its reviewer is shown of the earlier consultation (audited) and the course saved with the review."""
from __future__ import annotations

import pytest

from clinic.cases import follow_up, open_case, save_review
from clinic.history import earlier_consultations
from clinic.submit import Upload, submit_consultation
from db.audit import list_events
from db.consultations import CONSENT_VERSION, FollowUpOf, Submission
from db.errors import UnknownAccessCodeError, ValidationError
from db.models import Consultation
from tests.clinic.test_requests import photo_bytes

HISTORY = {"image_source": "phone", "age_band": "40–64", "itch": "mild"}


def submit(database, predictor, follow_up_of=None, submission=None):  # type: ignore[no-untyped-def]
    return submit_consultation(HISTORY, [Upload(photo_bytes())], CONSENT_VERSION, database=database,
                               predictor=predictor, follow_up_of=follow_up_of, submission=submission)


def test_follow_up_submitted_reviewed_and_read(database, clinician, predictor) -> None:  # type: ignore[no-untyped-def]
    first = submit(database, predictor)
    save_review(database, open_case(database, first.public_id, clinician), clinician, "psoriasis", "Shampoo.", True)
    form = Submission.new()
    later = submit(database, predictor, FollowUpOf(first.code, "worse"), form)
    assert later.code == form.access_code != first.code and predictor.calls == 2
    assert submit(database, predictor, FollowUpOf(first.code, "worse"), form).public_id == later.public_id  # once

    case = open_case(database, later.public_id, clinician)
    series = earlier_consultations(database, case, clinician)
    assert [c.public_id for c in series.earlier] == [first.public_id] and series.later == 0
    assert series.earlier[0].images[0].prediction.overlay_png  # the map can be shown beside this one's
    with pytest.raises(ValidationError, match="better, the same or worse"):
        save_review(database, case, clinician, "psoriasis", "", None)
    save_review(database, open_case(database, later.public_id, clinician), clinician, "psoriasis",
                "Worse: see your doctor.", False, course="worse")

    view = follow_up(database, later.code)
    assert (view.diagnosis, view.course, view.reported_course) == ("psoriasis", "worse", "worse")
    assert [e.diagnosis for e in view.earlier] == ["psoriasis"]
    assert follow_up(database, first.code).earlier == ()  # the earlier code shows its own consultation only
    with database.session() as s:
        first_id = s.query(Consultation.id).filter_by(public_id=first.public_id).scalar()
        actions = [e.action for e in list_events(s, consultation_id=first_id)]
    assert actions.count("consultation.follow_up") == 1  # the same form sent twice links once
    assert actions.count("consultation.history_view") == 1 and actions.count("patient.earlier_view") == 1


def test_nothing_is_stored_for_a_wrong_earlier_code(database, predictor) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownAccessCodeError):
        submit(database, predictor, FollowUpOf("0000-0000-0000-0000-0000-0000-0000"))
    with database.session() as s:
        assert s.query(Consultation).count() == 0
