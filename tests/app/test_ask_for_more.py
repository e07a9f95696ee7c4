"""Ask for more (issue 19) in the app: the review page's request form, the queue's status, and the patient's
answer under My consultation (AppTest cannot attach files: the photo path is in tests/clinic/test_requests.py)."""
from __future__ import annotations

from db.audit import list_events
from db.models import Consultation
from tests.app.conftest import assert_clean, seed_consultation, sign_in, texts
from tests.app.test_clinician import open_review

MY = "pages/my_consultation.py"


def ask(at, public_id: str, needs: list[str], message: str):
    at.multiselect(key=f"rq_needs_{public_id}").set_value(needs)
    at.text_area(key=f"rq_message_{public_id}").input(message)
    return at.button(key=f"FormSubmitter:ask_{public_id}-Send the request").click().run()


def test_request_form_moves_the_case_to_waiting_for_the_patient(at, clinician, database):
    public_id, _ = seed_consultation(database)
    sign_in(at)
    open_review(at, public_id).run()
    ask(at, public_id, ["closer"], "")  # a request needs a message
    assert_clean(at)
    assert any("message to the patient" in e.lower() for e in texts(at.error))
    open_review(at, public_id).run()
    ask(at, public_id, ["closer", "hairline"], "A closer photo of your hairline, please.")
    assert_clean(at)
    assert any("Request 1 sent" in s for s in texts(at.success))
    assert any("comes back to the top of the queue" in i for i in texts(at.info))  # no review form meanwhile
    assert f"rv_diagnosis_{public_id}" not in [r.key for r in at.radio]
    assert any("Round 1: asked by dr.who" in m for m in texts(at.markdown))
    at.switch_page("pages/queue.py").run()
    assert {m.label: m.value for m in at.metric}["Waiting for patient"] == "1"
    assert {m.label: m.value for m in at.metric}["Waiting"] == "0"
    with database.session() as s:
        case = s.query(Consultation).filter_by(public_id=public_id).one()
        assert case.status == "awaiting_patient"
        assert [e.detail["needs"] for e in list_events(s, consultation_id=case.id, action="consultation.request_info")
                ] == [["closer", "hairline"]]


def test_patient_reads_the_request_and_answers(at, clinician, database):
    public_id, code = seed_consultation(database)
    sign_in(at)
    open_review(at, public_id).run()
    ask(at, public_id, ["question"], "Does it itch at night?")
    at.switch_page(MY).run()
    at.text_input(key="my_code").input(code)
    at.button(key="FormSubmitter:lookup-Show my consultation").click().run()
    assert_clean(at)
    assert texts(at.subheader) == ["The dermatologist needs more information from you"]
    assert any("an answer to the dermatologist's question" in m for m in texts(at.markdown))
    assert "Does it itch at night?" in texts(at.text)
    at.button(key="FormSubmitter:answer-Send my answer").click().run()  # nothing written: refused
    assert any("question" in e for e in texts(at.error))
    at.text_area(key="my_answer_text").input("Yes, mostly at night.")
    at.button(key="FormSubmitter:answer-Send my answer").click().run()
    assert_clean(at)
    assert any("reached the dermatologist" in s for s in texts(at.success))
    assert texts(at.subheader) == ["Received — waiting for a dermatologist"]  # the view stays, refreshed
    open_review(at, public_id).run()
    assert any("Patient's answer" in m for m in texts(at.markdown))
    assert "Yes, mostly at night." in texts(at.text)
    assert f"rv_diagnosis_{public_id}" in [r.key for r in at.radio]  # back in the queue: it can be reviewed
