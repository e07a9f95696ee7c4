"""Management-note templates (issue 19, item 3): the dermatologist's reusable notes for the patient, each call one
unit of work (rules, checks and audit rows in :mod:`db.templates`), and how a template joins the notes being
written (:func:`insert_template`)."""
from __future__ import annotations

from db import templates
from db.consultations import MAX_NOTES
from db.engine import Database
from db.errors import ValidationError
from db.models import MAX_TEMPLATE_TITLE
from db.templates import MAX_TEMPLATE_BODY, Template, TemplateGoneError, TemplatePermissionError
from db.users import Clinician
from i18n import N_, worded

__all__ = ["MAX_TEMPLATE_BODY", "MAX_TEMPLATE_TITLE", "Template", "TemplateGoneError", "TemplatePermissionError",
           "create_template", "delete_template", "edit_template", "insert_template", "list_templates"]


def list_templates(database: Database, clinician: Clinician) -> list[Template]:
    """The templates ``clinician`` may use (their own and the shared ones), by title; a read, not audited
    (templates hold no patient data)."""
    with database.session() as session:
        return templates.visible_templates(session, clinician)


def create_template(database: Database, clinician: Clinician, title: str, body: str, *,
                    shared: bool = False) -> Template:
    """Store a new template of ``clinician`` (audited as ``template.create``). Raises ``ValidationError`` for an
    empty or too long title or text, or a title already in use among the templates the clinician sees."""
    with database.begin() as session:
        return templates.create_template(session, clinician, title, body, shared=shared)


def edit_template(database: Database, clinician: Clinician, template_id: int, title: str, body: str, *,
                  shared: bool) -> Template:
    """Change a template (audited as ``template.edit`` when anything changed). Raises ``TemplateGoneError``
    (deleted meanwhile, or not visible), ``TemplatePermissionError`` (another clinician's shared template,
    unless an admin) and the ``ValidationError`` of :func:`create_template`."""
    with database.begin() as session:
        return templates.edit_template(session, clinician, template_id, title, body, shared=shared)


def delete_template(database: Database, clinician: Clinician, template_id: int) -> None:
    """Delete a template from every list (audited as ``template.delete``). Raises ``TemplateGoneError`` and
    ``TemplatePermissionError``."""
    with database.begin() as session:
        templates.delete_template(session, clinician, template_id)


def insert_template(notes: str | None, template: Template) -> str:
    """The notes with ``template``'s text inserted: the text alone when the notes are empty, otherwise after
    them with a blank line between (what was written stays, and can still be edited). Raises
    ``ValidationError`` when the result would not fit in the notes (``MAX_NOTES`` characters)."""
    written = (notes or "").rstrip()
    combined = f"{written}\n\n{template.body}" if written else template.body
    if len(combined) > MAX_NOTES:
        raise worded(ValidationError, N_("The notes with the template '{title}' would be longer than {limit} "
                                         "characters ({length}). Shorten the notes first."),
                     title=template.title, limit=MAX_NOTES, length=len(combined))
    return combined
