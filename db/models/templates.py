"""Management-note templates (issue 19, item 3): reusable texts a dermatologist inserts into the notes for the
patient and can still edit before saving the review."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.accounts import User
from db.models.base import Base, utcnow

MAX_TEMPLATE_TITLE = 80  # characters of a template's title (one line)


class NoteTemplate(Base):
    """A reusable management note. ``owner`` wrote it; a personal template (``shared`` false) is seen and
    changed by its owner only, a shared one is the clinic's: every clinician sees and uses it, its owner or
    an admin changes it. ``deleted_at`` hides a deleted template (the audit trail keeps naming its id)."""

    __tablename__ = "note_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(MAX_TEMPLATE_TITLE))
    body: Mapped[str] = mapped_column(Text)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]

    owner: Mapped[User] = relationship()
