"""Management-note templates in the review (issue 19, item 3): the editor creates, changes and deletes templates
(audited), the picker inserts one into the notes for the patient, the dermatologist edits them and the saved
review holds the edited text; another clinician's shared template can be used but not changed."""
from __future__ import annotations

from sqlalchemy import select

from clinic.templates import create_template
from db.audit import list_events
from db.models import Consultation, NoteTemplate, Review
from db.users import create_user
from tests.app.conftest import PASSWORD, assert_clean, seed_consultation, sign_in, texts
from tests.app.test_clinician import fill_review, open_review

CREATE = "FormSubmitter:note_templates-Create template"
SAVE = "FormSubmitter:note_templates-Save changes"
DELETE = "FormSubmitter:note_templates-Delete template"
BODY = "Use the tar shampoo twice a week for 4 weeks.\nCome back if it is not better."


def write_template(at, title: str, body: str, *, shared: bool = False):
    at.text_input(key="tpl_title").input(title)
    at.text_area(key="tpl_body").input(body)
    at.checkbox(key="tpl_shared").set_value(shared)
    return at.button(key=CREATE).click().run()


def picker_labels(at, public_id: str) -> list[str]:
    return list(at.selectbox(key=f"rv_notes_{public_id}_template").options)


def template_events(database) -> list[tuple[str, str, dict]]:
    with database.session() as s:
        return [(e.actor, e.action, {k: v for k, v in e.detail.items() if k in ("template_id", "shared", "changed")})
                for e in list_events(s) if e.action.startswith("template.")]


def test_create_pick_edit_and_save_the_notes(at, clinician, database):
    public_id, _ = seed_consultation(database)
    sign_in(at)
    open_review(at, public_id).run()
    assert any("No note templates yet" in c for c in texts(at.caption))
    write_template(at, "  ", BODY)  # a title is required: refused, nothing stored
    assert_clean(at)
    assert any("title is required" in e for e in texts(at.error))
    write_template(at, "Mild psoriasis", BODY, shared=True)
    assert_clean(at)
    assert "Template \u201cMild psoriasis\u201d saved." in texts(at.success)
    assert picker_labels(at, public_id) == ["Mild psoriasis · shared"]
    assert at.selectbox(key="tpl_pick").value != 0  # the editor now shows the saved template

    notes = at.text_area(key=f"rv_notes_{public_id}")
    assert notes.value == ""
    at.selectbox(key=f"rv_notes_{public_id}_template").select_index(0).run()
    at.button(key=f"rv_notes_{public_id}_insert").click().run()
    assert_clean(at)
    assert at.text_area(key=f"rv_notes_{public_id}").value == BODY  # inserted, still an editable field
    fill_review(at, public_id, "psoriasis", BODY + "\nAsk for a scalp biopsy if it spreads.", "yes")
    at.button(key=f"FormSubmitter:review_{public_id}-Save").click().run()
    assert_clean(at)
    with database.session() as s:
        case = s.scalars(select(Consultation).where(Consultation.public_id == public_id)).one()
        review = s.scalars(select(Review).where(Review.consultation_id == case.id)).one()
        assert review.notes == BODY + "\nAsk for a scalp biopsy if it spreads."
    with database.session() as s:
        template_id = s.scalars(select(NoteTemplate.id)).one()
    assert template_events(database) == [
        ("clinician:dr.who", "template.create", {"template_id": template_id, "shared": True})]


def test_insert_keeps_what_was_written(at, clinician, database):
    public_id, _ = seed_consultation(database)
    create_template(database, clinician, "Seborrhoeic", "Ketoconazole 2% shampoo, twice a week.")
    sign_in(at)
    open_review(at, public_id).run()
    assert at.button(key=f"rv_notes_{public_id}_insert").disabled  # nothing chosen yet
    at.text_area(key=f"rv_notes_{public_id}").input("Flaky scalp for months.")
    at.button(key=f"FormSubmitter:review_{public_id}-Save").click().run()  # no diagnosis: refused, notes kept
    assert "Choose a diagnosis before saving." in texts(at.error)
    at.selectbox(key=f"rv_notes_{public_id}_template").select_index(0).run()
    at.button(key=f"rv_notes_{public_id}_insert").click().run()
    assert_clean(at)
    assert at.text_area(key=f"rv_notes_{public_id}").value == (
        "Flaky scalp for months.\n\nKetoconazole 2% shampoo, twice a week.")


def test_edit_and_delete_in_the_editor_and_shared_templates_of_others(at, clinician, database):
    public_id, _ = seed_consultation(database)
    with database.begin() as s:
        other = create_user(s, "dr.other", PASSWORD)
    create_template(database, other, "Alopecia areata", "Topical steroid; see you in 3 months.", shared=True)
    create_template(database, other, "Private", "Only dr.other sees this.")
    sign_in(at)
    open_review(at, public_id).run()
    assert picker_labels(at, public_id) == ["Alopecia areata · shared by dr.other"]  # usable, not the private one
    assert list(at.selectbox(key="tpl_pick").options) == ["New template"]  # but not changeable by dr.who

    write_template(at, "Tinea", "Oral terbinafine.")
    at.selectbox(key="tpl_pick").set_value(0).run()  # back to a new template: a title another sees is refused
    write_template(at, "alopecia AREATA", "Another text.")
    assert any("already exists (shared by dr.other)" in e for e in texts(at.error))
    assert picker_labels(at, public_id) == ["Alopecia areata · shared by dr.other", "Tinea"]

    with database.session() as s:
        tinea = s.scalars(select(NoteTemplate).where(NoteTemplate.title == "Tinea")).one()
    at.selectbox(key="tpl_pick").set_value(tinea.id).run()
    assert at.text_area(key="tpl_body").value == "Oral terbinafine."  # the editor loads the chosen template
    at.text_input(key="tpl_title").input("Tinea capitis")
    at.text_area(key="tpl_body").input("Oral terbinafine for 4 weeks; treat the household's combs.")
    at.button(key=SAVE).click().run()
    assert_clean(at)
    assert "Template \u201cTinea capitis\u201d saved." in texts(at.success)
    assert "Tinea capitis" in picker_labels(at, public_id)
    at.button(key=DELETE).click().run()  # not confirmed: nothing deleted
    assert any("Yes, delete this template" in e for e in texts(at.error))
    assert "Tinea capitis" in picker_labels(at, public_id)
    at.checkbox(key="tpl_confirm").check()
    at.button(key=DELETE).click().run()
    assert_clean(at)
    assert "Template \u201cTinea capitis\u201d deleted." in texts(at.success)
    assert picker_labels(at, public_id) == ["Alopecia areata · shared by dr.other"]
    assert at.selectbox(key="tpl_pick").value == 0
    with database.session() as s:
        stored = s.get(NoteTemplate, tinea.id)
        assert (stored.title, stored.deleted_at is not None) == ("Tinea capitis", True)  # kept, hidden
    assert [(actor, action, detail) for actor, action, detail in template_events(database)
            if actor == "clinician:dr.who"] == [
        ("clinician:dr.who", "template.create", {"template_id": tinea.id, "shared": False}),
        ("clinician:dr.who", "template.edit", {"template_id": tinea.id, "shared": False, "changed": ["title", "body"]}),
        ("clinician:dr.who", "template.delete", {"template_id": tinea.id, "shared": False}),
    ]
