"""Management-note templates (issue 19, item 3): the texts a dermatologist inserts into the notes for the patient.

Who sees and changes what: a personal template only its owner; a shared template (the clinic's) every clinician
sees and uses, and its owner or an admin changes or deletes it. Titles are unique, ignoring case, among the
templates their owner sees (their own and every shared one). A deleted template keeps its row with
``deleted_at`` and disappears from every list. Each change is one conditional UPDATE (a template deleted
meanwhile is not changed) and one audit row (``template.create``, ``template.edit``, ``template.delete``: the
template's id, whether it is shared, what changed; never its text). Functions take the caller's session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from db import audit
from db.consultations.inputs import MAX_NOTES
from db.errors import DatabaseError, NotFoundError, ValidationError
from db.models import MAX_TEMPLATE_TITLE, NoteTemplate, User, utcnow
from db.users import Clinician
from db.validation import check_text

MAX_TEMPLATE_BODY = MAX_NOTES  # a template becomes the notes for the patient, so it fits in them


class TemplatePermissionError(DatabaseError):
    """The clinician may see this template but not change it (a shared template of another clinician)."""

    default_message = "Only the clinician who wrote a shared template, or an administrator, can change it."


class TemplateGoneError(NotFoundError):
    """No template with this id that the clinician may see (never existed, deleted, or another's personal one)."""

    default_message = "This template no longer exists; it may have been deleted meanwhile."


@dataclass(frozen=True)
class Template:
    """A template as a clinician sees it: plain values, safe to keep in a UI session. ``owner``: the username
    of its author; ``editable``: whether this clinician may change and delete it."""

    id: int
    title: str
    body: str
    shared: bool
    owner: str
    updated_at: datetime
    editable: bool


def visible_templates(session: Session, clinician: Clinician) -> list[Template]:
    """The live templates ``clinician`` may use (their own and every shared one), by title (ignoring case)."""
    rows = session.execute(
        select(NoteTemplate, User.username).join(User, NoteTemplate.owner_id == User.id)
        .where(NoteTemplate.deleted_at.is_(None), or_(NoteTemplate.owner_id == clinician.id, NoteTemplate.shared))
        .order_by(NoteTemplate.id)).all()
    found = [_as_template(row, owner, clinician) for row, owner in rows]
    return sorted(found, key=lambda t: (t.title.casefold(), t.id))


def create_template(session: Session, clinician: Clinician, title: str, body: str, *, shared: bool = False,
                    now: datetime | None = None) -> Template:
    """A new template owned by ``clinician``, audited as ``template.create``. Raises ``ValidationError`` for an
    empty or too long title or body, a line break in the title, or a title the owner already sees."""
    title, body = _checked(title, body)
    _check_unique_title(session, clinician.id, title, except_id=None)
    now = now or utcnow()
    row = NoteTemplate(owner_id=clinician.id, title=title, body=body, shared=bool(shared), created_at=now,
                       updated_at=now)
    session.add(row)
    session.flush()
    audit.record(session, clinician.actor, "template.create", detail={"template_id": row.id, "shared": row.shared})
    return _as_template(row, clinician.username, clinician)


def edit_template(session: Session, clinician: Clinician, template_id: int, title: str, body: str, *,
                  shared: bool, now: datetime | None = None) -> Template:
    """Change a template's title, text and sharing, audited as ``template.edit`` with the fields that changed
    (nothing changed: no write, no audit row). Raises ``TemplateGoneError``, ``TemplatePermissionError`` and
    the ``ValidationError`` of :func:`create_template`."""
    row, owner = _editable(session, clinician, template_id)
    title, body = _checked(title, body)
    changed = [name for name, old, new in (("title", row.title, title), ("body", row.body, body),
                                           ("shared", row.shared, bool(shared))) if old != new]
    if not changed:
        return _as_template(row, owner, clinician)
    _check_unique_title(session, row.owner_id, title, except_id=row.id)
    now = now or utcnow()
    _update(session, template_id, title=title, body=body, shared=bool(shared), updated_at=now)
    audit.record(session, clinician.actor, "template.edit",
                 detail={"template_id": template_id, "shared": bool(shared), "changed": changed})
    session.refresh(row)
    return _as_template(row, owner, clinician)


def delete_template(session: Session, clinician: Clinician, template_id: int, *, now: datetime | None = None) -> None:
    """Delete a template (it disappears from every list; its row stays with ``deleted_at``), audited as
    ``template.delete``. Raises ``TemplateGoneError`` and ``TemplatePermissionError``."""
    row, _ = _editable(session, clinician, template_id)
    _update(session, template_id, deleted_at=now or utcnow())
    audit.record(session, clinician.actor, "template.delete", detail={"template_id": template_id, "shared": row.shared})


def _checked(title: str, body: str) -> tuple[str, str]:
    title, body = (title or "").strip(), (body or "").strip()
    check_text("The template's title", title, MAX_TEMPLATE_TITLE, required=True)
    check_text("The template's text", body, MAX_TEMPLATE_BODY, multiline=True, required=True)
    return title, body


def _check_unique_title(session: Session, owner_id: int, title: str, *, except_id: int | None) -> None:
    """Refuse ``title`` when another live template the owner sees (their own, every shared one) has it,
    ignoring case."""
    others = session.execute(
        select(NoteTemplate.title, NoteTemplate.shared, User.username).join(User, NoteTemplate.owner_id == User.id)
        .where(NoteTemplate.deleted_at.is_(None), NoteTemplate.id != (except_id or 0),
               or_(NoteTemplate.owner_id == owner_id, NoteTemplate.shared))).all()
    for other_title, other_shared, other_owner in others:
        if other_title.casefold() == title.casefold():
            whose = f"shared by {other_owner}" if other_shared else "yours"
            raise ValidationError(f"A template with this title already exists ({whose}). Choose another title.")


def _editable(session: Session, clinician: Clinician, template_id: int) -> tuple[NoteTemplate, str]:
    found = session.execute(select(NoteTemplate, User.username).join(User, NoteTemplate.owner_id == User.id)
                            .where(NoteTemplate.id == template_id, NoteTemplate.deleted_at.is_(None))).first()
    if found is None or not (found[0].owner_id == clinician.id or found[0].shared):
        raise TemplateGoneError()
    row, owner = found
    if not _may_change(row, clinician):
        raise TemplatePermissionError()
    return row, owner


def _update(session: Session, template_id: int, **values: object) -> None:
    result = session.execute(
        update(NoteTemplate).where(NoteTemplate.id == template_id, NoteTemplate.deleted_at.is_(None)).values(**values),
        execution_options={"synchronize_session": False})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise TemplateGoneError()


def _may_change(row: NoteTemplate, clinician: Clinician) -> bool:
    return row.owner_id == clinician.id or (row.shared and clinician.is_admin)


def _as_template(row: NoteTemplate, owner: str, clinician: Clinician) -> Template:
    return Template(id=row.id, title=row.title, body=row.body, shared=row.shared, owner=owner,
                    updated_at=row.updated_at, editable=_may_change(row, clinician))


__all__ = ["MAX_TEMPLATE_BODY", "Template", "TemplateGoneError", "TemplatePermissionError", "create_template",
           "delete_template", "edit_template", "visible_templates"]
