"""Follow-up over time (issue 19, item 2) in the app: My consultation's "Start a follow-up" leads to the New
consultation form carrying the link, the follow-up gets its own code (the earlier one keeps working), the queue
says why it is there, and the review shows the earlier consultation beside this one and asks the course."""
from __future__ import annotations

from sqlalchemy import select

from db.audit import list_events
from db.consultations import FollowUpOf, claim, record_review, submit_consultation
from db.models import Consultation, Review
from pages import _resources as res
from tests.app.conftest import assert_clean, seed_consultation, shown_access_code, sign_in, texts
from tests.app.test_clinician import open_review
from tests.app.test_new_consultation import add_photos, jpeg, submit
from tests.db.builders import new_image, new_prediction

MY = "pages/my_consultation.py"
NEW = "pages/new_consultation.py"


def reviewed(database, clinician, public_id: str, diagnosis: str = "seborrheic_dermatitis",
             notes: str = "Use the ketoconazole shampoo twice a week.") -> int:
    with database.begin() as s:
        case_id = s.scalar(select(Consultation.id).where(Consultation.public_id == public_id))
        claim(s, case_id, clinician)
        record_review(s, case_id, clinician, diagnosis, notes)
        return case_id


def follow_up_of(database, code: str, course: str | None) -> tuple[str, str]:
    with database.begin() as s:
        consultation, new_code = submit_consultation(
            s, {"image_source": "phone"}, res.CONSENT_VERSION, [new_image("JPEG")], [new_prediction(0.9)],
            follow_up_of=FollowUpOf(code, course))
        return consultation.public_id, new_code


def look_up(at, code: str):
    at.switch_page(MY).run()
    at.text_input(key="my_code").input(code)
    return at.button(key="FormSubmitter:lookup-Show my consultation").click().run()


def test_my_consultation_starts_a_follow_up_with_its_own_code(at, clinician, database, fake_predictor):
    public_id, code = seed_consultation(database)
    look_up(at, code)
    assert "my_start_follow_up" not in [b.key for b in at.button]  # not before the conclusion
    first_id = reviewed(database, clinician, public_id)
    look_up(at, code)
    assert_clean(at)
    assert any("Coming back about the same problem?" in m for m in texts(at.markdown))
    at.button(key="my_start_follow_up").click().run()
    assert_clean(at)
    assert texts(at.title) == ["New consultation"]
    at.switch_page(NEW)  # AppTest stays on the page it was last switched to
    assert any(m.startswith("**A follow-up** of your consultation of") for m in texts(at.markdown))
    at.radio(key="nc_course").set_value("worse")
    add_photos(at, jpeg(4))
    submit(at)
    assert_clean(at)
    new_code = shown_access_code(at)
    assert new_code and new_code != code
    assert any(i.startswith("This is a follow-up of your consultation of") for i in texts(at.info))
    with database.session() as s:
        later = s.scalars(select(Consultation).where(Consultation.id != first_id)).one()
        assert (later.follow_up_of_id, later.reported_course) == (first_id, "worse")

    look_up(at, code)  # the earlier code keeps working, and shows only its own consultation
    assert texts(at.subheader) == ["Reviewed by a dermatologist"]
    assert not any("Earlier consultations" in m for m in texts(at.markdown))
    look_up(at, new_code)  # the follow-up's code shows the chain
    assert_clean(at)
    assert texts(at.subheader) == ["Received — waiting for a dermatologist"]
    assert any("a follow-up of your consultation of" in c for c in texts(at.caption))
    assert any("Seborrheic dermatitis" in m for m in texts(at.markdown) if m.startswith("- "))
    at.switch_page(NEW).run()  # the next consultation is a plain one again
    at.button(key="nc_restart").click().run()
    assert not any("A follow-up" in m for m in texts(at.markdown))


def test_a_follow_up_can_be_made_a_plain_consultation(at, clinician, database, fake_predictor):
    public_id, code = seed_consultation(database)
    reviewed(database, clinician, public_id)
    look_up(at, code)
    at.button(key="my_start_follow_up").click().run()
    at.switch_page(NEW)
    at.button(key="nc_not_follow_up").click().run()
    assert_clean(at)
    assert not any("A follow-up" in m for m in texts(at.markdown))
    add_photos(at, jpeg(5))
    submit(at)
    with database.session() as s:
        assert s.scalar(select(Consultation.id).where(Consultation.follow_up_of_id.is_not(None))) is None


def test_review_shows_the_earlier_consultation_and_asks_the_course(at, clinician, database):
    first, code = seed_consultation(database, p=0.3)
    first_id = reviewed(database, clinician, first)
    later, later_code = follow_up_of(database, code, "worse")
    sign_in(at)
    at.switch_page("pages/queue.py").run()
    reasons = dict(zip(at.dataframe[0].value["Consultation"], at.dataframe[0].value["Why here"]))
    assert reasons[later].endswith("· follow-up, worse")
    open_review(at, later).run()
    assert_clean(at)
    [panel] = [e for e in at.expander if e.label == "Earlier consultations of this patient (1)"]
    shown = texts(panel.markdown)
    assert shown[0].startswith("**") and shown[-1].endswith("** · this consultation")  # by date, this one last
    assert "**Conclusion:** Seborrheic dermatitis" in shown
    assert "Use the ketoconazole shampoo twice a week." in texts(panel.text)
    assert "The patient says: worse" in texts(panel.caption)
    with database.session() as s:
        [seen] = list_events(s, consultation_id=first_id, action="consultation.history_view")
        assert seen.actor == "clinician:dr.who"

    at.radio(key=f"rv_diagnosis_{later}").set_value("psoriasis")
    at.button(key=f"FormSubmitter:review_{later}-Save").click().run()  # no course: refused
    assert any("better, the same or worse" in e for e in texts(at.error))
    at.radio(key=f"rv_diagnosis_{later}").set_value("psoriasis")
    at.radio(key=f"rv_course_{later}").set_value("worse")
    at.button(key=f"FormSubmitter:review_{later}-Save").click().run()
    assert_clean(at)
    assert any(f"Review of {later} saved" in s for s in texts(at.success))
    assert any("course: worse" in m for m in texts(at.markdown))
    with database.session() as s:
        assert s.scalars(select(Review.course).join(Consultation).where(Consultation.public_id == later)).one() == "worse"

    look_up(at, later_code)
    assert any("the dermatologist finds your scalp **worse**" in m for m in texts(at.markdown))
    at.session_state["review_public_id"] = first  # reviewed: out of the open queue, opened as its search does
    at.switch_page("pages/review.py").run()  # the first consultation names its later follow-up, with no panel
    assert texts(at.title) == [f"Consultation {first}"]
    assert_clean(at)
    assert "1 later follow-up of this patient exists." in texts(at.caption)
    assert not [e for e in at.expander if e.label.startswith("Earlier consultations")]


def test_a_first_consultation_has_no_panel_and_no_course(at, clinician, database):
    public_id, _ = seed_consultation(database)
    sign_in(at)
    open_review(at, public_id).run()
    assert_clean(at)
    assert not [e for e in at.expander if e.label.startswith("Earlier consultations")]
    assert f"rv_course_{public_id}" not in [r.key for r in at.radio]
