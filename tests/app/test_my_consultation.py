"""My consultation page: status by access code, the conclusion once reviewed, nothing for a wrong code."""
from __future__ import annotations

import pytest

from db.consultations import claim, record_review
from db.models import Consultation
from tests.app.conftest import assert_clean, seed_consultation, texts

PAGE = "pages/my_consultation.py"


def look_up(at, code: str):
    at.switch_page(PAGE).run()
    at.text_input(key="my_code").input(code)
    return at.button(key="FormSubmitter:lookup-Show my consultation").click().run()


@pytest.mark.parametrize("code", ["", "nonsense", "0000-0000-0000-0000-0000-0000-0000"])
def test_wrong_code_reveals_nothing(at, database, code):
    seed_consultation(database)
    look_up(at, code)
    assert_clean(at)
    assert texts(at.error) == ["No consultation matches this access code. Check the code and try again."]
    assert not at.subheader


def test_waiting_consultation(at, database):
    _, code = seed_consultation(database)
    look_up(at, code.lower().replace("-", " "))  # typed casually
    assert_clean(at)
    assert texts(at.subheader) == ["Received — waiting for a dermatologist"]
    assert any("not written a conclusion yet" in i for i in texts(at.info))


def test_reviewed_consultation_shows_conclusion_and_notes(at, database, clinician):
    public_id, code = seed_consultation(database)
    with database.begin() as session:
        consultation_id = session.query(Consultation.id).filter_by(public_id=public_id).scalar()
        claim(session, consultation_id, clinician)
        record_review(session, consultation_id, clinician, "needs_in_person_visit", "**Please** come in.", False)
    look_up(at, code)
    assert_clean(at)
    assert texts(at.subheader) == ["Reviewed by a dermatologist"]
    assert any("Needs an in-person visit" in m for m in texts(at.markdown))
    assert texts(at.text) == ["**Please** come in."]  # shown as text, never rendered as Markdown
    assert any("book an appointment" in w for w in texts(at.warning))
