"""clinic.cases: saving a review claims a waiting case, and "Save and next" stays in the filtered queue."""
from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.cases import QueueFilter, open_case, save_review
from db.consultations import claim, submit_consultation
from db.engine import Database
from db.errors import InvalidTransitionError
from db.models import Status, utcnow
from db.users import Clinician, create_user
from tests.db.builders import HISTORY, TEST_PASSWORD, new_image, new_prediction


def stored(database: Database, *, uncertain: bool = False, out_of_scope: bool = False, age_h: float = 0.0) -> str:
    with database.begin() as s:
        consultation, _ = submit_consultation(
            s, HISTORY, "v1", [new_image()], [new_prediction(0.6, uncertain=uncertain, out_of_scope=out_of_scope)],
            now=utcnow() - timedelta(hours=age_h))
        return consultation.public_id


@pytest.fixture
def queue(database: Database) -> dict[str, str]:
    """Waiting cases; unfiltered, the out-of-scope one (24 h target) is due first, before both uncertain ones."""
    return {"out_of_scope": stored(database, out_of_scope=True, age_h=2),
            "uncertain_a": stored(database, uncertain=True, age_h=1),
            "uncertain_b": stored(database, uncertain=True)}


def test_save_and_next_stays_in_the_queue_it_was_opened_from(database, clinician, queue) -> None:
    uncertain = QueueFilter(uncertain_only=True)
    case = open_case(database, queue["uncertain_a"], clinician)
    saved = save_review(database, case, clinician, "psoriasis", " Plaques. ", False, next_in=uncertain)
    assert saved.next_public_id == queue["uncertain_b"]  # not the out-of-scope case first in the whole queue
    case = open_case(database, queue["uncertain_b"], clinician)
    assert save_review(database, case, clinician, "psoriasis", "", None, next_in=uncertain).next_public_id is None


def test_without_filters_the_next_case_is_the_first_waiting_one(database, clinician, queue) -> None:
    case = open_case(database, queue["uncertain_b"], clinician)
    saved = save_review(database, case, clinician, "seborrheic_dermatitis", "", True, next_in=QueueFilter())
    assert saved.next_public_id == queue["out_of_scope"]
    assert save_review(database, open_case(database, queue["uncertain_a"], clinician), clinician, "other", "",
                       None, specified="tinea corporis").next_public_id is None  # plain "Save": no next case looked up


def test_a_queue_that_shows_no_waiting_case_has_no_next(database, clinician, queue) -> None:
    reviewed_only = QueueFilter(statuses=(Status.REVIEWED,))
    case = open_case(database, queue["uncertain_a"], clinician)
    assert save_review(database, case, clinician, "psoriasis", "", None, next_in=reviewed_only).next_public_id is None


def test_saving_claims_a_waiting_case_and_records_the_review(database, clinician, queue) -> None:
    case = open_case(database, queue["uncertain_a"], clinician)
    assert case.status == Status.SUBMITTED
    save_review(database, case, clinician, "psoriasis", "  Use the lotion.  ", True)
    again = open_case(database, queue["uncertain_a"], clinician)
    assert again.status == Status.REVIEWED and again.claimed_by_id == clinician.id
    assert [(r.diagnosis, r.notes, r.agrees_with_ai) for r in again.reviews] == [("psoriasis", "Use the lotion.", True)]


def test_a_case_claimed_by_someone_else_is_not_saved(database, clinician: Clinician, queue) -> None:
    with database.begin() as s:
        other = create_user(s, "dr.other", TEST_PASSWORD)
    case = open_case(database, queue["uncertain_a"], clinician)  # opened while still waiting
    with database.begin() as s:
        claim(s, case.id, other)
    with pytest.raises(InvalidTransitionError):
        save_review(database, case, clinician, "psoriasis", "", None, next_in=QueueFilter())
    assert open_case(database, queue["uncertain_a"], clinician).reviews == []
