"""Management-note templates (issue 19, item 3): ``note_templates``, the dermatologists' reusable notes.

One new table (owner, title, body, shared, created/updated, ``deleted_at`` for a deleted template) with an
index on the owner; no existing table changes, so existing rows are untouched on both backends. Downgrade
drops the table (the templates are lost; reviews keep the notes they were saved with, since a template's
text is copied into the notes, never referenced).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "note_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_note_templates_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note_templates")),
    )
    op.create_index(op.f("ix_note_templates_owner_id"), "note_templates", ["owner_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_note_templates_owner_id"), table_name="note_templates")
    op.drop_table("note_templates")
