"""clinic.templates: each call its own unit of work with its audit row, clear messages for what is refused, and
how a template joins the notes being written (issue 19, item 3)."""
from __future__ import annotations

import pytest

from clinic.templates import (
    Template, TemplateGoneError, TemplatePermissionError, create_template, delete_template, edit_template,
    insert_template, list_templates,
)
from db.audit import list_events
from db.consultations import MAX_NOTES
from db.errors import ValidationError
from db.models import utcnow
from db.users import create_user
from tests.db.builders import TEST_PASSWORD


def template(body: str, title: str = "Psoriasis") -> Template:
    return Template(id=1, title=title, body=body, shared=False, owner="dr.clinic", updated_at=utcnow(), editable=True)


@pytest.mark.parametrize(("notes", "expected"), [
    (None, "Tar shampoo."),
    ("", "Tar shampoo."),
    ("  \n", "Tar shampoo."),
    ("Plaques on the crown.", "Plaques on the crown.\n\nTar shampoo."),
    ("Plaques on the crown.\n\n", "Plaques on the crown.\n\nTar shampoo."),
])
def test_insert_keeps_what_was_written_and_adds_the_template(notes: str | None, expected: str) -> None:
    assert insert_template(notes, template("Tar shampoo.")) == expected


def test_insert_refuses_notes_that_would_not_fit() -> None:
    assert len(insert_template("x" * (MAX_NOTES - 12), template("y" * 10))) == MAX_NOTES
    with pytest.raises(ValidationError, match=f"template 'Long' would be longer than {MAX_NOTES} characters"):
        insert_template("x" * (MAX_NOTES - 11), template("y" * 10, "Long"))


def test_each_call_commits_with_its_audit_row(database, clinician) -> None:
    made = create_template(database, clinician, "Tinea capitis", "Oral terbinafine.", shared=True)
    assert [t.title for t in list_templates(database, clinician)] == ["Tinea capitis"]
    edit_template(database, clinician, made.id, "Tinea capitis", "Oral terbinafine for 4 weeks.", shared=True)
    assert list_templates(database, clinician)[0].body == "Oral terbinafine for 4 weeks."
    with database.begin() as s:
        colleague = create_user(s, "dr.colleague", TEST_PASSWORD)
    assert [t.editable for t in list_templates(database, colleague)] == [False]
    with pytest.raises(TemplatePermissionError, match="Only the clinician who wrote a shared template"):
        delete_template(database, colleague, made.id)
    with pytest.raises(ValidationError, match="title is required"):  # refused: nothing stored, nothing audited
        create_template(database, colleague, "", "Text.")
    delete_template(database, clinician, made.id)
    assert list_templates(database, clinician) == [] and list_templates(database, colleague) == []
    with pytest.raises(TemplateGoneError, match="no longer exists"):
        edit_template(database, clinician, made.id, "Tinea capitis", "Again.", shared=True)
    with database.session() as s:
        assert [(e.actor, e.action) for e in list_events(s) if e.action.startswith("template.")] == [
            ("clinician:dr.clinic", "template.create"), ("clinician:dr.clinic", "template.edit"),
            ("clinician:dr.clinic", "template.delete")]
